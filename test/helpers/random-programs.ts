/**
 * Random but valid WebAssembly programs with V8 as the oracle (used by
 * test/engine/differential.test.ts and test/engine/spec-qemu.test.ts): expression trees over
 * i32/i64, and f32/f64 with every conversion, with locals, if/else, select, counted loops, loads
 * and stores, branches carrying values (br_if, br_table) and calls (also to multi-value
 * functions). Each generated module
 * exports `count` functions `() -> T`; V8 runs them and its results and traps become a
 * wast2json-style script for `liquid-vm --spectest`.
 *
 * Programs are deterministic by construction: the spec leaves the bits of NaNs that operations
 * produce open, so no NaN's sign or payload may become observable (no copysign from a NaN, no
 * NaN stored to memory, loaded floats pass through an addition).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ModuleBuilder, op, sleb, uleb, type ValType } from "./wasm-builder.js";

/** mulberry32: a small seedable PRNG, so every run generates the same programs. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type NumType = "i32" | "i64" | "f32" | "f64";
type IntType = "i32" | "i64";
type FloatType = "f32" | "f64";

// Opcodes by shape (WebAssembly core spec, section 5.4).
const BIN: Record<NumType, number[]> = {
  i32: range(0x6a, 0x78), // add .. rotr
  i64: range(0x7c, 0x8a),
  f32: range(0x92, 0x98), // add sub mul div min max copysign
  f64: range(0xa0, 0xa6),
};
const COPYSIGN = new Set([0x98, 0xa6]);
const FEQ: Record<FloatType, number> = { f32: 0x5b, f64: 0x61 };
const UN: Record<NumType, number[]> = {
  i32: [0x67, 0x68, 0x69, 0xc0, 0xc1], // clz ctz popcnt extend8_s extend16_s
  i64: [0x79, 0x7a, 0x7b, 0xc2, 0xc3, 0xc4],
  f32: range(0x8b, 0x91), // abs neg ceil floor trunc nearest sqrt
  f64: range(0x99, 0x9f),
};
const CMP: Record<NumType, number[]> = { i32: range(0x46, 0x4f), i64: range(0x51, 0x5a), f32: range(0x5b, 0x60), f64: range(0x61, 0x66) };
const EQZ: Record<IntType, number> = { i32: 0x45, i64: 0x50 };
/** Conversions: [result type, operand type, opcode bytes]. Traps included (trunc of NaN/huge). */
const CONVERT: [NumType, NumType, number[]][] = [
  ["i32", "i64", [0xa7]], ["i64", "i32", [0xac]], ["i64", "i32", [0xad]],
  ["i32", "f32", [0xa8]], ["i32", "f32", [0xa9]], ["i32", "f64", [0xaa]], ["i32", "f64", [0xab]],
  ["i64", "f32", [0xae]], ["i64", "f32", [0xaf]], ["i64", "f64", [0xb0]], ["i64", "f64", [0xb1]],
  ["f32", "i32", [0xb2]], ["f32", "i32", [0xb3]], ["f32", "i64", [0xb4]], ["f32", "i64", [0xb5]], ["f32", "f64", [0xb6]],
  ["f64", "i32", [0xb7]], ["f64", "i32", [0xb8]], ["f64", "i64", [0xb9]], ["f64", "i64", [0xba]], ["f64", "f32", [0xbb]],
  ["i32", "f32", [0xfc, 0]], ["i32", "f32", [0xfc, 1]], ["i32", "f64", [0xfc, 2]], ["i32", "f64", [0xfc, 3]],
  ["i64", "f32", [0xfc, 4]], ["i64", "f32", [0xfc, 5]], ["i64", "f64", [0xfc, 6]], ["i64", "f64", [0xfc, 7]],
];
const LOADS: Record<NumType, { code: number; size: number }[]> = {
  i32: [{ code: 0x28, size: 4 }, { code: 0x2c, size: 1 }, { code: 0x2d, size: 1 }, { code: 0x2e, size: 2 }, { code: 0x2f, size: 2 }],
  i64: [{ code: 0x29, size: 8 }, { code: 0x30, size: 1 }, { code: 0x33, size: 2 }, { code: 0x34, size: 4 }, { code: 0x35, size: 4 }],
  f32: [{ code: 0x2a, size: 4 }],
  f64: [{ code: 0x2b, size: 8 }],
};
const STORES: Record<NumType, { code: number; size: number }[]> = {
  i32: [{ code: 0x36, size: 4 }, { code: 0x3a, size: 1 }, { code: 0x3b, size: 2 }],
  i64: [{ code: 0x37, size: 8 }, { code: 0x3c, size: 1 }, { code: 0x3e, size: 4 }],
  f32: [{ code: 0x38, size: 4 }],
  f64: [{ code: 0x39, size: 8 }],
};
const LOCAL_SET = 0x21;
const LOCAL_TEE = 0x22;
const SELECT = 0x1b;
const BR_TABLE = 0x0e;
/** The first LEAVES functions call nothing; later ones may call them (no deep call chains). */
const LEAVES = 20;
/** Leaves that return two values (multi-value), placed right after the single-value ones. */
const PAIRS = 5;
const IF = 0x04;
const ELSE = 0x05;
const VALTYPE = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c };
/** Locals: 0-3 i32, 4-5 i64, 6 the loop counter, 7-8 f32, 9-10 f64. */
const LOCALS: ValType[] = ["i32", "i32", "i32", "i32", "i64", "i64", "i32", "f32", "f32", "f64", "f64"];
const LOCAL_SLOTS: Record<NumType, number[]> = { i32: [0, 1, 2, 3], i64: [4, 5], f32: [7, 8], f64: [9, 10] };

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

