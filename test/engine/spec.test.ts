/**
 * The WebAssembly 2.0 core spec test suite (without SIMD), run through `liquid-vm --spectest`
 * on the sanitized build: one test per script, each asserting that no command failed. Text
 * (.wat) assert_malformed commands are counted as skipped, never as passed.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { limiter, liquidVmBuilt, LIQUID_VM, runVmAsync } from "../helpers/liquid-vm.js";
import { POSIX_BUILD, ROOT } from "../helpers/native-build.js";

const SUITE_DIR = resolve(ROOT, "..", "shared", "wasm-spec-testsuite", "json");
const SUMMARY = /^(\d+) passed, (\d+) failed, (\d+) skipped$/m;

interface FileTotals {
  passed: number;
  failed: number;
  skipped: number;
}

const scripts = existsSync(SUITE_DIR)
  ? readdirSync(SUITE_DIR)
      .filter((name) => existsSync(join(SUITE_DIR, name, `${name}.json`)))
      .sort()
  : [];

if (scripts.length === 0) {
  test.skip("spec test suite not found at ../shared/wasm-spec-testsuite (expected json/NAME/NAME.json beside the repository)", () => {});
} else {
  const totals = new Map<string, FileTotals>();
  // Two engines at a time: the machine has two cores and other suites run beside this one.
  const limit = limiter(2);

  beforeAll(() => {
    if (!liquidVmBuilt()) throw new Error(`liquid-vm was not built at ${LIQUID_VM}`);
  });

  afterAll(() => {
    if (totals.size === 0) return;
    const sum = { passed: 0, failed: 0, skipped: 0 };
    for (const t of totals.values()) {
      sum.passed += t.passed;
      sum.failed += t.failed;
      sum.skipped += t.skipped;
    }
    const line = `spec tests: ${totals.size} files, ${sum.passed} passed, ${sum.failed} failed, ${sum.skipped} skipped`;
    console.log(line);
    mkdirSync(POSIX_BUILD, { recursive: true });
    writeFileSync(
      join(POSIX_BUILD, "spec-totals.json"),
      JSON.stringify({ files: totals.size, ...sum, perFile: Object.fromEntries(totals) }, null, 2) + "\n",
    );
  });

  describe.concurrent("WebAssembly spec test suite", () => {
    test("has the 90 scripts of the WebAssembly 2.0 suite", () => {
      expect(scripts).toHaveLength(90);
    });

    for (const name of scripts) {
      test(name, { timeout: 300_000 }, async () => {
        const script = join(SUITE_DIR, name, `${name}.json`);
        const r = await limit(() => runVmAsync(["--spectest", script]));
        expect(r.stderr, "sanitizer or runner errors").not.toMatch(/AddressSanitizer|runtime error:|LeakSanitizer|^error:/m);
        const m = SUMMARY.exec(r.stdout);
        expect(m, `no summary line in output:\n${r.stdout.slice(-2000)}`).not.toBeNull();
        const t = { passed: Number(m![1]), failed: Number(m![2]), skipped: Number(m![3]) };
        totals.set(name, t);
        // Every command of the script is accounted for exactly once.
        const commands = (JSON.parse(readFileSync(script, "utf8")) as { commands: unknown[] }).commands.length;
        expect(t.passed + t.failed + t.skipped).toBe(commands);
        const failures = r.stdout.split("\n").filter((l) => l !== "" && !SUMMARY.test(l));
        expect(failures.slice(0, 25), `${t.failed} failed`).toEqual([]);
        expect(t.failed).toBe(0);
        expect(r.status).toBe(0);
      });
    }
  });
}
