/**
 * Differential test of the engine against V8: random but valid integer programs (expression
 * trees over i32/i64 with locals, if/else, select, counted loops, loads and stores) are run in
 * Node's WebAssembly, whose results and traps become the expectations of a wast2json-style
 * script that `liquid-vm --spectest` must pass completely. This reaches combinations the spec
 * suite does not spell out — exactly where an optimizing translator (fused compare-and-branch,
 * register operands, address folding) can go wrong.
 *
 * Deterministic: fixed seeds. LIQUID_DIFF_SEEDS=1,2,3 and LIQUID_DIFF_FUNCS=N explore more.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, expect, test } from "vitest";
import { liquidVmBuilt, LIQUID_VM, runVmAsync } from "../helpers/liquid-vm.js";
import { ModuleBuilder, op, sleb, uleb, type ValType } from "../helpers/wasm-builder.js";

const SEEDS = (process.env.LIQUID_DIFF_SEEDS ?? "1,2,3,4").split(",").map(Number);
const FUNCS = Number(process.env.LIQUID_DIFF_FUNCS ?? 150);

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

type IntType = "i32" | "i64";

// Opcodes by shape (WebAssembly core spec, section 5.4).
const BIN: Record<IntType, number[]> = {
  i32: range(0x6a, 0x78), // add .. rotr
  i64: range(0x7c, 0x8a),
};
const UN: Record<IntType, number[]> = { i32: [0x67, 0x68, 0x69, 0xc0, 0xc1], i64: [0x79, 0x7a, 0x7b, 0xc2, 0xc3, 0xc4] };
const CMP: Record<IntType, number[]> = { i32: range(0x46, 0x4f), i64: range(0x51, 0x5a) };
const EQZ: Record<IntType, number> = { i32: 0x45, i64: 0x50 };
const LOADS: Record<IntType, { code: number; size: number }[]> = {
  i32: [{ code: 0x28, size: 4 }, { code: 0x2c, size: 1 }, { code: 0x2d, size: 1 }, { code: 0x2e, size: 2 }, { code: 0x2f, size: 2 }],
  i64: [{ code: 0x29, size: 8 }, { code: 0x30, size: 1 }, { code: 0x33, size: 2 }, { code: 0x34, size: 4 }, { code: 0x35, size: 4 }],
};
const STORES: Record<IntType, { code: number; size: number }[]> = {
  i32: [{ code: 0x36, size: 4 }, { code: 0x3a, size: 1 }, { code: 0x3b, size: 2 }],
  i64: [{ code: 0x37, size: 8 }, { code: 0x3c, size: 1 }, { code: 0x3e, size: 4 }],
};
const LOCAL_SET = 0x21;
const LOCAL_TEE = 0x22;
const SELECT = 0x1b;
const IF = 0x04;
const ELSE = 0x05;
const VALTYPE = { i32: 0x7f, i64: 0x7e };

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

const I32_EDGES = [0, 1, -1, 2, 31, 32, 0x7fffffff, -0x80000000, 0x12345678, -7, 255, 65535, 65536];
const I64_EDGES = [0n, 1n, -1n, 63n, 64n, 0x7fffffffffffffffn, -0x8000000000000000n, 0x123456789abcdefn, -7n, 0xffffffffn];

/** Generates one function: locals 0-3 are i32, 4-5 i64, 6 the loop counter. */
class FunctionGen {
  private code: number[] = [];
  constructor(private rnd: () => number) {}

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)];
  }

  private constant(t: IntType): void {
    if (t === "i32") {
      const v = this.rnd() < 0.5 ? this.pick(I32_EDGES) : (Math.floor(this.rnd() * 2 ** 32) | 0);
      this.code.push(op.i32_const, ...sleb(v));
    } else {
      const v = this.rnd() < 0.5 ? this.pick(I64_EDGES) : BigInt.asIntN(64, BigInt(Math.floor(this.rnd() * 2 ** 32)) * 0x100000007n);
      this.code.push(op.i64_const, ...sleb(v));
    }
  }

  private localOf(t: IntType): number {
    return t === "i32" ? Math.floor(this.rnd() * 4) : 4 + Math.floor(this.rnd() * 2);
  }

  /** An address in or just past the 1-page memory: (expr & 0xffff) + offset. */
  private address(): number {
    this.expr("i32", 1);
    this.code.push(op.i32_const, ...sleb(0xffff), 0x71 /* i32.and */);
    return this.rnd() < 0.97 ? Math.floor(this.rnd() * 16) : 65530 + Math.floor(this.rnd() * 8);
  }

  expr(t: IntType, depth: number): void {
    const r = this.rnd();
    if (depth <= 0 || r < 0.2) {
      if (this.rnd() < 0.5) this.constant(t);
      else this.code.push(op.local_get, this.localOf(t));
      return;
    }
    const d = depth - 1;
    const other: IntType = this.rnd() < 0.5 ? "i32" : "i64";
    if (r < 0.5) {
      this.expr(t, d);
      this.expr(t, d);
      this.code.push(this.pick(BIN[t]));
    } else if (r < 0.58) {
      this.expr(t, d);
      this.code.push(this.pick(UN[t]));
    } else if (r < 0.66 && t === "i32") {
      this.expr(other, d);
      this.expr(other, d);
      this.code.push(this.pick(CMP[other]));
    } else if (r < 0.7 && t === "i32") {
      this.expr(other, d);
      this.code.push(EQZ[other]);
    } else if (r < 0.74) {
      // Conversions between the two widths.
      if (t === "i32") {
        this.expr("i64", d);
        this.code.push(0xa7 /* i32.wrap_i64 */);
      } else {
        this.expr("i32", d);
        this.code.push(this.rnd() < 0.5 ? 0xac : 0xad /* i64.extend_i32_s/u */);
      }
    } else if (r < 0.8) {
      this.expr(t, d);
      this.expr(t, d);
      this.expr("i32", d);
      this.code.push(SELECT);
    } else if (r < 0.86) {
      this.expr("i32", d);
      this.code.push(IF, VALTYPE[t]);
      this.expr(t, d);
      this.code.push(ELSE);
      this.expr(t, d);
      this.code.push(op.end);
    } else if (r < 0.92) {
      this.expr(t, d);
      this.code.push(LOCAL_TEE, this.localOf(t));
    } else {
      const load = this.pick(LOADS[t]);
      const offset = this.address();
      this.code.push(load.code, Math.log2(load.size), ...uleb(offset));
    }
  }

  private statement(depth: number): void {
    const t: IntType = this.rnd() < 0.6 ? "i32" : "i64";
    if (this.rnd() < 0.75) {
      this.expr(t, depth);
      this.code.push(LOCAL_SET, this.localOf(t));
    } else {
      const store = this.pick(STORES[t]);
      const offset = this.address();
      this.expr(t, depth);
      this.code.push(store.code, Math.log2(store.size), ...uleb(offset));
    }
  }

  body(result: IntType): number[] {
    this.code = [];
    for (let l = 0; l < 6; l++) {
      this.constant(l < 4 ? "i32" : "i64");
      this.code.push(LOCAL_SET, l);
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
  result?: { type: IntType; value: string };
  trap?: string;
}

function generate(seed: number): { bytes: Uint8Array; expectations: Expectation[] } {
  const rnd = prng(seed);
  const gen = new FunctionGen(rnd);
  const b = new ModuleBuilder();
  const types: IntType[] = [];
  for (let i = 0; i < FUNCS; i++) {
    const t: IntType = rnd() < 0.5 ? "i32" : "i64";
    types.push(t);
    const locals: ValType[] = ["i32", "i32", "i32", "i32", "i64", "i64", "i32"];
    b.exportFunc(`f${i}`, b.func([], [t], gen.body(t), locals));
  }
  b.setMemory(1, 1);
  const bytes = b.build();
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  const expectations: Expectation[] = types.map((t, i) => {
    const field = `f${i}`;
    try {
      const v = (instance.exports[field] as () => number | bigint)();
      const bits = t === "i32" ? BigInt(Number(v) >>> 0) : BigInt.asUintN(64, v as bigint);
      return { field, result: { type: t, value: bits.toString() } };
    } catch (e) {
      if (!(e instanceof WebAssembly.RuntimeError)) throw e;
      return { field, trap: e.message };
    }
  });
  return { bytes, expectations };
}

beforeAll(() => {
  if (!liquidVmBuilt()) throw new Error(`liquid-vm was not built at ${LIQUID_VM}`);
});

test.each(SEEDS)("random integer programs agree with V8 (seed %i)", async (seed) => {
  const { bytes, expectations } = generate(seed);
  // The generator must reach both outcomes, or the comparison proves little.
  expect(expectations.some((e) => e.trap)).toBe(true);
  expect(expectations.filter((e) => e.result).length).toBeGreaterThan(FUNCS / 2);
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
  writeFileSync(join(dir, `seed${seed}.json`), JSON.stringify({ source_filename: `seed ${seed}`, commands }));
  const r = await runVmAsync(["--spectest", join(dir, `seed${seed}.json`)]);
  const failures = r.stdout.split("\n").filter((l) => l.includes(".json:"));
  // On a mismatch, the module and script stay in the temporary folder for reproduction.
  expect(failures.slice(0, 10), `module and script kept in ${dir}`).toEqual([]);
  expect(r.stdout.trim().split("\n").at(-1)).toBe(`${FUNCS + 1} passed, 0 failed, 0 skipped`);
});
