/**
 * The library imports ("NAME@RANGE" modules) of a module with their signatures, read from the
 * module's bytes with binaryen (V8 does not report import types). Cached per byte array.
 */
import binaryen from "binaryen";
import { parseLibraryRef } from "./library-ref.js";

export interface TypedImport {
  module: string;
  name: string;
  params: string[];
  results: string[];
}

const TYPE_NAMES = new Map<number, string>([
  [binaryen.i32, "i32"],
  [binaryen.i64, "i64"],
  [binaryen.f32, "f32"],
  [binaryen.f64, "f64"],
]);

const cache = new WeakMap<Uint8Array, TypedImport[]>();

export function libraryImportsOf(wasm: Uint8Array): TypedImport[] {
  const hit = cache.get(wasm);
  if (hit) return hit;
  const result: TypedImport[] = [];
  const mod = binaryen.readBinary(wasm);
  try {
    for (let i = 0; i < mod.getNumFunctions(); i++) {
      const fn = binaryen.getFunctionInfo(mod.getFunctionByIndex(i));
      if (!fn.module || !parseLibraryRef(fn.module)) continue;
      const types = (t: number) => binaryen.expandType(t).map((x) => TYPE_NAMES.get(x) ?? "?");
      result.push({ module: fn.module, name: fn.base ?? "", params: types(fn.params), results: types(fn.results) });
    }
  } finally {
    mod.dispose();
  }
  cache.set(wasm, result);
  return result;
}
