/**
 * Fuel metering for apps running in V8. V8 cannot interrupt a synchronous wasm call, so an app
 * stuck in an endless loop would freeze the whole simulation; instead each module is rewritten
 * at load time so that it counts its own steps and calls back into the simulator when a budget
 * runs out. The rewritten module is only what V8 executes: the app's identity (sha256), exports,
 * memory and globals are those of the original file, so snapshots stay portable.
 *
 * A step is one function entry, one loop iteration or one `return` — binaryen's log-execution
 * pass marks exactly those points with a call; we then replace the logging import with a small
 * function that decrements an imported mutable global and calls `out_of_fuel` below zero, and
 * let binaryen inline it. Straight-line code between steps is bounded by the module size, so the
 * step count bounds the work done.
 */
import binaryen from "binaryen";

/** Import module of the two hooks the instrumented code uses. */
export const METER_MODULE = "liquid_meter";

export class MeteringError extends Error {}

export interface MeteredModule {
  wasm: Uint8Array;
  /** The function imports of the original module with their wasm signatures. */
  imports: { module: string; name: string; params: string[]; results: string[] }[];
  /** Linear memory size in 64 KiB pages at instantiation, and its declared maximum. */
  memory: { initialPages: number; maximumPages: number | undefined } | undefined;
}

export function instrumentForFuel(wasm: Uint8Array): MeteredModule {
  let mod: binaryen.Module;
  try {
    mod = binaryen.readBinary(wasm);
  } catch (err) {
    throw new MeteringError(`cannot read the module for metering: ${(err as Error).message}`);
  }
  try {
    mod.setFeatures(binaryen.Features.All);
    const imports = functionImports(mod);
    let memory: MeteredModule["memory"];
    if (mod.hasMemory()) {
      const info = mod.getMemoryInfo();
      memory = { initialPages: info.initial, maximumPages: info.max };
    }
    mod.runPasses(["log-execution"]);
    const logger = findLoggerImport(mod);
    if (logger) mod.removeFunction(logger);
    const fuel = "__liquid_fuel";
    const outOfFuel = "__liquid_out_of_fuel";
    const tick = logger ?? "__liquid_tick";
    mod.addGlobalImport(fuel, METER_MODULE, "fuel", binaryen.i32, true);
    mod.addFunctionImport(outOfFuel, METER_MODULE, "out_of_fuel", binaryen.none, binaryen.none);
    const left = (): binaryen.ExpressionRef => mod.global.get(fuel, binaryen.i32);
    mod.addFunction(
      tick,
      binaryen.createType([binaryen.i32]),
      binaryen.none,
      [],
      mod.block(null, [
        mod.global.set(fuel, mod.i32.sub(left(), mod.i32.const(1))),
        mod.if(mod.i32.lt_s(left(), mod.i32.const(0)), mod.call(outOfFuel, [], binaryen.none)),
      ]),
    );
    // Inline only what is tiny (the tick and AssemblyScript's trivial helpers), nothing else.
    const saved = [binaryen.getAlwaysInlineMaxSize(), binaryen.getFlexibleInlineMaxSize(), binaryen.getOneCallerInlineMaxSize()];
    binaryen.setAlwaysInlineMaxSize(16);
    binaryen.setFlexibleInlineMaxSize(0);
    binaryen.setOneCallerInlineMaxSize(0);
    try {
      mod.runPasses(["inlining"]);
    } finally {
      binaryen.setAlwaysInlineMaxSize(saved[0]!);
      binaryen.setFlexibleInlineMaxSize(saved[1]!);
      binaryen.setOneCallerInlineMaxSize(saved[2]!);
    }
    if (!mod.validate()) throw new MeteringError("the metered module does not validate");
    return { wasm: mod.emitBinary(), imports, memory };
  } finally {
    mod.dispose();
  }
}

const TYPE_NAMES = new Map<number, string>([
  [binaryen.i32, "i32"],
  [binaryen.i64, "i64"],
  [binaryen.f32, "f32"],
  [binaryen.f64, "f64"],
]);

function typeList(type: number): string[] {
  return binaryen.expandType(type).map((t) => TYPE_NAMES.get(t) ?? "other");
}

function functionImports(mod: binaryen.Module): MeteredModule["imports"] {
  const out: MeteredModule["imports"] = [];
  for (let i = 0; i < mod.getNumFunctions(); i++) {
    const info = binaryen.getFunctionInfo(mod.getFunctionByIndex(i));
    if (info.module && info.base) out.push({ module: info.module, name: info.base, params: typeList(info.params), results: typeList(info.results) });
  }
  return out;
}

/** Internal name of the import log-execution added (its module name varies by version). */
function findLoggerImport(mod: binaryen.Module): string | undefined {
  for (let i = 0; i < mod.getNumFunctions(); i++) {
    const info = binaryen.getFunctionInfo(mod.getFunctionByIndex(i));
    if (info.module && info.base === "log_execution") return info.name;
  }
  return undefined;
}
