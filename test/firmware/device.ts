// Starts a real liquid-device (posix port, built with ASan/UBSan by the global setup) and
// gives tests its stdout lines: gpio edges, logs, app states. Each test gets its own flash
// image in a temporary directory, so devices can be stopped and started again on it.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeviceClient } from "../../compiler/src/protocol/client.js";
import { connectTcp } from "../../compiler/src/transport/tcp.js";
import { POSIX_BUILD, ROOT } from "../helpers/native-build.js";

export const DEVICE_BIN = join(POSIX_BUILD, "firmware", "ports", "posix", "liquid-device");
export const POSIX_BOARD = join(ROOT, "boards", "posix.json");

export interface GpioEdge {
  t: number;
  pin: string;
  value: number;
}

export class PosixDevice {
  readonly lines: string[] = [];
  private waiters: Array<() => void> = [];
  stderr = "";
  exitCode: number | null = null;
  url = "";

  private constructor(
    readonly proc: ChildProcessWithoutNullStreams,
    readonly flash: string,
  ) {}

  /** Starts a device and waits until it is listening and (unless told not to) booted. */
  static async start(flash: string, extraArgs: string[] = [], board = POSIX_BOARD, waitReady = true): Promise<PosixDevice> {
    const proc = spawn(DEVICE_BIN, ["--board", board, "--flash", flash, "--listen", "tcp:127.0.0.1:0", ...extraArgs], {
      env: { ...process.env, ASAN_OPTIONS: "detect_leaks=1:abort_on_error=0", UBSAN_OPTIONS: "print_stacktrace=1:halt_on_error=1" },
    });
    const dev = new PosixDevice(proc, flash);
    let partial = "";
    proc.stdout.setEncoding("utf8");
    proc.stdout.on("data", (chunk: string) => {
      partial += chunk;
      const parts = partial.split("\n");
      partial = parts.pop()!;
      dev.lines.push(...parts);
      for (const w of dev.waiters.splice(0)) w();
    });
    proc.stderr.setEncoding("utf8");
    proc.stderr.on("data", (chunk: string) => (dev.stderr += chunk));
    proc.on("exit", (code) => {
      dev.exitCode = code;
      for (const w of dev.waiters.splice(0)) w();
    });
    const first = await dev.waitFor((l) => l.startsWith("listening on "), 20_000);
    dev.url = first.slice("listening on ".length);
    if (waitReady) await dev.waitFor((l) => l === "ready", 20_000);
    return dev;
  }

  /** Kills the process outright (a power cut, or a device that hangs). */
  async kill(): Promise<void> {
    if (this.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.proc.once("exit", () => resolve()));
    this.proc.kill("SIGKILL");
    await exited;
  }

  /** Resolves with the first line (from `from` on) that matches. */
  async waitFor(match: (line: string) => boolean, timeoutMs = 10_000, from = 0): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.slice(from).find(match);
      if (hit !== undefined) return hit;
      if (this.exitCode !== null) throw new Error(`liquid-device exited (${this.exitCode}) while waiting; stderr:\n${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for a device line; last lines:\n${this.lines.slice(-15).join("\n")}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits until `count` lines match, returning them. */
  async waitForCount(match: (line: string) => boolean, count: number, timeoutMs = 10_000, from = 0): Promise<string[]> {
    await this.waitFor(() => this.lines.slice(from).filter(match).length >= count, timeoutMs, from);
    return this.lines.slice(from).filter(match).slice(0, count);
  }

  gpio(pin: string, from = 0): GpioEdge[] {
    return this.lines
      .slice(from)
      .map((l) => /^gpio (\d+) (\S+) (\d)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null && m[2] === pin)
      .map((m) => ({ t: Number(m[1]), pin: m[2]!, value: Number(m[3]) }));
  }

  control(line: string): void {
    this.proc.stdin.write(line + "\n");
  }

  async client(): Promise<DeviceClient> {
    return DeviceClient.open(() => connectTcp(this.url), { timeoutMs: 3000, retries: 2 });
  }

  /** Stops the process (SIGTERM) and returns its exit code; sanitizer reports land in stderr. */
  async stop(): Promise<number | null> {
    if (this.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.proc.once("exit", () => resolve()));
      this.proc.kill("SIGTERM");
      await exited;
    }
    return this.exitCode;
  }
}

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function deviceBuilt(): boolean {
  return existsSync(DEVICE_BIN);
}
