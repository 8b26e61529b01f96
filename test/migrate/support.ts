// Shared pieces of the migration suites: the fixture apps (built once with liquid build's
// library), devices of every kind on TCP, and reading what an app logged on a device.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildApp } from "../../compiler/src/app-build/index.js";
import type { ModuleCopy } from "../../compiler/src/migrate/module-source.js";
import { DeviceClient } from "../../compiler/src/protocol/client.js";
import { sha256, toHex } from "../../compiler/src/protocol/sha256.js";
import type { AppManifest } from "../../compiler/src/protocol/types.js";
import { findPosixDevice, findQemuImage, freePort, startPosixDevice, startQemuDevice } from "../../compiler/src/transport/emulators.js";
import { connectTcp } from "../../compiler/src/transport/tcp.js";
import type { Connector } from "../../compiler/src/transport/transport.js";
import { createSimDevice, listenTcp, type SimDevice } from "../../host-sim/src/device/index.js";
import { Simulation } from "../../host-sim/src/simulation.js";

export const ROOT = join(import.meta.dirname, "..", "..");
export const FIXTURES = join(import.meta.dirname, "fixtures");
export const WORK = mkdtempSync(join(tmpdir(), "liquid-migrate-"));

/** LIQUID_POSIX_DEVICE picks a build (e.g. the sanitized one) instead of the first found. */
export const POSIX_BINARY = process.env.LIQUID_POSIX_DEVICE || findPosixDevice();
function have(program: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${program}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
/** QEMU runs here when qemu-system-arm is installed and its image is built or can be built. */
export const QEMU_RUNNABLE = have("qemu-system-arm") && (findQemuImage() !== undefined || have("arm-none-eabi-gcc"));
let qemuImage: string | undefined;

/** Brings build/qemu's image up to date (as the qemu suites do, under their lock); returns its path. */
export async function prepareQemuImage(): Promise<string> {
  if (qemuImage) return qemuImage;
  if (have("arm-none-eabi-gcc")) {
    const { buildArmPort, armImage } = await import("../qemu/qemu-harness.js");
    try {
      const { dir } = await buildArmPort("qemu", ["liquid-qemu"]);
      qemuImage = armImage(dir, "liquid-qemu");
    } catch (err) {
      // A firmware change in progress elsewhere may not build right now; the last image still
      // runs the protocol these tests use.
      qemuImage = findQemuImage();
      if (!qemuImage) throw err;
      console.warn(`building the QEMU image failed; using the existing ${qemuImage}: ${(err as Error).message.split("\n")[0]}`);
    }
  } else qemuImage = findQemuImage();
  if (!qemuImage) throw new Error("no QEMU firmware image (build/qemu) and no arm-none-eabi-gcc to build one");
  return qemuImage;
}

const built = new Map<string, Promise<ModuleCopy>>();

/** Builds an app (a fixture name under test/migrate/fixtures, or a path) once per process. */
export function app(nameOrPath: string): Promise<ModuleCopy> {
  let p = built.get(nameOrPath);
  if (!p) {
    p = (async () => {
      const source = nameOrPath.includes("/") ? nameOrPath : join(FIXTURES, nameOrPath);
      const name = source.split("/").filter(Boolean).at(-1)!;
      const r = await buildApp(source, { out: join(WORK, "apps", `${name}.wasm`) });
      if (!r.ok) throw new Error(`building ${source} failed:\n${[...r.errors, ...r.diagnostics.map((d) => d.message)].join("\n")}`);
      const manifestText = readFileSync(r.manifestPath!, "utf8");
      return { wasm: r.wasm!, manifestText, manifest: JSON.parse(manifestText) as AppManifest, sha256: toHex(sha256(r.wasm!)), origin: r.wasmPath! };
    })();
    built.set(nameOrPath, p);
  }
  return p;
}

export interface TestDevice {
  kind: "sim" | "posix" | "qemu";
  url: string;
  connector: Connector;
  /** Lines the device process printed (posix: gpio edges and logs; qemu: its console). */
  lines: string[];
  /** Every app log record the device produced, oldest first (not limited by its log ring). */
  logs: { app: string; msg: string }[];
  sim?: SimDevice;
  /** Writes a control line to the firmware's console (posix stdin, QEMU UART1): "set BUTTON0 0" presses a button. */
  control?(line: string): void;
  kill(): void;
  stop(): Promise<void>;
}

/** A device as one side of a move (migrate()'s from/to), optionally over another connector. */
export const side = (d: TestDevice, connector = d.connector) => ({ connector, label: d.url });

const running: TestDevice[] = [];

/** Stops every device this file started and removes its scratch directory. */
export async function stopAll(): Promise<void> {
  while (running.length) await running.pop()!.stop();
  rmSync(WORK, { recursive: true, force: true });
}

let simCount = 0;

/** A simulated devkit paced by the wall clock, on TCP like `liquid emulate`. */
export async function simTcp(board = "sim-devkit", options: { budget?: number } = {}): Promise<TestDevice> {
  // A fixture that computes for long in one event (fixtures/inbox) needs a larger watchdog budget.
  const simulation = options.budget ? new Simulation({ budget: options.budget }) : undefined;
  const sim = await createSimDevice({ board, realtime: true, id: `sim-${process.pid}-${++simCount}`, simulation });
  const listener = await listenTcp(sim.server, 0);
  const logs: TestDevice["logs"] = [];
  sim.simulation.onEvent((e) => {
    if (e.type === "log" && e.app) logs.push({ app: e.app, msg: e.msg });
  });
  const d: TestDevice = {
    kind: "sim",
    url: listener.url,
    connector: () => connectTcp(listener.url),
    lines: [],
    logs,
    sim,
    kill: () => void listener.close().then(() => sim.stop()),
    stop: async () => {
      await listener.close();
      await sim.stop();
    },
  };
  running.push(d);
  return d;
}

async function processDevice(kind: "posix" | "qemu"): Promise<TestDevice> {
  const lines: string[] = [];
  const logs: TestDevice["logs"] = [];
  // The firmware traces every log record on its console ("log T LEVEL APP: MSG"): read them
  // there, since the device's own log ring keeps only the last 16 (QEMU) or 64 records.
  const onLine = (raw: string) => {
    const line = raw.replace(/\r$/, "");
    lines.push(line);
    const m = /^log \d+ \w+ (\S+): (.*)$/.exec(line);
    if (m && m[1] !== "-") logs.push({ app: m[1]!, msg: m[2]! });
  };
  const port = await freePort();
  const started = kind === "posix" ? await startPosixDevice(POSIX_BINARY!, { port }, onLine) : await startQemuDevice(await prepareQemuImage(), { port, console: true }, onLine);
  const child = started.child;
  const d: TestDevice = {
    kind,
    url: started.url,
    connector: () => connectTcp(started.url),
    lines,
    logs,
    control: (line) => void child.stdin?.write(`${line}\n`),
    kill: () => void child.kill("SIGKILL"),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
    },
  };
  running.push(d);
  if (kind === "qemu") await waitReady(d);
  return d;
}

