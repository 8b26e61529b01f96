/**
 * Binaryen post-pass on the optimised module: export every mutable global that is not exported
 * yet (as __lq_g0, __lq_g1, ... in global order) so that a snapshot taken through any engine's
 * export API sees the app's whole state, and describe the module (imports with signatures,
 * exports, memory limits) for the HAL check and the manifest.
 */
import type binaryenType from "binaryen";
import type { ValueType } from "../hal/spec.js";
import { HEAP_POINTER_EXPORT, loadBinaryen } from "./compile.js";

export interface ModuleImport {
  module: string;
  name: string;
  kind: "function" | "memory" | "table" | "global" | "tag";
  params?: ValueType[];
  results?: ValueType[];
}

export interface ModuleExport {
  name: string;
  kind: "function" | "memory" | "table" | "global" | "tag";
  params?: ValueType[];
  results?: ValueType[];
}

export interface ModuleDescription {
  wasm: Uint8Array;
  imports: ModuleImport[];
  exports: ModuleExport[];
  memory?: { initial: number; maximum?: number };
  /** Export names added for mutable globals. */
  globalExports: string[];
  /** Which of globalExports is the app's heap pointer (the compiler marked it HEAP_POINTER_EXPORT). */
  heapPointer?: string;
  /** The final module in the text format, when asked for. */
  wat?: string;
}

export class ModuleShapeError extends Error {}

function valueTypes(binaryen: typeof binaryenType, type: binaryenType.Type, where: string): ValueType[] {
  return binaryen.expandType(type).map((t) => {
    if (t === binaryen.i32) return "i32";
    if (t === binaryen.i64) return "i64";
    if (t === binaryen.f32) return "f32";
    if (t === binaryen.f64) return "f64";
    throw new ModuleShapeError(`${where} uses a value type other than i32/i64/f32/f64, which the HAL and the engines do not pass`);
  });
}

export async function postprocess(wasm: Uint8Array, options: { exportGlobals: boolean; wat?: boolean }): Promise<ModuleDescription> {
  const binaryen = await loadBinaryen();
  const mod = binaryen.readBinaryWithFeatures(wasm, binaryen.Features.All);
  try {
    // The compiler marked the heap pointer with a temporary export: drop it, so that the
    // global gets its __lq_gN name like every other, and remember which one it is.
    let heapGlobal: string | undefined;
    if (mod.getExport(HEAP_POINTER_EXPORT)) {
      heapGlobal = binaryen.getExportInfo(mod.getExport(HEAP_POINTER_EXPORT)).value;
      mod.removeExport(HEAP_POINTER_EXPORT);
    }
    let heapPointer: string | undefined;
    const exportedGlobals = new Set<string>();
    for (let i = 0; i < mod.getNumExports(); i++) {
      const info = binaryen.getExportInfo(mod.getExportByIndex(i));
      if (info.kind === binaryen.ExternalGlobal) exportedGlobals.add(info.value);
    }
    const globalExports: string[] = [];
    if (options.exportGlobals) {
      let n = 0;
      for (let i = 0; i < mod.getNumGlobals(); i++) {
        const info = binaryen.getGlobalInfo(mod.getGlobalByIndex(i));
        if (!info.mutable || info.module || exportedGlobals.has(info.name)) continue;
        let exportName = `__lq_g${n++}`;
        while (mod.getExport(exportName)) exportName = `__lq_g${n++}`;
        mod.addGlobalExport(info.name, exportName);
        globalExports.push(exportName);
        if (info.name === heapGlobal) heapPointer = exportName;
      }
    }
    if (!mod.validate()) throw new ModuleShapeError("binaryen rejected the module after adding global exports");

    const imports: ModuleImport[] = [];
    for (let i = 0; i < mod.getNumFunctions(); i++) {
      const info = binaryen.getFunctionInfo(mod.getFunctionByIndex(i));
      if (!info.module || info.base === null) continue;
      const where = `import ${info.module}.${info.base}`;
      imports.push({
        module: info.module,
        name: info.base,
        kind: "function",
        params: valueTypes(binaryen, info.params, where),
        results: valueTypes(binaryen, info.results, where),
      });
    }
    for (let i = 0; i < mod.getNumGlobals(); i++) {
      const info = binaryen.getGlobalInfo(mod.getGlobalByIndex(i));
      if (info.module && info.base !== null) imports.push({ module: info.module, name: info.base, kind: "global" });
    }
    for (let i = 0; i < mod.getNumTables(); i++) {
      const info = binaryen.getTableInfo(mod.getTableByIndex(i));
      if (info.module && info.base !== null) imports.push({ module: info.module, name: info.base, kind: "table" });
    }
    let memory: ModuleDescription["memory"];
    if (mod.hasMemory()) {
      const info = mod.getMemoryInfo();
      if (info.module && info.base !== null) imports.push({ module: info.module, name: info.base, kind: "memory" });
      memory = { initial: info.initial, ...(info.max !== undefined ? { maximum: info.max } : {}) };
    }

    const kinds = new Map<number, ModuleExport["kind"]>([
      [binaryen.ExternalFunction, "function"],
      [binaryen.ExternalMemory, "memory"],
      [binaryen.ExternalTable, "table"],
      [binaryen.ExternalGlobal, "global"],
      [binaryen.ExternalTag, "tag"],
    ]);
    const exports: ModuleExport[] = [];
    for (let i = 0; i < mod.getNumExports(); i++) {
      const info = binaryen.getExportInfo(mod.getExportByIndex(i));
      const kind = kinds.get(info.kind) ?? "function";
      const entry: ModuleExport = { name: info.name, kind };
      if (kind === "function") {
        const fn = binaryen.getFunctionInfo(mod.getFunction(info.value));
        entry.params = valueTypes(binaryen, fn.params, `export ${info.name}`);
        entry.results = valueTypes(binaryen, fn.results, `export ${info.name}`);
      }
      exports.push(entry);
    }
    const out = globalExports.length || heapGlobal ? mod.emitBinary() : wasm;
    return { wasm: out, imports, exports, memory, globalExports, ...(heapPointer ? { heapPointer } : {}), ...(options.wat ? { wat: mod.emitText() } : {}) };
  } finally {
    mod.dispose();
  }
}
