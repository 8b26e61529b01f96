import { vi } from "vitest";
import { main } from "../../compiler/src/cli.js";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `liquid ARGS...` in this process and captures what a user would see. */
export async function runLiquid(args: string[]): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const log = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => {
    stdout += a.join(" ") + "\n";
  });
  const error = vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => {
    stderr += a.join(" ") + "\n";
  });
  const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
    return true;
  });
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    log.mockRestore();
    error.mockRestore();
    write.mockRestore();
  }
}