const I32_EDGES = [0, 1, -1, 2, 31, 32, 0x7fffffff, -0x80000000, 0x12345678, -7, 255, 65535, 65536];
const I64_EDGES = [0n, 1n, -1n, 63n, 64n, 0x7fffffffffffffffn, -0x8000000000000000n, 0x123456789abcdefn, -7n, 0xffffffffn];
// Only the canonical NaN: every NaN a program makes is then arithmetic, which is what the
// expectation "nan:arithmetic" checks (V8 gives NaNs to JavaScript without their bits).
const FLOAT_EDGES = [0, -0, 1, -1, 0.5, -0.5, 1.5, 2.5, -2.5, 3, Infinity, -Infinity, NaN, 2147483647, 2147483648, -2147483649,
  4294967296, 9.3e18, -9.3e18, 1e-45, 5e-324, 1.17549435e-38, 3.4028234663852886e38, 1.7976931348623157e308, 0.1, 1e10];

function floatBytes(t: FloatType, v: number): number[] {
  const b = Buffer.alloc(t === "f32" ? 4 : 8);
  if (t === "f32") b.writeFloatLE(v);
  else b.writeDoubleLE(v);
  return [...b];
}

class FunctionGen {
  private code: number[] = [];
  /** Leaf functions generated so far (callable from later functions): one result, or a pair
   * of results of the same type (multi-value), by function index. */
  leaves: { type: NumType; index: number }[] = [];
  pairs: { type: NumType; index: number }[] = [];
  /** Whether the function being generated may call leaves (leaves themselves may not). */
  private mayCall = false;

