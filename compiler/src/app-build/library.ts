/**
 * What a shared-everything library (`liquid build --library --shared`) may contain, and the pass
 * that makes its static data relocatable. It runs in the importing app's memory, so anything it
 * placed at fixed addresses would collide with the app's data. AssemblyScript emits no
 * relocatable output, so the build compiles the library with its static data at a sentinel base
 * (SHARED_DATA_BASE, far above any real memory) and this pass turns every address in
 * [base, base + size) into `__memory_base + offset`, where `__memory_base` is an immutable global
 * the library imports from "env" and the runtime chooses when it links the library into an app
 * (docs/linking.md). Mutable globals stay in the library's instance (they are its own). What the
 * pass cannot relocate is refused with the reason.
 *
 * ABI v2: the library also shares the app's function table and allocator. Its table entries are
 * compiled at SHARED_TABLE_BASE and moved the same way, to `__table_base + k` (another imported
 * global: where the runtime appended the library's slots to the app's table); the number of
 * slots goes into a custom section. Addresses and table indices stored inside the static data
 * (a Function object's index, an Array literal's buffer pointer) are patched by a start function
 * this pass adds. The allocator imports are made by the compiler (compile.ts).
 */
import binaryen from "binaryen";
import { SHARED_TABLE_BASE } from "./compile.js";

/** Where the build places a shared library's static data before relocation: 64 KiB aligned, far
 * above any device memory, and an unlikely value for a numeric constant. */
export const SHARED_DATA_BASE = 0x5a5a0000;
/** Custom section holding the size in bytes (u32, little endian) of the region the runtime must
 * reserve in the app's memory for the library's static data. */
export const SHARED_DATA_SECTION = "liquid.shared_data";
/** The immutable i32 global ("env"."__memory_base") the runtime sets to the region's address. */
export const MEMORY_BASE_IMPORT = "__memory_base";
/** Custom section holding how many slots (u32, little endian) the runtime appends to the app's
 * function table for the library's entries. */
export const SHARED_TABLE_SECTION = "liquid.shared_table";
/** The immutable i32 global ("env"."__table_base") the runtime sets to the first appended slot. */
export const TABLE_BASE_IMPORT = "__table_base";
/** The library's start function added by this pass: patches the data words, then runs the original. */
const PATCH_START = "lq_shared_start";
/** How far outside the data range a constant still looks like arithmetic on a data address. */
const NEAR = 0x10000;

export interface RelocatedLibrary {
  wasm?: Uint8Array;
  /** Bytes of static data the runtime places in the app's memory (0: none). */
  dataSize: number;
  /** Slots the runtime appends to the app's function table (0: none). */
  tableSize: number;
  problems: string[];
}

interface Segment {
  offset: number;
  data: Uint8Array;
}

