import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/**
 * The running emulated and simulated devices (`liquid emulate`), so that `liquid devices` can
 * list them and commands without --port can find them. A JSON file in the state directory
 * ($LIQUID_HOME, else ~/.liquid); entries whose process is gone are dropped on read.
 */
export interface RunningDevice {
  /** tcp://127.0.0.1:PORT */
  url: string;
  /** posix | qemu | sim-devkit */
  board: string;
  kind: "emulated" | "simulated";
  /** The process that keeps the device alive (liquid emulate). */
  pid: number;
  startedAt: string;
  /** The firmware process (liquid-device, qemu) when not the same as pid. */
  childPid?: number;
}

export function stateDir(): string {
  return process.env.LIQUID_HOME || join(homedir(), ".liquid");
}

function registryPath(): string {
  return join(stateDir(), "devices.json");
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function read(): RunningDevice[] {
  try {
    const data = JSON.parse(readFileSync(registryPath(), "utf8"));
    return Array.isArray(data) ? (data as RunningDevice[]) : [];
  } catch {
    return [];
  }
}

function write(list: RunningDevice[]): void {
  mkdirSync(stateDir(), { recursive: true });
  // Write then rename: a reader never sees half a file.
  const tmp = `${registryPath()}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(list, null, 2) + "\n");
  renameSync(tmp, registryPath());
}

export function runningDevices(): RunningDevice[] {
  const all = read();
  const live = all.filter((d) => alive(d.pid));
  if (live.length !== all.length) {
    try {
      write(live);
    } catch {
      // a read-only state dir only costs the cleanup
    }
  }
  return live;
}

export function registerDevice(device: RunningDevice): void {
  write([...runningDevices().filter((d) => d.url !== device.url), device]);
}

export function unregisterDevice(url: string): void {
  write(runningDevices().filter((d) => d.url !== url));
}
