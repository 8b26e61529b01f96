/**
 * The liquid-vm command-line contract: result formats, exit codes, stub imports, fuel, stats,
 * bad-input messages and the --spectest script mode, on small modules built in the test.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { liquidVmBuilt, LIQUID_VM, runVm, tempFile } from "../helpers/liquid-vm.js";
import { f32Bytes, f64Bytes, ModuleBuilder, op, sleb, uleb } from "../helpers/wasm-builder.js";

/** A module exercising every value type, multi-value, traps and an endless loop. */
function arithmeticModule(): string {
  const b = new ModuleBuilder();
  b.exportFunc("add", b.func(["i32", "i32"], ["i32"], [op.local_get, 0, op.local_get, 1, op.i32_add]));
  b.exportFunc("neg_i64", b.func([], ["i64"], [op.i64_const, ...sleb(-7n)]));
  b.exportFunc("big_i64", b.func([], ["i64"], [op.i64_const, ...sleb(-9223372036854775808n)]));
  b.exportFunc("one_and_half_f32", b.func([], ["f32"], [op.f32_const, ...f32Bytes(0x3fc00000)]));
  b.exportFunc("one_and_half_f64", b.func([], ["f64"], [op.f64_const, ...f64Bytes(0x3ff8000000000000n)]));
  b.exportFunc("small_f32", b.func([], ["f32"], [op.f32_const, ...f32Bytes(0x00000001)]));
  b.exportFunc("id_f32", b.func(["f32"], ["f32"], [op.local_get, 0]));
  b.exportFunc("id_f64", b.func(["f64"], ["f64"], [op.local_get, 0]));
  b.exportFunc("id_i64", b.func(["i64"], ["i64"], [op.local_get, 0]));
  b.exportFunc("pair", b.func([], ["i32", "i64"], [op.i32_const, ...sleb(-1), op.i64_const, ...sleb(42)]));
  b.exportFunc("nothing", b.func([], [], []));
  b.exportFunc("crash", b.func([], [], [op.unreachable]));
  b.exportFunc("div", b.func(["i32", "i32"], ["i32"], [op.local_get, 0, op.local_get, 1, op.i32_div_s]));
  b.exportFunc("load", b.func(["i32"], ["i32"], [op.local_get, 0, op.i32_load, 2, 0]));
  b.exportFunc("forever", b.func([], [], [op.loop, op.void, op.br, 0, op.end]));
  // Calls itself forever: ends on the engine's call-depth limit, not on the C stack.
  b.exportFunc("recurse", b.func([], [], [op.call, ...uleb(b.nextFuncIndex())]));
  b.exportFunc("id_externref", b.func(["externref"], ["externref"], [op.local_get, 0]));
  b.setMemory(1, 1).exportMemory("memory");
  return tempFile("arith.wasm", b.build());
}

/** A module with function imports that only --stub-imports can satisfy. */
function importingModule(): string {
  const b = new ModuleBuilder();
  const log = b.importFunc("env", "log", ["i32", "f32"], []);
  const get = b.importFunc("env", "get", [], ["i32"]);
  const wide = b.importFunc("host", "wide", ["i64", "f64"], ["i64", "f64"]);
  const main = b.func(
    [],
    ["i32"],
    [
      op.i32_const, ...sleb(7), op.f32_const, ...f32Bytes(0x3fc00000), op.call, log,
      op.i64_const, ...sleb(-3), op.f64_const, ...f64Bytes(0x8000000000000000n), op.call, wide, op.drop, op.drop,
      op.call, get, op.i32_const, ...sleb(1), op.i32_add,
    ],
  );
  b.exportFunc("main", main);
  return tempFile("imports.wasm", b.build());
}

let arith = "";
let imports = "";

beforeAll(() => {
  if (!liquidVmBuilt()) throw new Error(`liquid-vm was not built at ${LIQUID_VM}`);
  arith = arithmeticModule();
  imports = importingModule();
});

