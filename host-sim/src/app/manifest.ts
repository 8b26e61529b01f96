/**
 * App manifests (APP.manifest.json beside APP.wasm, written by `liquid build`) and what the
 * simulator checks before running a module: it is valid wasm, it matches its manifest, it only
 * imports HAL functions whose capability the manifest grants, and it exports the entry points
 * and memory the programming model requires.
 */
import { existsSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import type { ManifestFields } from "../../../compiler/src/manifest-format.js";
import { ENTRY_POINTS, HAL_BY_IMPORT, HAL_CAPABILITIES, HAL_VERSION } from "../hal.js";
import { parseLibraryRef } from "../linking/library-ref.js";
import { sha256Hex } from "../../../compiler/src/protocol/sha256.js";

export { sha256Hex };

/** The shared manifest format (compiler/src/manifest-format.ts); a manifest the simulator
 * derives for a module that came without one has no memory entry. */
export interface AppManifest extends ManifestFields {
  liquid: number;
  memory?: { initialPages: number; maximumPages?: number };
  /** The exported global that is the app's heap pointer (compiler/src/manifest-format.ts). */
  heapPointer?: string;
}

/** An app that cannot be loaded; the message says what to fix. */
export class AppLoadError extends Error {}

function stringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === "string");
}

/** Checks the fields the simulator relies on; `source` names the file in messages. */
export function parseManifest(json: unknown, source: string): AppManifest {
  const bad = (what: string): never => {
    throw new AppLoadError(`${source}: ${what}`);
  };
  if (typeof json !== "object" || json === null || Array.isArray(json)) return bad("a manifest must be a JSON object");
  const m = json as Record<string, unknown>;
  if (m.liquid !== 1) bad(`"liquid" must be 1 (manifest format version), not ${JSON.stringify(m.liquid)}`);
  if (typeof m.name !== "string" || !/^[A-Za-z0-9_.-]+$/.test(m.name)) bad(`"name" must be a non-empty app name`);
  if (typeof m.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(m.sha256)) bad(`"sha256" must be 64 lowercase hex digits`);
  if (!stringList(m.capabilities)) bad(`"capabilities" must be a list of strings`);
  const r = m.resources as Record<string, unknown> | undefined;
  if (typeof r !== "object" || r === null || !stringList(r.pins) || !stringList(r.buses)) {
    bad(`"resources" must be {"pins": [...], "buses": [...]}`);
  }
  return {
    liquid: 1,
    name: m.name as string,
    version: typeof m.version === "string" ? m.version : "0.0.0",
    sha256: m.sha256 as string,
    size: typeof m.size === "number" ? m.size : 0,
    exports: stringList(m.exports) ? m.exports : [],
    imports: Array.isArray(m.imports) ? (m.imports as { module: string; name: string }[]) : [],
    capabilities: m.capabilities as string[],
    resources: { pins: [...(r!.pins as string[])], buses: [...(r!.buses as string[])] },
    memory: m.memory as AppManifest["memory"],
    ...(typeof m.heapPointer === "string" ? { heapPointer: m.heapPointer } : {}),
  };
}

/** Reads APP.manifest.json beside APP.wasm, or returns undefined when there is none. */
export function readManifestBeside(wasmPath: string): AppManifest | undefined {
  const file = wasmPath.replace(/\.wasm$/, "") + ".manifest.json";
  if (!existsSync(file)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new AppLoadError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  return parseManifest(json, file);
}

/**
 * A manifest for a module that came without one: capabilities from its imports, and every pin
 * and bus of the board granted (the caller says so to the user).
 */
export function deriveManifest(wasm: Uint8Array, name: string, board: { pins: string[]; buses: string[] }): AppManifest {
  const module = compile(wasm, name);
  const imports = WebAssembly.Module.imports(module)
    .filter((i) => i.kind === "function")
    .map((i) => ({ module: i.module, name: i.name }));
  const used = new Set(imports.map((i) => HAL_BY_IMPORT.get(`${i.module}.${i.name}`)?.capability));
  const capabilities = HAL_CAPABILITIES.map((c) => c.name).filter((c) => used.has(c)); // spec order
  return {
    liquid: 1,
    name,
    version: "0.0.0",
    sha256: sha256Hex(wasm),
    size: wasm.length,
    exports: WebAssembly.Module.exports(module).map((e) => e.name),
    imports,
    capabilities,
    resources: { pins: [...board.pins], buses: [...board.buses] },
  };
}

export function appNameFromPath(path: string): string {
  return basename(path).replace(/\.wasm$/, "");
}

export function compile(wasm: Uint8Array, name: string): WebAssembly.Module {
  try {
    return new WebAssembly.Module(wasm as BufferSource);
  } catch (err) {
    throw new AppLoadError(`app '${name}' is not a valid WebAssembly module: ${(err as Error).message.replace(/^WebAssembly\.Module\(\): /, "")}`);
  }
}

/** Everything that must hold before the module may run; throws AppLoadError naming the fix. */
export function checkModule(module: WebAssembly.Module, wasm: Uint8Array, manifest: AppManifest): void {
  const app = `app '${manifest.name}'`;
  const hash = sha256Hex(wasm);
  if (hash !== manifest.sha256) {
    throw new AppLoadError(`${app}: the module does not match its manifest (sha256 ${hash.slice(0, 12)}…, manifest says ${manifest.sha256.slice(0, 12)}…); rebuild it with liquid build`);
  }
  for (const imp of WebAssembly.Module.imports(module)) {
    const key = `${imp.module}.${imp.name}`;
    if (imp.kind !== "function") {
      throw new AppLoadError(`${app} imports ${imp.kind} ${key}; apps may import only HAL functions (their memory is their own)`);
    }
    if (parseLibraryRef(imp.module)) continue; // a library, linked at its first call (docs/linking.md)
    const fn = HAL_BY_IMPORT.get(key);
    if (!fn) throw new AppLoadError(`${app} imports ${key}, which is not a function of the HAL (hal/hal.json v${HAL_VERSION})`);
    if (!manifest.capabilities.includes(fn.capability)) {
      throw new AppLoadError(`${app} imports ${key}, but its manifest does not grant the '${fn.capability}' capability`);
    }
  }
  const exports = new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]));
  if (exports.get("memory") !== "memory") throw new AppLoadError(`${app} does not export its memory as "memory"`);
  if (exports.get("start") !== "function") throw new AppLoadError(`${app} does not export a start() function`);
  for (const entry of ENTRY_POINTS.keys()) {
    const kind = exports.get(entry);
    if (kind && kind !== "function") throw new AppLoadError(`${app} exports ${entry} as a ${kind}, not a function`);
  }
}

/** Each HAL import must have the HAL's wasm signature (V8 would only say "LinkError" later). */
export function checkImportSignatures(name: string, imports: { module: string; name: string; params: string[]; results: string[] }[]): void {
  const sig = (params: readonly string[], results: readonly string[]) => `(${params.join(", ")}) -> ${results.length ? results.join(", ") : "nothing"}`;
  for (const imp of imports) {
    const fn = HAL_BY_IMPORT.get(`${imp.module}.${imp.name}`);
    if (!fn) continue; // checkModule already refused it
    const want = sig(fn.params.map((p) => p.type), fn.results);
    const got = sig(imp.params, imp.results);
    if (want !== got) throw new AppLoadError(`app '${name}' imports ${imp.module}.${imp.name} as ${got}, but the HAL declares ${want}`);
  }
}
