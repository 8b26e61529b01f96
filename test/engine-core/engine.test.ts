import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { POSIX_BUILD, ROOT } from "../helpers/native-build.js";

// The engine's own C unit tests (firmware/engine/tests/engine_tests.c), built by the global
// setup with ASan+UBSan, plus the properties only visible from outside: the generated test
// modules are fresh, snapshots restore across builds, and the library fits a Cortex-M4.
const TESTS = join(POSIX_BUILD, "firmware", "engine", "liquid_engine_tests");
const work = mkdtempSync(join(tmpdir(), "lq-engine-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function runTests(args: string[] = []) {
  return spawnSync(TESTS, args, { encoding: "utf8", env: { ...process.env, ASAN_OPTIONS: "detect_leaks=1" } });
}

describe("engine C unit tests", () => {
  const run = runTests();
  const lines = run.stdout.split("\n").filter(Boolean);

  it("all pass under ASan/UBSan with nothing leaked", () => {
    expect(run.stderr).toBe("");
    expect(lines.filter((l) => l.startsWith("FAIL"))).toEqual([]);
    expect(run.status).toBe(0);
    expect(lines.at(-1)).toBe("ALL OK");
  });

  it.each([
    "rejects huge count without allocating",
    "rejects over-long LEB128",
    "host trap message reaches the embedder",
    "deep recursion is a clean trap",
    "imported mutable global is shared",
    "out-of-fuel call resumes to the right result",
    "one unit of fuel per loop iteration",
    "suspended at every call, resumed to the right result",
    "restored instance behaves like the original",
    "corrupt or truncated snapshots are rejected with a message",
    "a rejected snapshot leaves the instance unchanged",
    "snapshot into a caller buffer, with the size needed when too small",
    "everything returned to the arena",
    "arena exhaustion is an error, not a crash",
  ])("covers: %s", (name) => {
    expect(lines).toContain(`ok ${name}`);
  });

  it("a fresh one-page instance snapshots to a few hundred bytes", () => {
    const info = lines.find((l) => l.startsWith("info fresh-snapshot-bytes "));
    expect(info).toBeDefined();
    const bytes = Number(info!.split(" ")[2]);
    expect(bytes).toBeGreaterThan(56);
    expect(bytes).toBeLessThan(300);
  });
});

describe("snapshot files", () => {
  it("restore in a separate process reproduces the state", () => {
    const file = join(work, "state.lqsn");
    const w = runTests(["snapshot-write", file]);
    expect(w.status, w.stdout).toBe(0);
    const c = runTests(["snapshot-check", file]);
    expect(c.status, c.stdout).toBe(0);
    expect(c.stdout.trim()).toBe(
      "count=3 pages=2 mark=90 hello=h wide=300000000 init_after_drop=trap table=4 global=5",
    );
  });

  it("rejects a file that is not a snapshot", () => {
    const c = runTests(["snapshot-check", join(ROOT, "package.json")]);
    expect(c.status).toBe(1);
    expect(c.stdout).toContain("error: snapshot: bad magic");
  });

  it("starts with the LQSN header, version 1, and the module's sha256", () => {
    const file = join(work, "hdr.lqsn");
    expect(runTests(["snapshot-write", file]).status).toBe(0);
    const b = readFileSync(file);
    expect(b.subarray(0, 4).toString("latin1")).toBe("LQSN");
    expect(b.readUInt32LE(4)).toBe(1);
    expect(b.subarray(8, 12).toString("latin1")).toBe("MODL");
    expect(b.readUInt32LE(12)).toBe(56);
  });
});

describe("generated test modules", () => {
  it("test_modules.h matches a fresh run of its generator", () => {
    const header = join(ROOT, "firmware", "engine", "tests", "test_modules.h");
    const before = readFileSync(header, "utf8");
    execFileSync("node", [join(ROOT, "firmware", "engine", "tests", "gen-test-modules.mjs")]);
    expect(readFileSync(header, "utf8")).toBe(before);
  });
});

// The official spec suite, converted once to the line format the microcontroller driver reads.
const SUITE = join(ROOT, "..", "shared", "wasm-spec-testsuite", "json");
const haveSuite = existsSync(SUITE);
let specIndex: string | undefined;
function specLines(): string {
  if (specIndex) return specIndex;
  const scripts = readdirSync(SUITE).map((d) => join(SUITE, d, `${d}.json`)).filter((f) => existsSync(f));
  const out = join(work, "spec-lines");
  execFileSync("node", [join(ROOT, "firmware", "engine", "tests", "spec-lines.mjs"), out, ...scripts]);
  specIndex = join(out, "index.txt");
  return specIndex;
}

describe.skipIf(!haveSuite)("spec suite through the line-format driver (posix, ASan)", () => {
  it("passes every applicable command, like liquid-vm --spectest", () => {
    const run = spawnSync(join(POSIX_BUILD, "firmware", "engine", "liquid_engine_spec_lines"), ["--index", specLines()],
      { encoding: "utf8", env: { ...process.env, ASAN_OPTIONS: "detect_leaks=1" } });
    expect(run.stderr).toBe("");
    expect(run.stdout.split("\n").filter((l) => l.startsWith("FAIL"))).toEqual([]);
    expect(run.stdout.trim().split("\n").at(-1)).toBe("total: pass 27356 fail 0 skip 567");
    expect(run.status).toBe(0);
  }, 120_000);
});

const armGcc = spawnSync("arm-none-eabi-gcc", ["--version"]).status === 0;
const qemu = spawnSync("qemu-system-arm", ["--version"]).status === 0;

describe.skipIf(!armGcc)("Cortex-M4 build", () => {
  const dir = join(work, "arm");
  const elf = join(dir, "firmware", "engine", "liquid_engine_tests_m4.elf");

  it("the engine library builds with -Os and no OS calls, within 40 KB of code", () => {
    execFileSync("cmake", ["-S", ROOT, "-B", dir, `-DCMAKE_TOOLCHAIN_FILE=${join(ROOT, "cmake", "arm-none-eabi.cmake")}`,
      "-DLIQUID_PORT=qemu", "-DCMAKE_BUILD_TYPE=MinSizeRel"], { stdio: "ignore" });
    execFileSync("cmake", ["--build", dir, "-j2", "--target", "liquid_engine", "liquid_engine_tests_m4", "liquid_engine_spec_m4"],
      { stdio: ["ignore", "ignore", "inherit"] });
    const lib = join(dir, "firmware", "engine", "libliquid_engine.a");
    expect(existsSync(lib)).toBe(true);
    const size = execFileSync("arm-none-eabi-size", ["-t", lib], { encoding: "utf8" });
    const total = size.trim().split("\n").at(-1)!.trim().split(/\s+/).map(Number);
    expect(total[0]).toBeLessThan(40 * 1024); // text
    expect(total[1] + total[2]).toBe(0); // no data/bss: all state lives in caller memory
    // nothing from an OS: only memory/string/math helpers and compiler runtime
    const undef = execFileSync("arm-none-eabi-nm", ["-u", lib], { encoding: "utf8" })
      .split("\n").map((l) => l.trim().split(/\s+/).at(-1)).filter(Boolean) as string[];
    const allowed = /^(mem(cpy|move|set|cmp)|strlen|strcmp|(sqrt|ceil|floor|trunc|fabs|copysign)f?|__\w+)$/;
    expect(undef.filter((s) => !allowed.test(s) && !s.startsWith("lq"))).toEqual([]);
  }, 240_000);

  // QEMU mps2-an386 (Cortex-M4F), stdio and files through semihosting.
  function onM4(...args: string[]) {
    const semi = ["enable=on", "target=native", "arg=liquid_engine_tests", ...args.map((a) => `arg=${a}`)].join(",");
    return spawnSync("qemu-system-arm", ["-M", "mps2-an386", "-nographic", "-monitor", "none", "-serial", "none",
      "-kernel", elf, "-semihosting-config", semi], { encoding: "utf8", timeout: 120_000 });
  }

  it.skipIf(!qemu)("the unit tests pass on the Cortex-M4", () => {
    const run = onM4();
    const lines = run.stdout.split("\n").filter(Boolean);
    expect(lines.filter((l) => l.startsWith("FAIL"))).toEqual([]);
    expect(lines.at(-1)).toBe("ALL OK");
    expect(run.status).toBe(0);
  }, 120_000);

  it.skipIf(!qemu || !haveSuite)("the spec suite passes on the Cortex-M4 except memory.grow beyond the board's RAM", () => {
    const index = specLines();
    const spec = join(dir, "firmware", "engine", "liquid_engine_spec_m4.elf");
    const semi = ["enable=on", "target=native", "arg=spec", "arg=--index", `arg=${index}`].join(",");
    const run = spawnSync("qemu-system-arm", ["-M", "mps2-an386", "-nographic", "-monitor", "none", "-serial", "none",
      "-kernel", spec, "-semihosting-config", semi], { encoding: "utf8", timeout: 300_000 });
    const total = run.stdout.trim().split("\n").at(-1);
    expect(total).toBe("total: pass 27351 fail 5 skip 567");
    // the five: growing memory to 20-52 MiB on a board with 4 MiB (limit 40 pages here)
    const failures = run.stdout.split("\n").filter((l) => l.startsWith("FAIL")).sort();
    expect(failures).toEqual([
      "FAIL line 345 return: result 0 is not i32:1", // local_tee: memory.grow 306 pages
      "FAIL line 359 return: result 0 is not i32:1", // call: memory.grow 306 pages
      "FAIL line 45 return: result 0 is not i32:3", // memory_grow: 800 pages
      "FAIL line 48 return: result 0 is not i32:803",
      "FAIL line 603 return: result 0 is not i32:1", // call_indirect: memory.grow 306 pages
    ]);
  }, 300_000);

  it.skipIf(!qemu)("snapshots move between x86-64 and the Cortex-M4 in both directions", () => {
    const expected = "count=3 pages=2 mark=90 hello=h wide=300000000 init_after_drop=trap table=4 global=5";
    const fromX86 = join(work, "x86.lqsn");
    const fromArm = join(work, "arm.lqsn");
    expect(runTests(["snapshot-write", fromX86]).status).toBe(0);
    const onArm = onM4("snapshot-check", fromX86);
    expect(onArm.stdout.trim()).toBe(expected);
    expect(onM4("snapshot-write", fromArm).status).toBe(0);
    const onX86 = runTests(["snapshot-check", fromArm]);
    expect(onX86.stdout.trim()).toBe(expected);
    // the format has no pointer-size or endianness dependence: identical bytes
    expect(readFileSync(fromArm).equals(readFileSync(fromX86))).toBe(true);
    const bad = onM4("snapshot-check", join(ROOT, "package.json"));
    expect(bad.stdout).toContain("error: snapshot: bad magic");
    expect(bad.status).toBe(1);
  }, 120_000);
});