/** The QEMU firmware answers once it printed `ready` on its console; ask until it does. */
async function waitReady(d: TestDevice): Promise<void> {
  const end = Date.now() + 20_000;
  for (;;) {
    try {
      const c = await DeviceClient.open(d.connector, { timeoutMs: 1000, retries: 1, reconnectWindowMs: 0 });
      await c.close();
      return;
    } catch (err) {
      if (Date.now() > end) throw new Error(`the QEMU device never answered: ${(err as Error).message}\n${d.lines.join("\n")}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export const posixDevice = () => processDevice("posix");
export const qemuDevice = () => processDevice("qemu");

/** Opens a client, runs `body`, closes. */
export async function withClient<T>(d: TestDevice, body: (c: DeviceClient) => Promise<T>): Promise<T> {
  const c = await DeviceClient.open(d.connector, { timeoutMs: 3000 });
  try {
    return await body(c);
  } finally {
    await c.close();
  }
}

/** Installs a module (and starts it). */
export async function install(d: TestDevice, m: ModuleCopy, start = true, autostart = false): Promise<void> {
  await withClient(d, (c) => c.put(m.manifest.name, m.wasm, m.manifestText, { start, autostart }).then(() => undefined));
}

/** What an app logged on a device, oldest first. */
export async function appLog(d: TestDevice, appName: string): Promise<string[]> {
  return d.logs.filter((r) => r.app === appName).map((r) => r.msg);
}

/** The N of every "count N..." line an app logged on a device. */
export async function counts(d: TestDevice, appName: string): Promise<number[]> {
  return (await appLog(d, appName)).flatMap((m) => {
    const match = /^count (\d+)/.exec(m);
    return match ? [Number(match[1])] : [];
  });
}

export async function appState(d: TestDevice, appName: string): Promise<string | undefined> {
  return withClient(d, async (c) => (await c.list()).find((a) => a.name === appName)?.state);
}

/** Polls until `check` resolves to a value, or fails with `what`. */
export async function waitFor<T>(check: () => Promise<T | undefined | false>, what: () => string | Promise<string>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${await what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until the app logged at least `n` counts on the device; returns them. */
export function waitCounts(d: TestDevice, appName: string, n: number, timeoutMs = 15_000): Promise<number[]> {
  let last: number[] = [];
  return waitFor(
    async () => {
      last = await counts(d, appName);
      return last.length >= n ? last : undefined;
    },
    () => `${n} counts of ${appName} on the ${d.kind} device (have ${last.join(",")})`,
    timeoutMs,
  );
}

/**
 * The sums the fixtures `busy` and `swamped` log ("count N sum S"), computed here the way the
 * apps do: `rounds` LCG steps per event (150,000 for busy, 600,000 for swamped). One hex string
 * per event, for events 1..upTo.
 */
export function fixtureSums(upTo: number, rounds: number): string[] {
  const out: string[] = [];
  let sum = 0;
  for (let count = 0; count < upTo; count++) {
    let x = (count + 1) >>> 0;
    for (let i = 0; i < rounds; i++) {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      sum = (sum + (x >>> 16)) >>> 0;
    }
    out.push(sum.toString(16));
  }
  return out;
}
