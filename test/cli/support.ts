// Runs `liquid` commands in this process (the same code as bin/liquid.js, without a compile
// step) and captures what they print.
import { cpSync, rmSync } from "node:fs";
import { join } from "node:path";
import { expect, vi } from "vitest";
import { main } from "../../compiler/src/cli.js";

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** Everything printed while a command runs, shared by commands running at the same time. */
export const printed = { out: "", err: "" };

let depth = 0;
let restore: (() => void) | undefined;

function capture(): void {
  if (depth++ > 0) return;
  const log = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void (printed.out += a.join(" ") + "\n"));
  const error = vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void (printed.err += a.join(" ") + "\n"));
  restore = () => {
    log.mockRestore();
    error.mockRestore();
  };
}

function release(): void {
  if (--depth === 0) restore?.();
}

export async function liquid(...argv: string[]): Promise<CliRun> {
  capture();
  const out0 = printed.out.length;
  const err0 = printed.err.length;
  try {
    const code = await main(argv);
    return { code, out: printed.out.slice(out0), err: printed.err.slice(err0) };
  } finally {
    release();
  }
}

/** Waits until `check` holds (polling), or fails with `what`. */
export async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Builds the tmp105 driver library in `work`, deploys it to the default device and checks that
 * `liquid ps` lists it as a library (not as a stopped app) under its store key NAME@MAJOR,
 * then removes it by its bare name (which removes every stored version). */
export async function expectLibraryListed(work: string): Promise<void> {
  cpSync(join(import.meta.dirname, "..", "..", "examples", "probe", "drivers", "tmp105"), join(work, "tmp105"), { recursive: true });
  rmSync(join(work, "tmp105", "build"), { recursive: true, force: true });
  expect((await liquid("build", join(work, "tmp105"), "--library", "-o", join(work, "lib", "tmp105.wasm"))).code).toBe(0);
  expect((await liquid("deploy", join(work, "lib", "tmp105.wasm"))).code).toBe(0);
  expect((await liquid("ps")).out).toMatch(/^NAME +VERSION +STATE +AUTOSTART +SIZE +SHA256\ntmp105@1 +1\.0\.0 +library +no +\d+ B +[0-9a-f]{12}\n$/);
  expect(JSON.parse((await liquid("ps", "--json")).out)).toEqual([expect.objectContaining({ name: "tmp105@1", state: "stopped", kind: "library" })]);
  // the bare name removes every stored version of the library, and says which
  expect((await liquid("rm", "tmp105")).out).toBe("removed tmp105@1 (1.0.0)\n");
  expect(JSON.parse((await liquid("ps", "--json")).out)).toEqual([]);
}