describe("liquid-vm --invoke", () => {
  test("prints i32 results as signed decimal", () => {
    const r = runVm([arith, "--invoke", "add", "i32:2", "i32:-5"]);
    expect(r).toMatchObject({ status: 0, stdout: "i32:-3\n" });
    // Unsigned spellings of the same bits are accepted and print signed.
    expect(runVm([arith, "--invoke", "add", "i32:4294967295", "i32:0"]).stdout).toBe("i32:-1\n");
  });

  test("prints i64 results as signed decimal, including the minimum", () => {
    expect(runVm([arith, "--invoke", "neg_i64"]).stdout).toBe("i64:-7\n");
    expect(runVm([arith, "--invoke", "big_i64"]).stdout).toBe("i64:-9223372036854775808\n");
    expect(runVm([arith, "--invoke", "id_i64", "i64:18446744073709551615"]).stdout).toBe("i64:-1\n");
  });

  test("prints floats as zero-padded lowercase raw bits", () => {
    expect(runVm([arith, "--invoke", "one_and_half_f32"]).stdout).toBe("f32:0x3fc00000\n");
    expect(runVm([arith, "--invoke", "one_and_half_f64"]).stdout).toBe("f64:0x3ff8000000000000\n");
    expect(runVm([arith, "--invoke", "small_f32"]).stdout).toBe("f32:0x00000001\n");
  });

  test("passes float arguments bit-exactly (NaN payloads and -0 survive)", () => {
    expect(runVm([arith, "--invoke", "id_f32", "f32:0x7FA00001"]).stdout).toBe("f32:0x7fa00001\n");
    expect(runVm([arith, "--invoke", "id_f64", "f64:0x8000000000000000"]).stdout).toBe("f64:0x8000000000000000\n");
    expect(runVm([arith, "--invoke", "id_f64", "f64:0x1"]).stdout).toBe("f64:0x0000000000000001\n");
  });

  test("prints each result of a multi-value function on its own line", () => {
    expect(runVm([arith, "--invoke", "pair"])).toMatchObject({ status: 0, stdout: "i32:-1\ni64:42\n" });
    expect(runVm([arith, "--invoke", "nothing"])).toMatchObject({ status: 0, stdout: "" });
  });

  test("a trap prints 'trap: MESSAGE' on stderr and exits 3", () => {
    const crash = runVm([arith, "--invoke", "crash"]);
    expect(crash.status).toBe(3);
    expect(crash.stdout).toBe("");
    expect(crash.stderr).toMatch(/^trap: .*unreachable/);
    const div = runVm([arith, "--invoke", "div", "i32:1", "i32:0"]);
    expect(div.status).toBe(3);
    expect(div.stderr).toMatch(/^trap: .*divide by zero/);
    const oob = runVm([arith, "--invoke", "load", "i32:65535"]);
    expect(oob.status).toBe(3);
    expect(oob.stderr).toMatch(/^trap: .*out of bounds memory access/);
    expect(runVm([arith, "--invoke", "load", "i32:65532"])).toMatchObject({ status: 0, stdout: "i32:0\n" });
  });

  test("endless recursion traps cleanly with 'call stack exhausted'", () => {
    const r = runVm([arith, "--invoke", "recurse"]);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/^trap: .*call stack exhausted/);
  });

  test("externref values round-trip as numbered host references", () => {
    expect(runVm([arith, "--invoke", "id_externref", "externref:5"])).toMatchObject({ status: 0, stdout: "externref:5\n" });
    expect(runVm([arith, "--invoke", "id_externref", "externref:null"]).stdout).toBe("externref:null\n");
    const bad = runVm([arith, "--invoke", "id_externref", "funcref:null"]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("argument 1 of 'id_externref' must be externref");
  });

  test("a trap in the start function exits 3", () => {
    const b = new ModuleBuilder();
    b.setStart(b.func([], [], [op.unreachable]));
    b.exportFunc("f", b.func([], [], []));
    const r = runVm([tempFile("start.wasm", b.build()), "--invoke", "f"]);
    expect(r.status).toBe(3);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^trap: .*unreachable/);
  });

  test("--fuel stops an endless loop with exit status 4", () => {
    const r = runVm([arith, "--invoke", "forever", "--fuel", "10000"]);
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(/^fuel: exhausted after \d+ units \(--fuel 10000\)/);
    // Enough fuel lets a finite call finish normally.
    expect(runVm([arith, "--invoke", "add", "i32:1", "i32:1", "--fuel", "5"])).toMatchObject({ status: 0, stdout: "i32:2\n" });
    // Recursion is metered too: every call costs a unit.
    const deep = runVm([arith, "--invoke", "recurse", "--fuel", "50"]);
    expect(deep.status).toBe(4);
    expect(deep.stderr).toMatch(/^fuel: exhausted after 50 units \(--fuel 50\)/);
  });

  test("--stats reports time and peak engine memory on stderr", () => {
    const r = runVm([arith, "--invoke", "add", "i32:1", "i32:2", "--stats"]);
    expect(r.stdout).toBe("i32:3\n");
    expect(r.stderr).toMatch(/stats: load [\d.]+ ms, instantiate [\d.]+ ms, call [\d.]+ ms/);
    expect(r.stderr).toMatch(/stats: call cpu [\d.]+ ms/);
    const peak = Number(/stats: peak engine memory (\d+) bytes/.exec(r.stderr)?.[1]);
    // The module declares one 64 KiB page, so the engine must have held at least that.
    expect(peak).toBeGreaterThanOrEqual(65536);
  });
});

