// Runs the `liquid` CLI in-process (from source, so tests need no compiled dist/) and captures
// what it prints, the way a user would see it.
import { main } from "../../compiler/src/cli.js";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runLiquid(...argv: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => void out.push(a.map(String).join(" "));
  console.error = (...a: unknown[]) => void err.push(a.map(String).join(" "));
  try {
    const code = await main(argv);
    return { code, stdout: out.join("\n"), stderr: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}
