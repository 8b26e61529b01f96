/**
 * The parts of a wasm module's structure a portable snapshot needs (docs/snapshot.md): how many
 * functions, globals, tables, memories and segments the engine will count, each defined
 * global's type, mutability, constant initialiser and export name, and the tables' contents
 * after instantiation. V8 does not expose these, so the binary is read directly; only the
 * sections involved are decoded, the rest skipped by size.
 */
import { readUleb } from "./leb128.js";

export interface GlobalLayout {
  /** wasm value type byte: 0x7f i32, 0x7e i64, 0x7d f32, 0x7c f64, 0x70 funcref, 0x6f externref */
  type: number;
  mutable: boolean;
  /** The constant initialiser's raw 64-bit value (what a fresh instance holds). */
  init: bigint;
  /** An export name, when the module exports it. */
  exportName?: string;
}

export interface TableLayout {
  elem: number;
  /** Function index (or 0xFFFFFFFF for null) of each element after instantiation. */
  contents: number[];
}

export interface ModuleLayout {
  functions: number;
  globals: GlobalLayout[];
  tables: TableLayout[];
  memories: { min: number; max?: number }[];
  /** Per element segment: 1 when instantiation drops it (active, declarative; non-empty). */
  elemDropped: number[];
  /** Per data segment: 1 when instantiation drops it (active). */
  dataDropped: number[];
}

export class WasmLayoutError extends Error {}

export const NULL_INDEX = 0xffffffff;

class Reader {
  pos = 0;
  constructor(
    readonly b: Uint8Array,
    readonly end = b.length,
  ) {}
  u8(): number {
    if (this.pos >= this.end) throw new WasmLayoutError("unexpected end of module");
    return this.b[this.pos++]!;
  }
  leb(): number {
    return readUleb(() => this.u8(), 42, () => new WasmLayoutError("LEB128 too long"));
  }
  sleb(bits: 32 | 64): bigint {
    let result = 0n;
    let shift = 0n;
    let byte: number;
    do {
      byte = this.u8();
      result |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
    } while (byte & 0x80);
    if (shift < BigInt(bits) && byte & 0x40) result -= 1n << shift;
    return BigInt.asUintN(64, result);
  }
  bytes(n: number): Uint8Array {
    if (this.pos + n > this.end) throw new WasmLayoutError("unexpected end of module");
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  name(): string {
    return new TextDecoder().decode(this.bytes(this.leb()));
  }
  limits(): { min: number; max?: number } {
    const flags = this.u8();
    const min = this.leb();
    return flags & 1 ? { min, max: this.leb() } : { min };
  }
  /** A constant expression: its value (raw 64 bits; function index for ref.func). */
  constExpr(): bigint {
    const op = this.u8();
    let v: bigint;
    switch (op) {
      case 0x41:
        v = BigInt.asUintN(32, this.sleb(32));
        break;
      case 0x42:
        v = this.sleb(64);
        break;
      case 0x43: {
        const b = this.bytes(4);
        v = BigInt(new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true));
        break;
      }
      case 0x44: {
        const b = this.bytes(8);
        v = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
        break;
      }
      case 0xd0:
        this.u8();
        v = BigInt(NULL_INDEX);
        break;
      case 0xd2:
        v = BigInt(this.leb());
        break;
      default:
        throw new WasmLayoutError(`constant expression with opcode 0x${op.toString(16)} is not supported in snapshots`);
    }
    if (this.u8() !== 0x0b) throw new WasmLayoutError("constant expression longer than one instruction is not supported in snapshots");
    return v;
  }
}

