// The toolchain tests' `liquid` runner: the shared in-process runner (test/helpers/run-liquid.ts),
// with the output's final newline dropped so expectations read like the printed lines.
import { type CliRun, captureLiquid } from "../helpers/run-liquid.js";

export type { CliRun } from "../helpers/run-liquid.js";

export async function runLiquid(...argv: string[]): Promise<CliRun> {
  const run = await captureLiquid(argv);
  return { code: run.code, stdout: run.stdout.replace(/\n$/, ""), stderr: run.stderr.replace(/\n$/, "") };
}
