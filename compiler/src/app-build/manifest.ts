/**
 * The app manifest (APP.manifest.json) and the checks that decide whether a compiled module is
 * a Liquid app: only HAL functions imported, with the spec's signatures; entry points with the
 * spec's signatures. Capabilities are derived from the imports; resources from the literal
 * names the app passes to the SDK's openers plus liquid.json.
 */
import { relative } from "node:path";
import { type HalSpec, type ValueType, qualifiedName } from "../hal/spec.js";
import type { AppManifest } from "../manifest-format.js";
import type { ModuleDescription } from "./postprocess.js";
import { sha256Hex } from "../protocol/sha256.js";

export { sha256Hex };

export type { AppManifest } from "../manifest-format.js";

export class ManifestError extends Error {}

/**
 * An import module named "NAME@RANGE" (e.g. "bme280@^1") is a library the device links on
 * demand, not the HAL; see docs/linking.md.
 */
export function parseLibraryImport(module: string): { name: string; range: string } | undefined {
  const m = /^([a-z0-9][a-z0-9._-]{0,63})@(\S+)$/.exec(module);
  return m ? { name: m[1]!, range: m[2]! } : undefined;
}

function sig(params: readonly ValueType[], results: readonly ValueType[]): string {
  return `(${params.join(", ")}) -> ${results.length ? results.join(", ") : "nothing"}`;
}

/** What to use instead of the host functions AssemblyScript's standard library imports from "env". */
function hintFor(key: string): string {
  if (key === "env.abort") return " (build with `liquid build`, which routes abort to the device log)";
  if (key === "env.seed") return ' (Math.random needs a host seed; use random.uint32() from "liquid")';
  if (key === "env.trace" || key.startsWith("env.console.")) return ' (use log.debug/info/warn/error from "liquid")';
  if (key === "env.Date.now" || key.startsWith("env.performance.")) return ' (use time.nowMs()/time.nowUs() from "liquid")';
  if (key.startsWith("env.")) return " (an AssemblyScript runtime import; not available on Liquid devices)";
  return "";
}

/**
 * Every import must be a HAL function with the HAL's signature. `origins` maps "module.name" to
 * the source file that declared it, for the message.
 */
export function checkImports(spec: HalSpec, desc: ModuleDescription, origins: Map<string, string>, fallbackFile: string): string[] {
  const errors: string[] = [];
  const byName = new Map(spec.functions.map((f) => [qualifiedName(f), f]));
  const cwd = process.cwd();
  for (const imp of desc.imports) {
    const key = `${imp.module}.${imp.name}`;
    const file = relative(cwd, origins.get(key) ?? fallbackFile);
    if (imp.kind !== "function") {
      errors.push(`${file} imports ${imp.kind} ${key}: apps may import only HAL functions (memory, tables and globals are their own)`);
      continue;
    }
    if (parseLibraryImport(imp.module)) continue; // linked on the device, checked there
    const fn = byName.get(key);
    if (!fn) {
      errors.push(`unknown host function ${key} imported by ${file}: not in the HAL spec${hintFor(key)}`);
      continue;
    }
    const want = sig(fn.params.map((p) => p.type), fn.results);
    const got = sig(imp.params ?? [], imp.results ?? []);
    if (want !== got) errors.push(`host function ${key} imported by ${file} with signature ${got}, but the HAL defines ${want}`);
  }
  return errors;
}

/** Exported entry points must match hal.json; an app must export start(). */
export function checkEntryPoints(spec: HalSpec, desc: ModuleDescription, library = false): string[] {
  const errors: string[] = [];
  const exports = new Map(desc.exports.map((e) => [e.name, e]));
  for (const ep of spec.entryPoints) {
    const e = exports.get(ep.name);
    if (!e) continue;
    const want = sig(ep.params.map((p) => p.type), []);
    if (e.kind !== "function") {
      errors.push(`export '${ep.name}' must be a function ${want}`);
      continue;
    }
    const got = sig(e.params ?? [], e.results ?? []);
    if (got !== want) {
      const params = ep.params.map((p) => `${p.name}: ${p.type}`).join(", ");
      errors.push(`entry point ${ep.name} has signature ${got}; it must be \`export function ${ep.name}(${params}): void\``);
    }
  }
  if (!library && !exports.has("start")) errors.push("the app exports no start() entry point: add `export function start(): void { ... }`");
  return errors;
}

/** Capabilities in spec order, for the HAL functions the module imports. */
export function capabilitiesOf(spec: HalSpec, desc: ModuleDescription): string[] {
  const used = new Set<string>();
  for (const imp of desc.imports) {
    const fn = spec.functions.find((f) => f.module === imp.module && f.name === imp.name);
    if (fn) used.add(fn.capability);
  }
  return spec.capabilities.map((c) => c.name).filter((c) => used.has(c));
}

export function buildManifest(input: {
  name: string;
  version: string;
  desc: ModuleDescription;
  capabilities: string[];
  pins: string[];
  buses: string[];
  library?: boolean;
}): AppManifest {
  const { desc } = input;
  const memory = desc.memory ?? { initial: 0, maximum: 0 };
  const libraries: { name: string; range: string }[] = [];
  for (const imp of desc.imports) {
    const lib = parseLibraryImport(imp.module);
    if (lib && !libraries.some((l) => l.name === lib.name && l.range === lib.range)) libraries.push(lib);
  }
  return {
    liquid: 1,
    name: input.name,
    version: input.version,
    sha256: sha256Hex(desc.wasm),
    size: desc.wasm.length,
    exports: desc.exports.map((e) => e.name),
    imports: desc.imports.map((i) => ({ module: i.module, name: i.name })),
    capabilities: input.capabilities,
    resources: { pins: input.pins, buses: input.buses },
    memory: { initialPages: memory.initial, maximumPages: memory.maximum ?? memory.initial },
    ...(input.library ? { kind: "library" as const } : {}),
    ...(libraries.length ? { libraries } : {}),
  };
}