  constructor(private rnd: () => number, private types: NumType[]) {}

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)];
  }

  private constant(t: NumType): void {
    if (t === "i32") {
      const v = this.rnd() < 0.5 ? this.pick(I32_EDGES) : (Math.floor(this.rnd() * 2 ** 32) | 0);
      this.code.push(op.i32_const, ...sleb(v));
    } else if (t === "i64") {
      const v = this.rnd() < 0.5 ? this.pick(I64_EDGES) : BigInt.asIntN(64, BigInt(Math.floor(this.rnd() * 2 ** 32)) * 0x100000007n);
      this.code.push(op.i64_const, ...sleb(v));
    } else {
      const v = this.rnd() < 0.6 ? this.pick(FLOAT_EDGES) : (this.rnd() - 0.5) * 10 ** Math.floor(this.rnd() * 12 - 4);
      this.code.push(t === "f32" ? op.f32_const : op.f64_const, ...floatBytes(t, v));
    }
  }

  private localOf(t: NumType): number {
    return this.pick(LOCAL_SLOTS[t]);
  }

  /** An address in or just past the 1-page memory: (expr & 0xffff) + offset. */
  private address(): number {
    this.expr("i32", 1);
    this.code.push(op.i32_const, ...sleb(0xffff), 0x71 /* i32.and */);
    return this.rnd() < 0.97 ? Math.floor(this.rnd() * 16) : 65530 + Math.floor(this.rnd() * 8);
  }

  expr(t: NumType, depth: number): void {
    const r = this.rnd();
    if (depth <= 0 || r < 0.2) {
      if (this.rnd() < 0.5) this.constant(t);
      else this.code.push(op.local_get, this.localOf(t));
      return;
    }
    const d = depth - 1;
    const other = this.pick(this.types);
    if (r < 0.5) {
      const code = this.pick(BIN[t]);
      this.expr(t, d);
      this.expr(t, d);
      // The sign of a NaN an operation made is not determined: copy signs of numbers only.
      if (COPYSIGN.has(code)) this.denan(t as FloatType);
      this.code.push(code);
    } else if (r < 0.58) {
      this.expr(t, d);
      this.code.push(this.pick(UN[t]));
    } else if (r < 0.66 && t === "i32") {
      this.expr(other, d);
      this.expr(other, d);
      this.code.push(this.pick(CMP[other]));
    } else if (r < 0.7 && t === "i32" && (other === "i32" || other === "i64")) {
      this.expr(other, d);
      this.code.push(EQZ[other]);
    } else if (r < 0.76) {
      const choices = CONVERT.filter(([res, from]) => res === t && this.types.includes(from));
      if (choices.length === 0) return this.expr(t, 0);
      const [, from, bytes] = this.pick(choices);
      this.expr(from, d);
      this.code.push(...bytes);
    } else if (r < 0.8) {
      this.expr(t, d);
      this.expr(t, d);
      this.expr("i32", d);
      this.code.push(SELECT);
    } else if (r < 0.83) {
      this.expr("i32", d);
      this.code.push(IF, VALTYPE[t]);
      this.expr(t, d);
      this.code.push(ELSE);
      this.expr(t, d);
      this.code.push(op.end);
    } else if (r < 0.86) {
      this.branches(t, d);
    } else if (r < 0.89 && this.mayCall && this.leaves.some((l) => l.type === t)) {
      // A call returning a value (or a trap from inside the callee); or a call returning two
      // values, combined by a binary operator.
      const pairs = this.pairs.filter((l) => l.type === t);
      if (pairs.length > 0 && this.rnd() < 0.4) {
        this.code.push(op.call, ...uleb(this.pick(pairs).index), this.pick(BIN[t].filter((c) => !COPYSIGN.has(c))));
      } else {
        this.code.push(op.call, ...uleb(this.pick(this.leaves.filter((l) => l.type === t)).index));
      }
    } else if (r < 0.92) {
      this.expr(t, d);
      this.code.push(LOCAL_TEE, this.localOf(t));
    } else {
      const load = this.pick(LOADS[t]);
      const offset = this.address();
      this.code.push(load.code, Math.log2(load.size), ...uleb(offset));
      // Memory may hold any bits, e.g. a signalling NaN that V8 cannot hand to JavaScript
      // unchanged; adding +0 makes every NaN an arithmetic one (and -0 into +0).
      if (t === "f32" || t === "f64") {
        this.code.push(t === "f32" ? op.f32_const : op.f64_const, ...floatBytes(t, 0), t === "f32" ? 0x92 : 0xa0);
      }
    }
  }

  /** Branches carrying a value: br_if out of a block, or br_table to one of two blocks. */
  private branches(t: NumType, d: number): void {
    if (this.rnd() < 0.5) {
      // block (result t) e1 cond br_if 0 drop e2 end
      this.code.push(op.block, VALTYPE[t]);
      this.expr(t, d);
      this.expr("i32", d);
      this.code.push(op.br_if, 0, op.drop);
      this.expr(t, d);
      this.code.push(op.end);
    } else {
      // block (result t) block (result t) e1 index br_table [0 1] default end e3 binop end
      this.code.push(op.block, VALTYPE[t], op.block, VALTYPE[t]);
      this.expr(t, d);
      this.expr("i32", d);
      this.code.push(BR_TABLE, 2, 0, 1, this.rnd() < 0.5 ? 0 : 1, op.end);
      this.expr(t, d);
      this.code.push(this.pick(BIN[t].filter((c) => !COPYSIGN.has(c))), op.end);
    }
  }

  /** Replaces a NaN on the stack by +0, so no NaN's undetermined bits become observable. */
  private denan(t: FloatType): void {
    const tmp = LOCAL_SLOTS[t][1];
    this.code.push(LOCAL_TEE, tmp, t === "f32" ? op.f32_const : op.f64_const, ...floatBytes(t, 0));
    this.code.push(op.local_get, tmp, op.local_get, tmp, FEQ[t], SELECT);
  }

  private statement(depth: number): void {
    const t = this.pick(this.types);
    if (this.rnd() < 0.75) {
      this.expr(t, depth);
      this.code.push(LOCAL_SET, this.localOf(t));
    } else {
      const store = this.pick(STORES[t]);
      const offset = this.address();
      this.expr(t, depth);
      // A stored NaN's bits are not determined, and integer loads would observe them.
      if (t === "f32" || t === "f64") this.denan(t);
      this.code.push(store.code, Math.log2(store.size), ...uleb(offset));
    }
  }

  /** A leaf returning two values of type t. */
  pairBody(t: NumType): number[] {
    this.code = [];
    this.mayCall = false;
    for (const lt of this.types) {
      for (const l of LOCAL_SLOTS[lt]) {
        this.constant(lt);
        this.code.push(LOCAL_SET, l);
      }
    }
    this.expr(t, 3);
    this.expr(t, 3);
    return this.code;
  }

  body(result: NumType, mayCall: boolean): number[] {
    this.code = [];
    this.mayCall = mayCall;
    for (const t of this.types) {
      for (const l of LOCAL_SLOTS[t]) {
        this.constant(t);
        this.code.push(LOCAL_SET, l);
      }
    }
    const statements = 1 + Math.floor(this.rnd() * 3);
    if (this.rnd() < 0.5) {
      // A counted loop: the counter (local 6) runs down from a small number.
      this.code.push(op.i32_const, ...sleb(1 + Math.floor(this.rnd() * 5)), LOCAL_SET, 6);
      this.code.push(op.loop, op.void);
      for (let i = 0; i < statements; i++) this.statement(3);
      this.code.push(op.local_get, 6, op.i32_const, 1, 0x6b /* i32.sub */, LOCAL_TEE, 6, op.br_if, 0, op.end);
    } else {
      for (let i = 0; i < statements; i++) this.statement(3);
    }
    this.expr(result, 4);
    return this.code;
  }
}

