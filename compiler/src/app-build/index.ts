/**
 * `liquid build` as a library: AssemblyScript app → APP.wasm + APP.manifest.json. Other parts
 * (the simulator tests, deploy) call buildApp directly instead of spawning the CLI.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { type HalSpec, loadHalSpec } from "../hal/spec.js";
import { HAL_SPEC_PATH } from "../paths.js";
import { type AppSource, resolveAppSource } from "./app-source.js";
import { writeFileAtomic } from "./atomic-write.js";
import { buildFingerprint, readCachedBuild, writeBuildInfo } from "./cache.js";
import { type Diagnostic, SHARED_ALLOCATOR, compileApp, formatDiagnostic } from "./compile.js";
import { type AppManifest, buildManifest, capabilitiesOf, checkEntryPoints, checkImports } from "./manifest.js";
import { postprocess } from "./postprocess.js";
import { MEMORY_BASE_IMPORT, SHARED_DATA_BASE, TABLE_BASE_IMPORT, relocateSharedLibrary } from "./library.js";
import { scanResources } from "./resources.js";

export { AppSourceError } from "./app-source.js";
export type { AppManifest } from "./manifest.js";
export type { Diagnostic } from "./compile.js";

export interface BuildOptions {
  /** Output .wasm path; the manifest goes beside it as NAME.manifest.json. Default: APPDIR/build/NAME.wasm. */
  out?: string;
  /** Debug build (no optimisation). */
  debug?: boolean;
  /** Memory pages (initial = maximum); default liquid.json memoryPages, else 1. */
  pages?: number;
  /** Override the HAL spec (tests). */
  spec?: HalSpec;
  /** Rebuild even when nothing changed since the last build of this output. */
  force?: boolean;
  /** Also write the module in the text format as NAME.wat beside the .wasm. */
  wat?: boolean;
  /** Build a library other modules import by "NAME@RANGE" (no start() needed; docs/linking.md). */
  library?: boolean;
  /** With `library`: share the importing app's memory instead of owning one (docs/linking.md). */
  shared?: boolean;
}

export interface BuildResult {
  ok: boolean;
  app: AppSource;
  /** Compiler diagnostics (errors and warnings) with file, line and column. */
  diagnostics: Diagnostic[];
  /** Errors that are not compiler diagnostics (HAL check, entry points), one message each. */
  errors: string[];
  warnings: string[];
  wasmPath?: string;
  manifestPath?: string;
  manifest?: AppManifest;
  wasm?: Uint8Array;
  /** Milliseconds spent compiling (incl. optimisation) and in total. */
  timings: { compileMs: number; totalMs: number };
  /** True when the output was up to date and nothing was compiled. */
  cached: boolean;
}

/** Manifest path for a wasm path: blinky.wasm → blinky.manifest.json. */
export function manifestPathFor(wasmPath: string): string {
  const base = basename(wasmPath).replace(/\.wasm$/, "");
  return join(dirname(wasmPath), `${base}.manifest.json`);
}

let cachedSpec: HalSpec | undefined;

