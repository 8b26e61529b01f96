// Runs `liquid ARGS...` in this process and captures what it prints, as a user would see it
// (the shared runner in test/helpers/run-liquid.ts).
export { type CliRun as CliResult, captureLiquid as runCli } from "../helpers/run-liquid.js";

/** The JSON events of a `liquid sim --json` run. */
export function jsonEvents(stdout: string): Record<string, unknown>[] {
  return stdout.trim().split("\n").filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
}
