/**
 * The libraries a simulated device holds locally (its store): modules built with
 * `liquid build --library`, checked on arrival (bytes match the manifest's sha256, valid wasm,
 * only HAL or library imports) and metered like apps so that time spent in a library counts
 * against the calling app's watchdog budget. Versions resolve with the repository's semver.
 */
import binaryen from "binaryen";
import { maxSatisfying, parseRange, parseVersion, RangeError as VersionRangeError } from "../../../hub/src/semver.js";
import { type AppManifest, sha256Hex } from "../app/manifest.js";
import { instrumentForFuel, MeteringError } from "../app/metering.js";
import { HAL_BY_IMPORT } from "../hal.js";
import { parseLibraryRef } from "./library-ref.js";
import { ALLOCATOR_IMPORTS, MEMORY_BASE_IMPORT, SHARED_DATA_SECTION, SHARED_TABLE_SECTION, TABLE_BASE_IMPORT } from "./shared-data.js";

/** Resolving, verifying or linking a library failed; the message names the module. */
export class LinkError extends Error {}

export interface FunctionType {
  params: string[];
  results: string[];
}

export interface LibraryModule {
  name: string;
  version: string;
  sha256: string;
  wasm: Uint8Array;
  manifest: AppManifest;
  /** What V8 runs (fuel-metered); the identity is `wasm`. */
  metered: WebAssembly.Module;
  /** Capabilities its HAL imports need (the importing app must hold them all). */
  capabilities: string[];
  /** Signatures of its exported functions, to check an app's imports against. */
  exportTypes: Map<string, FunctionType>;
  /** Shares the importing app's memory (imports env.memory; built with --library --shared). */
  shared: boolean;
  /** Bytes of its own static data the linker places in the app's memory (shared only; 0: none). */
  sharedDataSize: number;
  /** Shares the app's function table (imports env.table; shared only). */
  sharedTable: boolean;
  /** Slots the linker appends to the app's table for its own entries (0: none). */
  sharedTableSize: number;
  /** Which of the app's allocator functions it calls (env.__lq_alloc ...; shared only). */
  allocatorImports: string[];
  /** Its own imports with signatures (HAL and other libraries). */
  imports: { module: string; name: string; params: string[]; results: string[] }[];
}

const TYPE_NAMES = new Map<number, string>([
  [binaryen.i32, "i32"],
  [binaryen.i64, "i64"],
  [binaryen.f32, "f32"],
  [binaryen.f64, "f64"],
]);

function typeList(t: number): string[] {
  return binaryen.expandType(t).map((x) => TYPE_NAMES.get(x) ?? "?");
}

function exportedFunctionTypes(wasm: Uint8Array): Map<string, FunctionType> {
  const mod = binaryen.readBinary(wasm);
  try {
    const types = new Map<string, FunctionType>();
    for (let i = 0; i < mod.getNumExports(); i++) {
      const info = binaryen.getExportInfo(mod.getExportByIndex(i));
      if (info.kind !== binaryen.ExternalFunction) continue;
      const fn = binaryen.getFunctionInfo(mod.getFunction(info.value));
      types.set(info.name, { params: typeList(fn.params), results: typeList(fn.results) });
    }
    return types;
  } finally {
    mod.dispose();
  }
}

export function formatType(t: FunctionType): string {
  return `(${t.params.join(", ")}) -> ${t.results.length ? t.results.join(", ") : "nothing"}`;
}

