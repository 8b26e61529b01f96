/**
 * A tiny WebAssembly binary builder for tests: enough to write small modules by hand (types,
 * function imports, functions with locals, one memory, exports) without a .wat toolchain.
 * Function bodies are raw instruction bytes; `op` names the opcodes the tests use.
 */

export type ValType = "i32" | "i64" | "f32" | "f64" | "funcref" | "externref";
const VALTYPE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, funcref: 0x70, externref: 0x6f };

export const op = {
  unreachable: 0x00,
  nop: 0x01,
  block: 0x02,
  loop: 0x03,
  br: 0x0c,
  br_if: 0x0d,
  end: 0x0b,
  call: 0x10,
  drop: 0x1a,
  local_get: 0x20,
  local_set: 0x21,
  i32_const: 0x41,
  i64_const: 0x42,
  f32_const: 0x43,
  f64_const: 0x44,
  i32_add: 0x6a,
  i32_div_s: 0x6d,
  i32_load: 0x28,
  void: 0x40,
} as const;

/** Unsigned LEB128. */
export function uleb(n: number | bigint): number[] {
  let v = BigInt(n);
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return out;
}

/** Signed LEB128 (for i32.const / i64.const immediates). */
export function sleb(n: number | bigint): number[] {
  let v = BigInt(n);
  const out: number[] = [];
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    const done = (v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

export function f32Bytes(bits: number): number[] {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(bits >>> 0);
  return [...b];
}

export function f64Bytes(bits: bigint): number[] {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(bits);
  return [...b];
}

function utf8Name(s: string): number[] {
  const bytes = [...Buffer.from(s, "utf8")];
  return [...uleb(bytes.length), ...bytes];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

interface FuncType {
  params: ValType[];
  results: ValType[];
}

interface FuncDef {
  type: number;
  locals: ValType[];
  body: number[];
}

export class ModuleBuilder {
  private types: FuncType[] = [];
  private imports: { module: string; name: string; type: number }[] = [];
  private funcs: FuncDef[] = [];
  private exports: { name: string; kind: number; index: number }[] = [];
  private memory: { min: number; max?: number } | null = null;
  private start: number | null = null;

  private typeIndex(params: ValType[], results: ValType[]): number {
    const key = JSON.stringify({ params, results });
    const found = this.types.findIndex((t) => JSON.stringify(t) === key);
    if (found >= 0) return found;
    this.types.push({ params, results });
    return this.types.length - 1;
  }

  /** Adds a function import; returns its function index. Imports must come first. */
  importFunc(module: string, name: string, params: ValType[], results: ValType[]): number {
    if (this.funcs.length > 0) throw new Error("add imports before functions");
    this.imports.push({ module, name, type: this.typeIndex(params, results) });
    return this.imports.length - 1;
  }

  /** The index the next added function will get (for recursive bodies). */
  nextFuncIndex(): number {
    return this.imports.length + this.funcs.length;
  }

  /** Adds a function (body without the final `end`); returns its function index. */
  func(params: ValType[], results: ValType[], body: number[], locals: ValType[] = []): number {
    this.funcs.push({ type: this.typeIndex(params, results), locals, body });
    return this.imports.length + this.funcs.length - 1;
  }

  exportFunc(name: string, index: number): this {
    this.exports.push({ name, kind: 0, index });
    return this;
  }

  /** Exports memory 0 (set one with setMemory). */
  exportMemory(name: string): this {
    this.exports.push({ name, kind: 2, index: 0 });
    return this;
  }

  setMemory(min: number, max?: number): this {
    this.memory = { min, max };
    return this;
  }

  /** Makes function `index` the start function, run during instantiation. */
  setStart(index: number): this {
    this.start = index;
    return this;
  }

  build(): Uint8Array<ArrayBuffer> {
    const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    out.push(
      ...section(
        1,
        vec(this.types.map((t) => [0x60, ...vec(t.params.map((p) => [VALTYPE[p]])), ...vec(t.results.map((r) => [VALTYPE[r]]))])),
      ),
    );
    if (this.imports.length) {
      out.push(...section(2, vec(this.imports.map((i) => [...utf8Name(i.module), ...utf8Name(i.name), 0x00, ...uleb(i.type)]))));
    }
    out.push(...section(3, vec(this.funcs.map((f) => uleb(f.type)))));
    if (this.memory) {
      const m = this.memory;
      const limits = m.max === undefined ? [0x00, ...uleb(m.min)] : [0x01, ...uleb(m.min), ...uleb(m.max)];
      out.push(...section(5, vec([limits])));
    }
    if (this.exports.length) {
      out.push(...section(7, vec(this.exports.map((e) => [...utf8Name(e.name), e.kind, ...uleb(e.index)]))));
    }
    if (this.start !== null) out.push(...section(8, uleb(this.start)));
    out.push(
      ...section(
        10,
        vec(
          this.funcs.map((f) => {
            const locals = vec(f.locals.map((l) => [0x01, VALTYPE[l]]));
            const body = [...locals, ...f.body, op.end];
            return [...uleb(body.length), ...body];
          }),
        ),
      ),
    );
    return Uint8Array.from(out);
  }
}