export async function buildApp(appPath: string, options: BuildOptions = {}): Promise<BuildResult> {
  const t0 = performance.now();
  const app = resolveAppSource(appPath);
  const spec = options.spec ?? (cachedSpec ??= loadHalSpec(HAL_SPEC_PATH));
  const pages = options.pages ?? app.config.memoryPages ?? 1;
  const result: BuildResult = { ok: false, app, diagnostics: [], errors: [], warnings: [], timings: { compileMs: 0, totalMs: 0 }, cached: false };
  const wasmPath = resolve(options.out ?? join(app.dir, "build", `${app.name}.wasm`));
  const manifestPath = manifestPathFor(wasmPath);
  const debug = options.debug ?? false;
  const fingerprint = buildFingerprint(
    { entry: app.entry, name: app.name, version: app.version, pages, debug, wat: options.wat ?? false, spec: options.spec ? JSON.stringify(options.spec) : "default", ...(options.library ? { library: true } : {}), ...(options.shared ? { shared: true } : {}) },
    app.configPath,
  );
  const watMissing = (options.wat ?? false) && !existsSync(wasmPath.replace(/\.wasm$/, ".wat"));
  if (!options.force && !watMissing) {
    const hit = readCachedBuild(wasmPath, manifestPath, fingerprint);
    if (hit) {
      Object.assign(result, { ok: true, cached: true, wasmPath, manifestPath, manifest: hit.manifest, wasm: hit.wasm, warnings: hit.warnings });
      result.timings.totalMs = performance.now() - t0;
      return result;
    }
  }

  if (options.shared && !options.library) {
    result.errors.push("--shared applies to libraries only: add --library");
    return result;
  }
  const compiled = await compileApp({ entry: app.entry, baseDir: app.dir, pages, debug, importMemory: options.shared ?? false, ...(options.shared ? { memoryBase: SHARED_DATA_BASE } : {}), exportHeapPointer: !options.library, sharedLibrary: options.shared ?? false, shareWithLibraries: !options.library });
  result.timings.compileMs = performance.now() - t0;
  result.diagnostics = compiled.diagnostics.filter((d) => d.category !== "info");
  const finish = () => {
    result.timings.totalMs = performance.now() - t0;
    return result;
  };
  if (compiled.failure) result.errors.push(compiled.failure);
  if (!compiled.wasm || result.diagnostics.some((d) => d.category === "error")) return finish();

  // A shared library's static data is placed by the runtime in the app's memory (library.ts).
  let wasm = compiled.wasm;
  if (options.shared) {
    const relocated = relocateSharedLibrary(wasm, undefined, undefined, debug);
    result.errors.push(...relocated.problems);
    if (!relocated.wasm) {
      result.errors.push("such a library cannot share the app's memory; build it as an isolated library (without --shared), see docs/linking.md");
      return finish();
    }
    wasm = relocated.wasm;
  }
  const desc = await postprocess(wasm, { exportGlobals: true, wat: options.wat ?? false });
  // A shared library's imports beyond the HAL are the app's: its memory and table, where its
  // data and table entries lie there, and its allocator.
  const appShared = new Set(["memory memory", "table table", `global ${MEMORY_BASE_IMPORT}`, `global ${TABLE_BASE_IMPORT}`, ...SHARED_ALLOCATOR.map(([, name]) => `function ${name}`)]);
  const checked = options.shared ? { ...desc, imports: desc.imports.filter((i) => !(i.module === "env" && appShared.has(`${i.kind} ${i.name}`))) } : desc;
  result.errors.push(...checkImports(spec, checked, compiled.importOrigins, app.entry), ...checkEntryPoints(spec, desc, options.library ?? false));
  if (result.errors.length) return finish();

  const capabilities = capabilitiesOf(spec, desc);
  const scan = scanResources(compiled.appFiles.map((path) => ({ path, text: readFileSync(path, "utf8") })));
  result.warnings.push(...scan.warnings);
  const extra = app.config.resources ?? {};
  const merge = (found: string[], listed: string[] | undefined) => [...found, ...(listed ?? []).filter((n) => !found.includes(n))];
  const pins = capabilities.includes("gpio") ? merge(scan.pins, extra.pins) : (extra.pins ?? []);
  const buses = capabilities.includes("i2c") ? merge(scan.buses, extra.buses) : (extra.buses ?? []);
  // A library opens nothing itself: it works on handles the importing app passes in.
  if (!options.library && capabilities.includes("gpio") && !pins.length) {
    result.warnings.push("the app imports gpio.open but no pin name was found; list its pins in liquid.json \"resources.pins\"");
  }
  if (!options.library && capabilities.includes("i2c") && !buses.length) {
    result.warnings.push("the app imports i2c.open but no bus name was found; list its buses in liquid.json \"resources.buses\"");
  }

  const manifest = buildManifest({ name: app.name, version: app.version, desc, capabilities, pins, buses, library: options.library ?? false });
  if (options.shared) manifest.shared = true;
  if (desc.heapPointer && !options.library) manifest.heapPointer = desc.heapPointer;
  mkdirSync(dirname(wasmPath), { recursive: true });
  writeFileAtomic(wasmPath, desc.wasm);
  if (desc.wat !== undefined) writeFileAtomic(wasmPath.replace(/\.wasm$/, ".wat"), desc.wat);
  writeFileAtomic(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  writeBuildInfo(wasmPath, fingerprint, compiled.readFiles, manifest, result.warnings);
  Object.assign(result, { ok: true, wasmPath, manifestPath, manifest, wasm: desc.wasm });
  return finish();
}

/** All problems of a failed build as lines for stderr. */
export function formatBuildProblems(result: BuildResult): string[] {
  return [...result.diagnostics.map((d) => formatDiagnostic(d)), ...result.errors.map((e) => `error: ${e}`)];
}