describe("liquid-vm --stub-imports", () => {
  test("prints each imported call with its arguments and returns zeros", () => {
    const r = runVm([imports, "--stub-imports", "--invoke", "main"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(
      "call env.log(i32:7, f32:0x3fc00000)\n" +
        "call host.wide(i64:-3, f64:0x8000000000000000)\n" +
        "call env.get()\n" +
        "i32:1\n",
    );
  });

  test("spectest imports are always available and print their calls", () => {
    const b = new ModuleBuilder();
    const print = b.importFunc("spectest", "print_i32_f32", ["i32", "f32"], []);
    b.exportFunc("main", b.func([], [], [op.i32_const, ...sleb(5), op.f32_const, ...f32Bytes(0x3fc00000), op.call, print]));
    const r = runVm([tempFile("spectest.wasm", b.build()), "--invoke", "main"]);
    expect(r).toMatchObject({ status: 0, stdout: "call spectest.print_i32_f32(i32:5, f32:0x3fc00000)\n", stderr: "" });
  });

  test("without it, a missing import is an error with exit status 2", () => {
    const r = runVm([imports, "--invoke", "main"]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^error: .*env/);
    expect(r.stderr).toContain("--stub-imports");
  });
});

describe("liquid-vm bad input", () => {
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

  test.each([
    ["empty file", []],
    ["wrong magic", [0x00, 0x61, 0x73, 0x6e, 0x01, 0x00, 0x00, 0x00]],
    ["unknown version", [0x00, 0x61, 0x73, 0x6d, 0x02, 0x00, 0x00, 0x00]],
    ["truncated section", [...header, 0x01, 0x05, 0x01, 0x60]],
    ["section size beyond the end", [...header, 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]],
    ["text instead of binary", [...Buffer.from("(module)")]],
  ])("malformed module (%s) prints 'error: ...' and exits 2", (_name, bytes) => {
    const file = tempFile("bad.wasm", Uint8Array.from(bytes as number[]));
    const r = runVm([file, "--invoke", "f"]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^error: \S/);
  });

  test("invalid module (type mismatch) prints 'error: ...' and exits 2", () => {
    const b = new ModuleBuilder();
    // Returns an i64 where the type says i32.
    b.exportFunc("f", b.func([], ["i32"], [op.i64_const, 0]));
    const r = runVm([tempFile("invalid.wasm", b.build()), "--invoke", "f"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error: .*type mismatch/);
  });

  test("a valid module without --invoke only loads and instantiates", () => {
    expect(runVm([arith])).toMatchObject({ status: 0, stdout: "", stderr: "" });
  });

  test("usage errors exit 1 and say what is wrong", () => {
    const unknown = runVm([arith, "--invoke", "nope"]);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/^error: no export named 'nope'/);

    const memory = runVm([arith, "--invoke", "memory"]);
    expect(memory.status).toBe(1);
    expect(memory.stderr).toBe("error: export 'memory' is a memory, not a function\n");

    const count = runVm([arith, "--invoke", "add", "i32:1"]);
    expect(count.status).toBe(1);
    expect(count.stderr).toContain("error: function 'add' takes 2 arguments (i32, i32), got 1");

    const syntax = runVm([arith, "--invoke", "add", "i32:abc", "i32:1"]);
    expect(syntax.status).toBe(1);
    expect(syntax.stderr).toMatch(/^error: bad argument 'i32:abc'/);

    const range = runVm([arith, "--invoke", "add", "i32:4294967296", "i32:1"]);
    expect(range.status).toBe(1);
    expect(range.stderr).toContain("32-bit");

    const floatDecimal = runVm([arith, "--invoke", "id_f32", "f32:1.5"]);
    expect(floatDecimal.status).toBe(1);
    expect(floatDecimal.stderr).toContain("raw IEEE-754 bits");

    const wrongType = runVm([arith, "--invoke", "add", "i64:1", "i32:1"]);
    expect(wrongType.status).toBe(1);
    expect(wrongType.stderr).toContain("argument 1 of 'add' must be i32");

    const missing = runVm([join(tmpdir(), "does-not-exist.wasm")]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^error: cannot read .*does-not-exist\.wasm/);

    const option = runVm([arith, "--frobnicate"]);
    expect(option.status).toBe(1);
    expect(option.stderr).toContain("unknown option '--frobnicate'");
    expect(option.stderr).toContain("usage: liquid-vm");
  });
});

describe("liquid-vm --spectest", () => {
  /** Writes a wast2json-style script and its module files into a fresh folder. */
  function script(files: Record<string, Uint8Array>, commands: unknown[]): string {
    const dir = mkdtempSync(join(tmpdir(), "liquid-spec-"));
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
    const path = join(dir, "t.json");
    writeFileSync(path, JSON.stringify({ source_filename: "t.wast", commands }));
    return path;
  }

  function adder(): Uint8Array {
    const b = new ModuleBuilder();
    b.exportFunc("add", b.func(["i32", "i32"], ["i32"], [op.local_get, 0, op.local_get, 1, op.i32_add]));
    b.exportFunc("nan", b.func([], ["f32"], [op.f32_const, ...f32Bytes(0x7fc00000)]));
    b.exportFunc("crash", b.func([], [], [op.unreachable]));
    return b.build();
  }

  /** A module that imports spectest.print_i32 and the registered module's `add`. */
  function user(): Uint8Array {
    const b = new ModuleBuilder();
    const print = b.importFunc("spectest", "print_i32", ["i32"], []);
    const add = b.importFunc("math", "add", ["i32", "i32"], ["i32"]);
    b.exportFunc("twice", b.func(["i32"], ["i32"], [op.local_get, 0, op.call, print, op.local_get, 0, op.local_get, 0, op.call, add]));
    return b.build();
  }

  const inv = (field: string, args: { type: string; value: string }[] = [], module?: string) => ({
    type: "invoke",
    field,
    args,
    ...(module ? { module } : {}),
  });
  const i32 = (v: number) => ({ type: "i32", value: String(v >>> 0) });

  test("counts passes, failures and skips and reports each failure with its line", () => {
    const path = script({ "a.wasm": adder(), "u.wasm": user(), "bad.wasm": Uint8Array.from([0, 0x61, 0x73]) }, [
      { type: "module", line: 1, name: "$a", filename: "a.wasm" },
      { type: "assert_return", line: 2, action: inv("add", [i32(2), i32(3)]), expected: [i32(5)] },
      { type: "assert_return", line: 3, action: inv("add", [i32(-1), i32(0)]), expected: [i32(-1)] },
      { type: "assert_return", line: 4, action: inv("nan"), expected: [{ type: "f32", value: "nan:canonical" }] },
      { type: "assert_return", line: 5, action: inv("add", [i32(1), i32(1)]), expected: [i32(3)] },
      { type: "assert_trap", line: 6, action: inv("crash"), text: "unreachable", expected: [] },
      { type: "assert_trap", line: 7, action: inv("add", [i32(0), i32(0)]), text: "unreachable", expected: [] },
      { type: "register", line: 8, name: "$a", as: "math" },
      { type: "module", line: 9, filename: "u.wasm" },
      { type: "assert_return", line: 10, action: inv("twice", [i32(21)]), expected: [i32(42)] },
      { type: "assert_return", line: 11, action: inv("add", [i32(20), i32(1)], "$a"), expected: [i32(21)] },
      { type: "assert_malformed", line: 12, filename: "bad.wasm", text: "unexpected end", module_type: "binary" },
      { type: "assert_malformed", line: 13, filename: "x.wat", text: "unexpected token", module_type: "text" },
      { type: "assert_invalid", line: 14, filename: "a.wasm", text: "type mismatch", module_type: "binary" },
      { type: "assert_unlinkable", line: 15, filename: "u.wasm", text: "unknown import", module_type: "binary" },
    ]);
    const r = runVm(["--spectest", path]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(1);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines.at(-1)).toBe("10 passed, 4 failed, 1 skipped");
    expect(lines).toContain('t.json:5: assert_return: invoke "add" [i32:1, i32:1]: expected [i32:3], got [i32:2]');
    expect(lines).toContain('t.json:7: assert_trap: invoke "add" [i32:0, i32:0]: expected trap "unreachable", got [i32:0]');
    expect(lines.some((l) => l.startsWith("t.json:14: assert_invalid: a.wasm: expected load error"))).toBe(true);
    expect(lines.some((l) => l.startsWith("t.json:15: assert_unlinkable: u.wasm: expected link error"))).toBe(true);
    expect(lines).toHaveLength(5);
  });

  test("checks NaN classes, multi-value results, exhaustion and instantiation traps", () => {
    const b = new ModuleBuilder();
    // 0x7fc00001 is a quiet NaN with a payload: arithmetic, but not canonical.
    b.exportFunc("payload_nan", b.func([], ["f32"], [op.f32_const, ...f32Bytes(0x7fc00001)]));
    b.exportFunc("neg_nan", b.func([], ["f64"], [op.f64_const, ...f64Bytes(0xfff8000000000000n)]));
    b.exportFunc("pair", b.func([], ["i32", "i64"], [op.i32_const, ...sleb(7), op.i64_const, ...sleb(-1)]));
    b.exportFunc("recurse", b.func([], [], [op.call, ...uleb(b.nextFuncIndex())]));
    const trapsAtStart = new ModuleBuilder();
    trapsAtStart.setStart(trapsAtStart.func([], [], [op.unreachable]));
    const path = script({ "n.wasm": b.build(), "s.wasm": trapsAtStart.build() }, [
      { type: "module", line: 1, filename: "n.wasm" },
      { type: "assert_return", line: 2, action: inv("payload_nan"), expected: [{ type: "f32", value: "nan:arithmetic" }] },
      { type: "assert_return", line: 3, action: inv("payload_nan"), expected: [{ type: "f32", value: "nan:canonical" }] },
      { type: "assert_return", line: 4, action: inv("neg_nan"), expected: [{ type: "f64", value: "nan:canonical" }] },
      { type: "assert_return", line: 5, action: inv("pair"), expected: [i32(7), { type: "i64", value: "18446744073709551615" }] },
      { type: "assert_return", line: 6, action: inv("pair"), expected: [i32(7)] },
      { type: "assert_exhaustion", line: 7, action: inv("recurse"), text: "call stack exhausted", expected: [] },
      { type: "assert_uninstantiable", line: 8, filename: "s.wasm", text: "unreachable", module_type: "binary" },
      { type: "assert_trap", line: 9, filename: "s.wasm", text: "unreachable" },
      { type: "assert_return", line: 10, action: inv("missing"), expected: [] },
    ]);
    const r = runVm(["--spectest", path]);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines.at(-1)).toBe("6 passed, 4 failed, 0 skipped");
    expect(lines).toContain('t.json:3: assert_return: invoke "payload_nan" []: expected [f32:nan:canonical], got [f32:0x7fc00001]');
    expect(lines).toContain('t.json:6: assert_return: invoke "pair" []: expected [i32:7], got [i32:7, i64:-1]');
    expect(lines).toContain("t.json:9: assert_trap: action without type or field");
    expect(lines).toContain("t.json:10: assert_return: invoke \"missing\": no export named 'missing'");
  });

  test("--fuel gives every action a budget; running out fails only that command", () => {
    const b = new ModuleBuilder();
    b.exportFunc("forever", b.func([], [], [op.loop, op.void, op.br, 0, op.end]));
    b.exportFunc("one", b.func([], ["i32"], [op.i32_const, 1]));
    const path = script({ "f.wasm": b.build() }, [
      { type: "module", line: 1, filename: "f.wasm" },
      { type: "assert_return", line: 2, action: inv("forever"), expected: [] },
      { type: "assert_return", line: 3, action: inv("one"), expected: [i32(1)] },
      { type: "assert_trap", line: 4, action: inv("forever"), text: "unreachable", expected: [] },
      { type: "assert_return", line: 5, action: inv("one"), expected: [i32(1)] },
    ]);
    const r = runVm(["--spectest", path, "--fuel", "1000"]);
    expect(r.stdout).toBe(
      't.json:2: assert_return: invoke "forever" []: expected a result, got fuel exhausted\n' +
        't.json:4: assert_trap: invoke "forever" []: expected trap "unreachable", got fuel exhausted\n' +
        "3 passed, 2 failed, 0 skipped\n",
    );
  });

  test("runs several scripts and sums their totals", () => {
    const one = script({ "a.wasm": adder() }, [{ type: "module", line: 1, filename: "a.wasm" }]);
    const two = script({ "a.wasm": adder() }, [
      { type: "module", line: 1, filename: "a.wasm" },
      { type: "assert_return", line: 2, action: inv("add", [i32(1), i32(2)]), expected: [i32(3)] },
      { type: "assert_malformed", line: 3, filename: "x.wat", text: "unexpected token", module_type: "text" },
    ]);
    expect(runVm(["--spectest", one, two])).toMatchObject({ status: 0, stdout: "3 passed, 0 failed, 1 skipped\n" });
  });

  test("a script that all passes exits 0", () => {
    const path = script({ "a.wasm": adder() }, [
      { type: "module", line: 1, filename: "a.wasm" },
      { type: "assert_return", line: 2, action: inv("add", [i32(2), i32(3)]), expected: [i32(5)] },
    ]);
    expect(runVm(["--spectest", path])).toMatchObject({ status: 0, stdout: "2 passed, 0 failed, 0 skipped\n" });
  });

  test("an unreadable or non-JSON script is an error", () => {
    const notJson = tempFile("broken.json", "{\"commands\": [");
    const r = runVm(["--spectest", notJson]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: .*broken\.json is not valid JSON: line 1: unexpected end of input/);
    const noCommands = runVm(["--spectest", tempFile("other.json", "{\"x\": 1}")]);
    expect(noCommands.status).toBe(1);
    expect(noCommands.stderr).toContain('other.json is not a wast2json script: line 1: no member "commands"');
    // Commands stream one at a time: those before a syntax error still run and count.
    const truncated = script({ "a.wasm": adder() }, []);
    writeFileSync(truncated, '{"commands": [\n {"type": "module", "line": 1, "filename": "a.wasm"},\n {"type": ');
    const partial = runVm(["--spectest", truncated]);
    expect(partial.status).toBe(1);
    expect(partial.stdout).toBe("1 passed, 0 failed, 0 skipped\n");
    expect(partial.stderr).toMatch(/t\.json is not valid JSON: line 3: unexpected end of input/);
  });
});