export function moduleLayout(wasm: Uint8Array): ModuleLayout {
  const r = new Reader(wasm);
  if (r.bytes(4).join() !== "0,97,115,109") throw new WasmLayoutError("not a wasm module");
  r.bytes(4);
  let importedFuncs = 0;
  let importedGlobals = 0;
  let importedTables = 0;
  let definedFuncs = 0;
  const globals: GlobalLayout[] = [];
  const tables: { elem: number; min: number }[] = [];
  const memories: { min: number; max?: number }[] = [];
  const exportsByGlobal = new Map<number, string>();
  const elems: { mode: "active" | "passive" | "declarative"; table: number; offset: number; items: number[] }[] = [];
  const datas: ("active" | "passive")[] = [];
  while (r.pos < wasm.length) {
    const id = r.u8();
    const size = r.leb();
    const s = new Reader(wasm, r.pos + size);
    s.pos = r.pos;
    r.pos += size;
    switch (id) {
      case 2: // imports
        for (let n = s.leb(); n > 0; n--) {
          s.name();
          s.name();
          const kind = s.u8();
          if (kind === 0) {
            s.leb();
            importedFuncs++;
          } else if (kind === 1) {
            s.u8();
            s.limits();
            importedTables++;
          } else if (kind === 2) s.limits();
          else if (kind === 3) {
            s.u8();
            s.u8();
            importedGlobals++;
          } else throw new WasmLayoutError(`unknown import kind ${kind}`);
        }
        break;
      case 3:
        definedFuncs = s.leb();
        break;
      case 4:
        for (let n = s.leb(); n > 0; n--) {
          const elem = s.u8();
          tables.push({ elem, min: s.limits().min });
        }
        break;
      case 5:
        for (let n = s.leb(); n > 0; n--) memories.push(s.limits());
        break;
      case 6:
        for (let n = s.leb(); n > 0; n--) {
          const type = s.u8();
          const mutable = s.u8() === 1;
          globals.push({ type, mutable, init: s.constExpr() });
        }
        break;
      case 7:
        for (let n = s.leb(); n > 0; n--) {
          const name = s.name();
          const kind = s.u8();
          const index = s.leb();
          if (kind === 3 && !exportsByGlobal.has(index)) exportsByGlobal.set(index, name);
        }
        break;
      case 9:
        for (let n = s.leb(); n > 0; n--) elems.push(readElem(s));
        break;
      case 11:
        for (let n = s.leb(); n > 0; n--) {
          const flags = s.leb();
          if (flags === 2) s.leb();
          if (flags !== 1) s.constExpr();
          s.bytes(s.leb());
          datas.push(flags === 1 ? "passive" : "active");
        }
        break;
      default:
        break;
    }
  }
  globals.forEach((g, i) => {
    const name = exportsByGlobal.get(importedGlobals + i);
    if (name !== undefined) g.exportName = name;
  });
  if (importedTables) throw new WasmLayoutError("modules importing tables cannot be snapshotted by the simulator");
  const tableContents: TableLayout[] = tables.map((t) => ({ elem: t.elem, contents: new Array<number>(t.min).fill(NULL_INDEX) }));
  for (const e of elems) {
    if (e.mode !== "active") continue;
    const t = tableContents[e.table];
    if (!t || e.offset + e.items.length > t.contents.length) throw new WasmLayoutError("element segment out of its table's bounds");
    e.items.forEach((f, k) => (t.contents[e.offset + k] = f));
  }
  return {
    functions: importedFuncs + definedFuncs,
    globals,
    tables: tableContents,
    memories,
    elemDropped: elems.map((e) => (e.mode !== "passive" && e.items.length > 0 ? 1 : 0)),
    dataDropped: datas.map((d) => (d === "active" ? 1 : 0)),
  };
}

function readElem(s: Reader): { mode: "active" | "passive" | "declarative"; table: number; offset: number; items: number[] } {
  const flags = s.leb();
  if (flags > 7) throw new WasmLayoutError(`unknown element segment kind ${flags}`);
  const passiveOrDeclarative = (flags & 1) !== 0;
  const explicitTable = (flags & 2) !== 0;
  const exprs = (flags & 4) !== 0;
  let table = 0;
  let offset = 0;
  let mode: "active" | "passive" | "declarative" = "active";
  if (!passiveOrDeclarative) {
    if (explicitTable) table = s.leb();
    offset = Number(s.constExpr());
  } else mode = explicitTable ? "declarative" : "passive";
  if (passiveOrDeclarative || explicitTable) s.u8(); // elemkind or reftype
  const items: number[] = [];
  for (let n = s.leb(); n > 0; n--) items.push(exprs ? Number(s.constExpr()) : s.leb());
  return { mode, table, offset, items };
}