interface Expectation {
  field: string;
  result?: { type: NumType; value: string };
  trap?: string;
}

/** The wast2json form of a value V8 returned (floats as their bits, NaN as a class). */
function expected(t: NumType, v: number | bigint): { type: NumType; value: string } {
  if (t === "i32") return { type: t, value: String(Number(v) >>> 0) };
  if (t === "i64") return { type: t, value: BigInt.asUintN(64, v as bigint).toString() };
  if (Number.isNaN(v)) return { type: t, value: "nan:arithmetic" };
  const b = Buffer.alloc(8);
  if (t === "f32") {
    b.writeFloatLE(Number(v));
    return { type: t, value: String(b.readUInt32LE(0)) };
  }
  b.writeDoubleLE(Number(v));
  return { type: t, value: b.readBigUInt64LE(0).toString() };
}

function generate(seed: number, types: NumType[], count: number): { bytes: Uint8Array<ArrayBuffer>; expectations: Expectation[] } {
  const rnd = prng(seed);
  const gen = new FunctionGen(rnd, types);
  const b = new ModuleBuilder();
  const results: NumType[] = [];
  for (let i = 0; i < count; i++) {
    if (i === LEAVES) {
      // Multi-value leaves, not exported: callers observe them.
      for (let k = 0; k < PAIRS; k++) {
        const t = types[Math.floor(rnd() * types.length)];
        gen.pairs.push({ type: t, index: b.func([], [t, t], gen.pairBody(t), LOCALS) });
      }
    }
    const t = types[Math.floor(rnd() * types.length)];
    results.push(t);
    const index = b.func([], [t], gen.body(t, i >= LEAVES), LOCALS);
    b.exportFunc(`f${i}`, index);
    if (i < LEAVES) gen.leaves.push({ type: t, index });
  }
  b.setMemory(1, 1);
  const bytes = b.build();
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  const expectations: Expectation[] = results.map((t, i) => {
    const field = `f${i}`;
    try {
      return { field, result: expected(t, (instance.exports[field] as () => number | bigint)()) };
    } catch (e) {
      if (!(e instanceof WebAssembly.RuntimeError)) throw e;
      return { field, trap: e.message };
    }
  });
  return { bytes, expectations };
}

/** Writes the generated module and its script into a fresh folder; returns the script path. */
export function writeDifferentialScript(seed: number, types: NumType[], count: number): { script: string; functions: number; traps: number } {
  const { bytes, expectations } = generate(seed, types, count);
  const dir = mkdtempSync(join(tmpdir(), "liquid-diff-"));
  writeFileSync(join(dir, "m.wasm"), bytes);
  const commands = [
    { type: "module", line: 1, filename: "m.wasm" },
    ...expectations.map((e, i) =>
      e.result
        ? { type: "assert_return", line: i + 2, action: { type: "invoke", field: e.field, args: [] }, expected: [e.result] }
        : { type: "assert_trap", line: i + 2, action: { type: "invoke", field: e.field, args: [] }, text: e.trap, expected: [] },
    ),
  ];
  const script = join(dir, `seed${seed}.json`);
  writeFileSync(script, JSON.stringify({ source_filename: `seed ${seed} (${types.join(",")})`, commands }));
  return { script, functions: expectations.length, traps: expectations.filter((e) => e.trap).length };
}

/** The two program families the tests generate. */
export const PROGRAM_KINDS: [string, NumType[]][] = [
  ["integer", ["i32", "i64"]],
  ["float and conversion", ["i32", "i64", "f32", "f64"]],
];
