/**
 * The WebAssembly spec test suite on the real target architecture: liquid-vm built for a
 * Cortex-M4F (firmware/engine/vm/arm/build.sh) runs every script under QEMU mps2-an386, reading
 * the scripts and modules from the host through semihosting. This is where 32-bit pointers,
 * the single-precision FPU and soft-float f64 meet the suite — what apps migrating between a
 * PC and a microcontroller depend on.
 *
 * The board has 16 MiB of RAM for the heap, so instances get device-like limits (value stack
 * 8,192 slots, call depth 1,000) and the few commands that grow a memory past 16 MiB cannot
 * succeed there: they are listed below, each with its reason, and must fail exactly so.
 */
import { execFile, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { limiter } from "../helpers/liquid-vm.js";
import { PROGRAM_KINDS, writeDifferentialScript } from "../helpers/random-programs.js";
import { ROOT } from "../helpers/native-build.js";

const SUITE_DIR = resolve(ROOT, "..", "shared", "wasm-spec-testsuite", "json");
const ELF = join(ROOT, "build", "vm-qemu", "liquid-vm.elf");
const SUMMARY = /^(\d+) passed, (\d+) failed, (\d+) skipped$/m;
const LIMITS = ["--limit", "value-stack=8192", "--limit", "call-depth=1000"];

/** Commands that need more memory than the board has, by script and line. */
const BEYOND_BOARD_RAM: Record<string, { line: number; why: string }[]> = {
  call: [{ line: 359, why: "memory.grow by 306 pages (19 MiB)" }],
  call_indirect: [{ line: 603, why: "memory.grow by 306 pages (19 MiB)" }],
  memory_grow: [
    { line: 45, why: "memory.grow to 803 pages (50 MiB)" },
    { line: 48, why: "follows from line 45: the memory is still 3 pages" },
  ],
};

const scripts = existsSync(SUITE_DIR)
  ? readdirSync(SUITE_DIR)
      .filter((name) => existsSync(join(SUITE_DIR, name, `${name}.json`)))
      .sort()
  : [];

beforeAll(() => {
  const build = spawnSync("bash", [join(ROOT, "firmware", "engine", "vm", "arm", "build.sh")], { encoding: "utf8" });
  if (build.status !== 0) throw new Error(`ARM build of liquid-vm failed:\n${build.stderr}`);
}, 300_000);

function runQemu(script: string): Promise<{ status: number | null; out: string }> {
  const args = ["liquid-vm", "--spectest", script, ...LIMITS].map((a) => `arg=${a}`).join(",");
  return new Promise((resolvePromise, reject) => {
    execFile(
      "qemu-system-arm",
      ["-M", "mps2-an386", "-nographic", "-monitor", "none", "-serial", "none",
        "-semihosting-config", `enable=on,target=native,${args}`, "-kernel", ELF],
      { encoding: "utf8", timeout: 300_000, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") reject(error);
        else resolvePromise({ status: error ? (error.code as number) : 0, out: `${stdout}${stderr}` });
      },
    );
  });
}

// The differential programs of test/engine/differential.test.ts, with V8's answers, on the M4:
// the Cortex-M4's single-precision FPU and software f64 must agree with x86-64 bit for bit.
describe.concurrent("random programs agree with V8 on a Cortex-M4 (QEMU mps2-an386)", () => {
  const limit = limiter(2);
  for (const [kind, types] of PROGRAM_KINDS) {
    for (const seed of [1, 2, 3, 4]) {
      test(`${kind} programs, seed ${seed}`, { timeout: 300_000 }, async () => {
        const { script, functions } = writeDifferentialScript(seed, types, 150);
        const r = await limit(() => runQemu(script));
        const failures = r.out.split("\n").filter((l) => /^\S+\.json:\d+: /.test(l));
        expect(failures.slice(0, 10), `module and script kept in ${script}`).toEqual([]);
        expect(r.out).toContain(`${functions + 1} passed, 0 failed, 0 skipped`);
        expect(r.status).toBe(0);
      });
    }
  }
});

if (scripts.length === 0) {
  test.skip("spec test suite not found at ../shared/wasm-spec-testsuite (expected json/NAME/NAME.json beside the repository)", () => {});
} else {
  const limit = limiter(2);

  describe.concurrent("WebAssembly spec test suite on a Cortex-M4 (QEMU mps2-an386)", () => {
    for (const name of scripts) {
      test(name, { timeout: 300_000 }, async () => {
        const r = await limit(() => runQemu(join(SUITE_DIR, name, `${name}.json`)));
        const m = SUMMARY.exec(r.out);
        expect(m, `no summary line (did the core fault? QEMU exit ${r.status}):\n${r.out.slice(-2000)}`).not.toBeNull();
        const failures = r.out.split("\n").filter((l) => /^\S+\.json:\d+: /.test(l));
        const expected = (BEYOND_BOARD_RAM[name] ?? []).map((e) => `${name}.json:${e.line}:`);
        const unexpected = failures.filter((l) => !expected.some((prefix) => l.startsWith(prefix)));
        expect(unexpected).toEqual([]);
        // The listed commands fail, and only because the memory could not grow.
        expect(failures).toHaveLength(expected.length);
        expect(Number(m![2])).toBe(expected.length);
        // Every command of the script was accounted for: the run did not stop early.
        const commands = (JSON.parse(readFileSync(join(SUITE_DIR, name, `${name}.json`), "utf8")) as { commands: unknown[] }).commands.length;
        expect(Number(m![1]) + Number(m![2]) + Number(m![3])).toBe(commands);
        expect(r.status).toBe(expected.length ? 1 : 0);
      });
    }
  });
}
