/**
 * A bounded libFuzzer run of the engine (decode, validate, instantiate, run under fuel,
 * snapshot/restore) seeded with the spec suite's modules, then of snapshot restore with hostile
 * snapshots. Fails when libFuzzer reports a crash, a sanitizer error, a leak, a timeout or a
 * snapshot that does not round-trip. LIQUID_FUZZ_RUNS changes the number of module inputs
 * (default 60,000; a quarter of it for snapshots).
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { ROOT } from "../helpers/native-build.js";

// A fixed number of inputs from a fixed seed: the same engine always gets the same run, so
// this test cannot pass one time and fail the next on unchanged code.
const RUNS = Number(process.env.LIQUID_FUZZ_RUNS ?? 60000);

function clangAvailable(): boolean {
  return spawnSync("clang-14", ["--version"]).status === 0;
}

/** Runs a command without blocking the event loop (vitest's worker must keep answering). */
function runAsync(cmd: string, args: string[], env: Record<string, string>): Promise<{ status: number | null; log: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    let log = "";
    child.stdout.on("data", (d: Buffer) => (log += d.toString()));
    child.stderr.on("data", (d: Buffer) => (log += d.toString()));
    child.on("error", reject);
    child.on("close", (status) => resolvePromise({ status, log }));
  });
}

test("libFuzzer finds no crash in bounded runs on modules and on snapshots", { timeout: 600_000 }, async () => {
  // clang-14 and libfuzzer-14-dev are installed by scripts/setup.sh; without them this is a
  // broken setup, not a pass.
  expect(clangAvailable(), "clang-14 is required (scripts/setup.sh installs it)").toBe(true);
  const r = await runAsync("bash", [join(ROOT, "fuzz", "run.sh")], { LIQUID_FUZZ_RUNS: String(RUNS) });
  const log = r.log;
  const artifacts = join(ROOT, "build", "fuzz", "artifacts");
  const found = existsSync(artifacts) ? readdirSync(artifacts) : [];
  expect(log, "sanitizer report").not.toMatch(/ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:/);
  expect(r.status, `libFuzzer exited ${r.status}; artifacts: ${found.join(", ")}\n${log.slice(-3000)}`).toBe(0);
  // Both targets (modules, then snapshots) really executed inputs: libFuzzer prints its
  // final stats once per run.
  const runs = [...log.matchAll(/stat::number_of_executed_units:\s*(\d+)/g)].map((m) => Number(m[1]));
  expect(runs).toHaveLength(2);
  expect(runs[0]).toBeGreaterThanOrEqual(RUNS);
  expect(runs[1]).toBeGreaterThanOrEqual(Math.floor(RUNS / 4));
});
