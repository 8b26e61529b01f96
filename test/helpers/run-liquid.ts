// Runs the `liquid` CLI in-process (from source, so tests need no compiled dist/) and captures
// what it prints — through console or straight to process.stdout/stderr — the way a user
// would see it.
import { main } from "../../compiler/src/cli.js";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `liquid ARGS...` with its exit status and everything it printed, exactly as printed. */
export async function captureLiquid(args: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const saved = { log: console.log, error: console.error, out: process.stdout.write, err: process.stderr.write };
  const sink = (into: string[]) =>
    ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      into.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
      // A caller waiting for its write to drain must not hang.
      const cb = rest.find((r) => typeof r === "function") as (() => void) | undefined;
      cb?.();
      return true;
    }) as typeof process.stdout.write;
  console.log = (...a: unknown[]) => void out.push(`${a.map(String).join(" ")}\n`);
  console.error = (...a: unknown[]) => void err.push(`${a.map(String).join(" ")}\n`);
  process.stdout.write = sink(out);
  process.stderr.write = sink(err);
  try {
    const code = await main(args);
    return { code, stdout: out.join(""), stderr: err.join("") };
  } finally {
    console.log = saved.log;
    console.error = saved.error;
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
  }
}
