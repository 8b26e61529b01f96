import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SerialPort } from "serialport";
import type { SimulatedEsp32 } from "./simulated-esp32.js";

export interface PtyEsp32 {
  /** The path a flasher opens, like /dev/ttyUSB0 for a real board. */
  readonly hostPath: string;
  readonly chip: SimulatedEsp32;
  stop(): Promise<void>;
}

export interface PtyOptions {
  /** Where to put the two pty symlinks (a fresh temporary directory by default). */
  dir?: string;
}

/**
 * Puts a simulated ESP32 behind a pseudo-terminal, so any serial tool (liquid flash, esptool.py,
 * a terminal program) can open it by path. `socat` creates two linked ptys: the simulator holds
 * one end, the other is the board's "port". A pty carries bytes only: it has no DTR/RTS lines
 * and ignores baud rates, so the chip starts in download mode and answers a plain sync, and a
 * baud change needs no retiming.
 */
export async function startPtyEsp32(chip: SimulatedEsp32, options: PtyOptions = {}): Promise<PtyEsp32> {
  const ownDir = !options.dir;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "liquid-esp32-"));
  const hostPath = join(dir, "ttyESP32");
  const devicePath = join(dir, "device");
  const socat = spawn("socat", ["-d", "-d", `pty,raw,echo=0,link=${hostPath}`, `pty,raw,echo=0,link=${devicePath}`], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  await waitForSocat(socat, [hostPath, devicePath]);
  const device = new SerialPort({ path: devicePath, baudRate: 115200, autoOpen: false, lock: false });
  await new Promise<void>((resolve, reject) => device.open((err) => (err ? reject(err) : resolve())));
  device.on("error", () => {});
  device.on("data", (chunk: Buffer) => chip.receive(new Uint8Array(chunk)));
  chip.onTransmit((bytes) => {
    if (device.isOpen) device.write(Buffer.from(bytes));
  });
  let stopped = false;
  return {
    hostPath,
    chip,
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      chip.onTransmit(() => {});
      if (device.isOpen) await new Promise<void>((resolve) => device.close(() => resolve()));
      if (socat.exitCode === null) {
        const exited = new Promise<void>((resolve) => socat.once("exit", () => resolve()));
        socat.kill("SIGTERM");
        await exited;
      }
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function waitForSocat(socat: ChildProcess, links: string[]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let log = "";
    const timer = setTimeout(() => finish(new Error(`socat did not create the pty pair within 5 s: ${log.trim()}`)), 5000);
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      socat.stderr?.removeAllListeners("data");
      // Keep draining socat's log so it never blocks on a full pipe.
      socat.stderr?.on("data", () => {});
      socat.removeAllListeners("error");
      if (err) {
        socat.kill("SIGTERM");
        reject(err);
      } else resolve();
    };
    socat.on("error", (err: NodeJS.ErrnoException) =>
      finish(err.code === "ENOENT" ? new Error("socat is not installed: it creates the pty pair (apt-get install socat, or run scripts/setup.sh)") : err),
    );
    socat.once("exit", (code) => finish(new Error(`socat exited with code ${code}: ${log.trim()}`)));
    socat.stderr?.on("data", (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes("starting data transfer loop") && links.every((l) => existsSync(l))) {
        socat.removeAllListeners("exit");
        finish();
      }
    });
  });
}
