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
 */
import binaryen from "binaryen";

/** Where the build places a shared library's static data before relocation: 64 KiB aligned, far
 * above any device memory, and an unlikely value for a numeric constant. */
export const SHARED_DATA_BASE = 0x5a5a0000;
/** Custom section holding the size in bytes (u32, little endian) of the region the runtime must
 * reserve in the app's memory for the library's static data. */
export const SHARED_DATA_SECTION = "liquid.shared_data";
/** The immutable i32 global ("env"."__memory_base") the runtime sets to the region's address. */
export const MEMORY_BASE_IMPORT = "__memory_base";
/** How far outside the data range a constant still looks like arithmetic on a data address. */
const NEAR = 0x10000;

export interface RelocatedLibrary {
  wasm?: Uint8Array;
  /** Bytes of static data the runtime places in the app's memory (0: none). */
  dataSize: number;
  problems: string[];
}

interface Segment {
  offset: number;
  data: Uint8Array;
}

export function relocateSharedLibrary(wasm: Uint8Array, base = SHARED_DATA_BASE): RelocatedLibrary {
  const mod = binaryen.readBinaryWithFeatures(wasm, binaryen.Features.All);
  const problems: string[] = [];
  let disposed = false;
  try {
    if (mod.getNumElementSegments() > 0) problems.push("a shared library may not have table entries (function references or closures): the runtime does not place them in the app's table");

    const api = mod as unknown as {
      getNumDataSegments(): number;
      getDataSegmentByIndex(index: number): number;
      getDataSegmentInfo(segment: number): { offset: number | null; data: ArrayBuffer; passive: boolean };
    };
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
    if (problems.length) return { dataSize, problems };

    // One segment from the base, gaps zero-filled: its offset is the imported global itself,
    // since a data segment's offset may not be an addition in wasm 1.0.
    const image = new Uint8Array(dataSize);
    for (const s of segments) image.set(s.data, s.offset - base);
    // Addresses stored inside the data (an array literal's pointer to its buffer) cannot be
    // moved by an offset: refuse them rather than leave a pointer to the sentinel range.
    const view = new DataView(image.buffer);
    for (let at = 0; at + 4 <= image.length; at += 4) {
      const word = view.getUint32(at, true);
      if (word >= base && word < base + dataSize) {
        problems.push(`a shared library's static data may not hold addresses (at +${at}: an array or object literal pointing into its data); use StaticArray for tables`);
        break;
      }
    }
    if (problems.length) return { dataSize, problems };

    let text = mod.emitText();
    const inData = (v: number) => v >= base && v < base + dataSize;
    const nearData = (v: number) => !inData(v) && v >= base - NEAR && v < base + dataSize + NEAR;
    // Globals' initialisers are constant expressions: they cannot add the base.
    for (const line of text.split("\n")) {
      const m = /^\s*\(global \$(\S+) .*\(i32\.const (-?\d+)\)/.exec(line);
      if (m && (inData(Number(m[2]) >>> 0) || nearData(Number(m[2]) >>> 0))) problems.push(`a shared library's global ${m[1]} may not be initialised to an address of its static data`);
    }
    for (const m of text.matchAll(/offset=(\d+)/g)) {
      if (inData(Number(m[1])) || nearData(Number(m[1]))) problems.push(`a shared library may not access its static data through a constant memory offset (offset=${m[1]})`);
    }
    // The stub runtime's allocator is the only code of AssemblyScript's that grows memory.
    if (/\(memory\.grow\b/.test(text)) problems.push("a shared library may not allocate (new, arrays, string concatenation): its heap would grow into the app's memory, whose allocator it does not share");
    const funcStart = text.indexOf("\n (func ");
    const head = funcStart < 0 ? text : text.slice(0, funcStart);
    let body = funcStart < 0 ? "" : text.slice(funcStart);
    body = body.replace(/\(i32\.const (-?\d+)\)/g, (whole, digits: string) => {
      const v = Number(digits) >>> 0;
      if (inData(v)) return `(i32.add (global.get $${MEMORY_BASE_IMPORT}) (i32.const ${v - base}))`;
      if (nearData(v)) problems.push(`a shared library's constant ${v} lies just outside its static data (${base}..${base + dataSize}): it cannot tell whether it is an address; refusing to guess`);
      return whole;
    });
    if (problems.length) return { dataSize, problems };
    // One segment from the base, gaps zero-filled, at the imported global itself: a data
    // segment's offset may not be an addition in wasm 1.0. An imported memory accepts any
    // app's: at least nothing, no maximum.
    const bytes = Array.from(image, (b) => "\\" + b.toString(16).padStart(2, "0")).join("");
    const newHead = head
      .split("\n")
      .filter((line) => !/^ \(data /.test(line))
      .map((line) => line.replace(/^ \(import "env" "memory" \(memory (\$\S+) \d+( \d+)?\)\)$/, ' (import "env" "memory" (memory $1 0))'))
      .join("\n")
      .replace(/^\(module\n/, dataSize === 0 ? "(module\n" : `(module\n (import "env" "${MEMORY_BASE_IMPORT}" (global $${MEMORY_BASE_IMPORT} i32))\n`);
    const data = dataSize ? `\n (data $lq_shared_data (global.get $${MEMORY_BASE_IMPORT}) "${bytes}")` : "";
    text = newHead + data + body;
    const features = mod.getFeatures();
    disposed = true;
    mod.dispose();

    const out = binaryen.parseText(text);
    try {
      out.setFeatures(features);
      if (dataSize) {
        const size = new Uint8Array(4);
        new DataView(size.buffer).setUint32(0, dataSize, true);
        out.addCustomSection(SHARED_DATA_SECTION, size);
      }
      if (!out.validate()) return { dataSize, problems: ["binaryen rejected the relocated shared library"] };
      return { wasm: out.emitBinary(), dataSize, problems };
    } finally {
      out.dispose();
    }
  } finally {
    if (!disposed) mod.dispose();
  }
}
