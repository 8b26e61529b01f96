import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { POSIX_BUILD } from "./native-build.js";

/**
 * The liquid-vm binary of the sanitized test build (built by the global setup). LIQUID_VM_BIN
 * points the suites at another build, e.g. build/posix-release.
 */
export const LIQUID_VM = process.env.LIQUID_VM_BIN ?? join(POSIX_BUILD, "firmware", "engine", "vm", "liquid-vm");

export interface VmRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function liquidVmBuilt(): boolean {
  return existsSync(LIQUID_VM);
}

/** Runs liquid-vm synchronously with the given arguments. */
export function runVm(args: string[], timeoutMs = 60_000): VmRun {
  const r = spawnSync(LIQUID_VM, args, { encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Writes bytes to a fresh temporary file and returns its path. */
export function tempFile(name: string, bytes: Uint8Array | string): string {
  const dir = mkdtempSync(join(tmpdir(), "liquid-vm-"));
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** Runs liquid-vm without blocking the event loop, so several runs can overlap. */
export function runVmAsync(args: string[], timeoutMs = 300_000): Promise<VmRun> {
  return new Promise((resolvePromise, reject) => {
    execFile(LIQUID_VM, args, { encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== "number") {
        reject(error);
        return;
      }
      resolvePromise({ status: error ? (error.code as number) : 0, stdout, stderr });
    });
  });
}

/** Allows at most `limit` of the wrapped async jobs to run at once. */
export function limiter(limit: number): <T>(job: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(job: () => Promise<T>): Promise<T> => {
    if (active >= limit) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await job();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}