/** Checks a library module and prepares it to run; throws LinkError naming it. */
export function prepareLibrary(wasm: Uint8Array, manifest: AppManifest): LibraryModule {
  const id = `library ${manifest.name}@${manifest.version}`;
  const hash = sha256Hex(wasm);
  if (hash !== manifest.sha256) {
    throw new LinkError(`${id} rejected: its bytes hash to ${hash}, its manifest says ${manifest.sha256}`);
  }
  if (!parseVersion(manifest.version)) throw new LinkError(`${id} has no valid version (x.y.z)`);
  if (!WebAssembly.validate(wasm as Uint8Array<ArrayBuffer>)) throw new LinkError(`${id} is not a valid WebAssembly module`);
  let metered;
  try {
    metered = instrumentForFuel(wasm);
  } catch (err) {
    if (err instanceof MeteringError) throw new LinkError(`${id}: ${err.message}`);
    throw err;
  }
  const capabilities = new Set<string>();
  for (const imp of metered.imports) {
    if (parseLibraryRef(imp.module) || (imp.module === "env" && (imp.name === MEMORY_BASE_IMPORT || ALLOCATOR_IMPORTS.includes(imp.name)))) continue;
    const fn = HAL_BY_IMPORT.get(`${imp.module}.${imp.name}`);
    if (!fn) throw new LinkError(`${id} imports ${imp.module}.${imp.name}, which is neither a HAL function nor a library`);
    capabilities.add(fn.capability);
  }
  const module = new WebAssembly.Module(wasm as BufferSource);
  let shared = false;
  let basedData = false;
  let sharedTable = false;
  let basedTable = false;
  const allocatorImports: string[] = [];
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind === "memory" && imp.module === "env" && imp.name === "memory") shared = true;
    else if (imp.kind === "global" && imp.module === "env" && imp.name === MEMORY_BASE_IMPORT) basedData = true;
    else if (imp.kind === "table" && imp.module === "env" && imp.name === "table") sharedTable = true;
    else if (imp.kind === "global" && imp.module === "env" && imp.name === TABLE_BASE_IMPORT) basedTable = true;
    else if (imp.kind === "function" && imp.module === "env" && ALLOCATOR_IMPORTS.includes(imp.name)) allocatorImports.push(imp.name);
    else if (imp.kind !== "function") throw new LinkError(`${id} imports ${imp.kind} ${imp.module}.${imp.name}; a library imports functions (and, shared, env.memory and env.table) only`);
  }
  const sharedDataSize = u32Section(module, SHARED_DATA_SECTION);
  if (basedData && (!shared || sharedDataSize === 0)) {
    throw new LinkError(`${id} imports env.${MEMORY_BASE_IMPORT} but does not share the app's memory or lacks its ${SHARED_DATA_SECTION} section`);
  }
  const sharedTableSize = u32Section(module, SHARED_TABLE_SECTION);
  if (basedTable && (!sharedTable || sharedTableSize === 0)) {
    throw new LinkError(`${id} imports env.${TABLE_BASE_IMPORT} but does not share the app's table or lacks its ${SHARED_TABLE_SECTION} section`);
  }
  if ((sharedTable || allocatorImports.length) && !shared) {
    throw new LinkError(`${id} imports the app's table or allocator but not its memory; only a shared library (liquid build --library --shared) may`);
  }
  if (!shared && !WebAssembly.Module.exports(module).some((e) => e.name === "memory" && e.kind === "memory")) {
    throw new LinkError(`${id} does not export its memory as "memory"`);
  }
  return {
    name: manifest.name,
    version: manifest.version,
    sha256: hash,
    wasm,
    manifest,
    metered: new WebAssembly.Module(metered.wasm as BufferSource),
    capabilities: [...capabilities],
    exportTypes: exportedFunctionTypes(wasm),
    imports: metered.imports.filter((i) => !(i.module === "env" && (i.name === MEMORY_BASE_IMPORT || ALLOCATOR_IMPORTS.includes(i.name)))),
    shared,
    sharedDataSize,
    sharedTable,
    sharedTableSize,
    allocatorImports,
  };
}

/** A u32 custom section `liquid build --library --shared` writes (compiler/src/app-build/library.ts):
 * the bytes of static data or the table slots a shared library asks the linker to place. */
function u32Section(module: WebAssembly.Module, name: string): number {
  const sections = WebAssembly.Module.customSections(module, name);
  if (!sections.length) return 0;
  if (sections[0]!.byteLength !== 4) throw new LinkError(`malformed ${name} section`);
  return new DataView(sections[0]!).getUint32(0, true);
}

export class LibraryStore {
  private readonly byName = new Map<string, Map<string, LibraryModule>>();
  /** Why the host could not fetch NAME@RANGE (a simulated device's FETCH answer). */
  private readonly fetchFailures = new Map<string, string>();

  noteFetchFailure(name: string, range: string, reason: string): void {
    this.fetchFailures.set(`${name}@${range}`, reason);
  }

  /** Adds (or re-adds the same bytes of) a library; returns it ready to link. */
  add(wasm: Uint8Array, manifest: AppManifest): LibraryModule {
    const existing = this.byName.get(manifest.name)?.get(manifest.version);
    if (existing && existing.sha256 !== manifest.sha256) {
      throw new LinkError(`library ${manifest.name}@${manifest.version} is already in the store with other bytes (sha256 ${existing.sha256.slice(0, 12)}…)`);
    }
    const lib = existing ?? prepareLibrary(wasm, manifest);
    let versions = this.byName.get(lib.name);
    if (!versions) this.byName.set(lib.name, (versions = new Map()));
    versions.set(lib.version, lib);
    for (const key of [...this.fetchFailures.keys()]) if (key.startsWith(`${lib.name}@`)) this.fetchFailures.delete(key);
    return lib;
  }

  remove(name: string, version: string): boolean {
    return this.byName.get(name)?.delete(version) ?? false;
  }

  list(): { name: string; version: string; sha256: string; size: number }[] {
    return [...this.byName.values()].flatMap((v) => [...v.values()].map((l) => ({ name: l.name, version: l.version, sha256: l.sha256, size: l.wasm.length })));
  }

  /** The highest stored version of `name` satisfying `range`; LinkError says what is missing. */
  resolve(name: string, range: string): LibraryModule {
    let parsed;
    try {
      parsed = parseRange(range);
    } catch (err) {
      if (err instanceof VersionRangeError) throw new LinkError(`library ${name}@${range}: ${err.message}`);
      throw err;
    }
    const versions = this.byName.get(name);
    const failure = this.fetchFailures.get(`${name}@${range}`);
    if ((!versions || versions.size === 0) && failure) throw new LinkError(`the host could not fetch it: ${failure}`);
    if (!versions || versions.size === 0) throw new LinkError(`library ${name}@${range} is not on this device and was not fetched from a repository`);
    const best = maxSatisfying([...versions.keys()], parsed);
    if (!best) throw new LinkError(`no version of library ${name} matches '${range}' (this device has ${[...versions.keys()].sort().join(", ")})`);
    return versions.get(best)!;
  }
}
