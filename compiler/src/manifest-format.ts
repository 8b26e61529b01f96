/**
 * The app manifest format (APP.manifest.json beside APP.wasm; see docs/protocol.md), declared
 * once for everyone who writes or reads it: `liquid build` (app-build/manifest.ts), the device
 * protocol's client (protocol/types.ts) and the simulator (host-sim's app/manifest.ts).
 */

/** The fields every manifest has, whoever wrote it. */
export interface ManifestFields {
  name: string;
  version: string;
  sha256: string;
  size: number;
  exports: string[];
  imports: { module: string; name: string }[];
  capabilities: string[];
  resources: { pins: string[]; buses: string[] };
}

/** What `liquid build` writes. */
export interface AppManifest extends ManifestFields {
  liquid: 1;
  memory: { initialPages: number; maximumPages: number };
  /** "library" for modules built with --library (no start(); other modules import them). */
  kind?: "library";
  /** A library that shares the importing app's memory (built with --library --shared). */
  shared?: boolean;
  /**
   * The exported mutable global that is the app's heap pointer (AssemblyScript's stub
   * allocator bumps it upwards): the runtime places shared libraries' static data from the app's
   * heap by advancing it (docs/linking.md). Apps only; absent when the app has no allocator.
   */
  heapPointer?: string;
  /** The library modules this module imports, as named in its imports (see docs/linking.md). */
  libraries?: { name: string; range: string }[];
}

/**
 * A manifest as a device or host reads it back: any format version (the reader checks it), a
 * memory maximum that may be absent or null, and the fields this version does not know kept.
 */
export interface ReceivedAppManifest extends ManifestFields {
  liquid: number;
  memory: { initialPages: number; maximumPages?: number | null };
  [extra: string]: unknown;
}