export function relocateSharedLibrary(wasm: Uint8Array, base = SHARED_DATA_BASE, tableBase = SHARED_TABLE_BASE, debug = false): RelocatedLibrary {
  const mod = binaryen.readBinaryWithFeatures(wasm, binaryen.Features.All);
  // A debug build is not optimised: immutable globals still hold data addresses (constant
  // initialisers, which cannot add a base) and the replaced allocator's helpers are still
  // there. Propagating such globals into their uses and dropping what nothing uses leaves the
  // code as debuggable and relocatable.
  if (debug) mod.runPasses(["simplify-globals-optimizing", "remove-unused-module-elements"]);
  const problems: string[] = [];
  let disposed = false;
  let tableSize = 0;
  try {
    // The table entries: where the compiler put them, how many slots from the base.
    const elems: { at: number; funcs: string[] }[] = [];
    const api = mod as unknown as {
      getNumDataSegments(): number;
      getDataSegmentByIndex(index: number): number;
      getDataSegmentInfo(segment: number): { offset: number | null; data: ArrayBuffer; passive: boolean };
    };
    for (let i = 0; i < mod.getNumElementSegments(); i++) {
      const info = binaryen.getElementSegmentInfo(mod.getElementSegmentByIndex(i));
      const offset = info.offset ? binaryen.getExpressionInfo(info.offset) as { id: number; value?: number } : undefined;
      if (!offset || offset.id !== binaryen.ConstId || typeof offset.value !== "number" || offset.value < tableBase) {
        problems.push("a shared library's table entries must start at the build's table base");
        continue;
      }
      tableSize = Math.max(tableSize, offset.value - tableBase + info.data.length);
      elems.push({ at: offset.value - tableBase, funcs: [...info.data] });
    }

    const segments: Segment[] = [];
    const n = api.getNumDataSegments();
    for (let i = 0; i < n; i++) {
      const info = api.getDataSegmentInfo(api.getDataSegmentByIndex(i));
      if (info.passive) {
        problems.push("a shared library may not have passive data segments");
        continue;
      }
      segments.push({ offset: (info.offset ?? 0) >>> 0, data: new Uint8Array(info.data) });
    }
    for (const s of segments) {
      if (s.offset < base) problems.push(`a shared library's static data must start at the build's base: a segment is at ${s.offset}`);
    }
    const end = segments.reduce((m, s) => Math.max(m, s.offset + s.data.length), base);
    const dataSize = (end - base + 15) & ~15;
    if (problems.length) return { dataSize, tableSize, problems };

    // One segment from the base, gaps zero-filled: its offset is the imported global itself,
    // since a data segment's offset may not be an addition in wasm 1.0.
    const image = new Uint8Array(dataSize);
    for (const s of segments) image.set(s.data, s.offset - base);
    const inData = (v: number) => v >= base && v < base + dataSize;
    const nearData = (v: number) => !inData(v) && v >= base - NEAR && v < base + dataSize + NEAR;
    const inTable = (v: number) => v >= tableBase && v < tableBase + tableSize;
    const nearTable = (v: number) => !inTable(v) && v >= tableBase - NEAR && v < tableBase + tableSize + NEAR;
    // Addresses and table indices stored inside the data (an Array literal's pointer to its
    // buffer, a Function object's table index) cannot move with an offset: the start function
    // rewrites each such word once the runtime has chosen the bases.
    const patches: string[] = [];
    const view = new DataView(image.buffer);
    for (let at = 0; at + 4 <= image.length; at += 4) {
      const word = view.getUint32(at, true);
      if (inData(word)) patches.push(`(i32.store offset=${at} (global.get $${MEMORY_BASE_IMPORT}) (i32.add (global.get $${MEMORY_BASE_IMPORT}) (i32.const ${word - base})))`);
      else if (inTable(word)) patches.push(`(i32.store offset=${at} (global.get $${MEMORY_BASE_IMPORT}) (i32.add (global.get $${TABLE_BASE_IMPORT}) (i32.const ${word - tableBase})))`);
    }

    let text = mod.emitText();
    // Globals' initialisers are constant expressions: they cannot add the base.
    for (const line of text.split("\n")) {
      const m = /^\s*\(global \$(\S+) .*\(i32\.const (-?\d+)\)/.exec(line);
      if (!m) continue;
      const v = Number(m[2]) >>> 0;
      if (inData(v) || nearData(v)) problems.push(`a shared library's global ${m[1]} may not be initialised to an address of its static data`);
      if (tableSize && (inTable(v) || nearTable(v))) problems.push(`a shared library's global ${m[1]} may not be initialised to one of its table indices`);
    }
    for (const m of text.matchAll(/offset=(\d+)/g)) {
      if (inData(Number(m[1])) || nearData(Number(m[1]))) problems.push(`a shared library may not access its static data through a constant memory offset (offset=${m[1]})`);
    }
    // With the allocator imported (compile.ts), nothing of AssemblyScript's grows memory; a
    // library that still does would grow the app's memory behind its allocator's back.
    if (/\(memory\.grow\b/.test(text)) problems.push("a shared library may not grow memory (memory.grow): the app's memory belongs to the app's allocator");
    const funcStart = text.indexOf("\n (func ");
    const head = funcStart < 0 ? text : text.slice(0, funcStart);
    let body = funcStart < 0 ? "" : text.slice(funcStart);
    body = body.replace(/\(i32\.const (-?\d+)\)/g, (whole, digits: string) => {
      const v = Number(digits) >>> 0;
      if (inData(v)) return `(i32.add (global.get $${MEMORY_BASE_IMPORT}) (i32.const ${v - base}))`;
      if (nearData(v)) problems.push(`a shared library's constant ${v} lies just outside its static data (${base}..${base + dataSize}): it cannot tell whether it is an address; refusing to guess`);
      if (tableSize && inTable(v)) return `(i32.add (global.get $${TABLE_BASE_IMPORT}) (i32.const ${v - tableBase}))`;
      if (tableSize && nearTable(v)) problems.push(`a shared library's constant ${v} lies just outside its table entries (${tableBase}..${tableBase + tableSize}): it cannot tell whether it is a table index; refusing to guess`);
      return whole;
    });
    if (problems.length) return { dataSize, tableSize, problems };
    // The app's table is needed for the library's own entries and for calling through it (an
    // app's callback); a library with neither imports no table.
    const usesTable = tableSize > 0 || /\((call_indirect|return_call_indirect|table\.)/.test(body);
    const startMatch = /^ \(start \$(\S+)\)$/m.exec(head);
    const bytes = Array.from(image, (b) => "\\" + b.toString(16).padStart(2, "0")).join("");
    const imports = [
      ...(dataSize ? [` (import "env" "${MEMORY_BASE_IMPORT}" (global $${MEMORY_BASE_IMPORT} i32))`] : []),
      ...(tableSize ? [` (import "env" "${TABLE_BASE_IMPORT}" (global $${TABLE_BASE_IMPORT} i32))`] : []),
    ];
    // An imported memory or table accepts any app's: at least nothing, no maximum.
    const newHead = head
      .split("\n")
      .filter((line) => !/^ \((data|elem|start) /.test(line))
      .filter((line) => usesTable || !/^ \(import "env" "table" \(table /.test(line))
      .map((line) => line.replace(/^ \(import "env" "memory" \(memory (\$\S+) \d+( \d+)?\)\)$/, ' (import "env" "memory" (memory $1 0))'))
      .map((line) => line.replace(/^ \(import "env" "table" \(table (\$\S+) \d+( \d+)? funcref\)\)$/, ' (import "env" "table" (table $1 0 funcref))'))
      .join("\n")
      .replace(/^\(module\n/, `(module\n${imports.map((l) => l + "\n").join("")}`);
    const data = dataSize ? `\n (data $lq_shared_data (global.get $${MEMORY_BASE_IMPORT}) "${bytes}")` : "";
    const start = patches.length
      ? `\n (start $${PATCH_START})\n (func $${PATCH_START}\n  ${patches.join("\n  ")}${startMatch ? `\n  (call $${startMatch[1]})` : ""}\n )`
      : startMatch
        ? `\n (start $${startMatch[1]})`
        : "";
    text = newHead + data + start + body;
    const features = mod.getFeatures();
    disposed = true;
    mod.dispose();

    const out = binaryen.parseText(text);
    try {
      out.setFeatures(features);
      // One element segment at the imported base: like data, its offset is the global itself.
      if (tableSize) {
        const table = binaryen.getTableInfo(out.getTableByIndex(0)).name;
        const funcs: string[] = new Array(tableSize);
        for (const e of elems) e.funcs.forEach((f, i) => (funcs[e.at + i] = f));
        if (funcs.some((f) => f === undefined)) return { dataSize, tableSize, problems: ["a shared library's table entries have gaps"] };
        out.addActiveElementSegment(table, "lq_shared_elems", funcs, out.global.get(TABLE_BASE_IMPORT, binaryen.i32));
      }
      // The table section also for 0 slots: the library calls through the app's table.
      const sections: [string, number][] = [...(dataSize ? [[SHARED_DATA_SECTION, dataSize] as [string, number]] : []), ...(usesTable ? [[SHARED_TABLE_SECTION, tableSize] as [string, number]] : [])];
      for (const [section, value] of sections) {
        const size = new Uint8Array(4);
        new DataView(size.buffer).setUint32(0, value, true);
        out.addCustomSection(section, size);
      }
      if (!out.validate()) return { dataSize, tableSize, problems: ["binaryen rejected the relocated shared library"] };
      return { wasm: out.emitBinary(), dataSize, tableSize, problems };
    } finally {
      out.dispose();
    }
  } finally {
    if (!disposed) mod.dispose();
  }
}
