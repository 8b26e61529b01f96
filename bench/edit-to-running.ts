/**
 * Edit-to-running and upload throughput of `liquid deploy`, measured side by side in one run.
 *
 *   npm run bench:deploy [-- --repeat 5]
 *
 * Edit-to-running: a save of the app source (a new log message) until the device prints that
 * message — build (liquid build's library) + connect + upload + start + the first log line
 * arriving through the protocol. Measured against:
 *   sim-tcp     a simulated device (sim-devkit) over TCP, as `liquid emulate` runs it
 *   posix-tcp   the posix firmware process (build/posix-release, built here if missing)
 *   qemu-uart   the QEMU Cortex-M4 firmware over its UART socket, when its image is built
 * Upload throughput: a 10 KiB module (fits every device; the QEMU board takes at most 12 KiB)
 * and a 192 KiB one (where accepted), each one data segment, uploaded to each device; the
 * in-memory simulated device (no socket) is the baseline the others are divided by.
 * Rounds go round-robin over the devices so compiler warm-up does not favour the last one.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import binaryen from "binaryen";
import { buildApp } from "../compiler/src/app-build/index.js";
import { startEmulator, type RunningEmulator } from "../compiler/src/commands/emulate.js";
import { DeviceClient } from "../compiler/src/protocol/client.js";
import { Status } from "../compiler/src/protocol/constants.js";
import { DeviceError } from "../compiler/src/protocol/errors.js";
import { sha256, toHex } from "../compiler/src/protocol/sha256.js";
import { findPosixDevice, findQemuImage } from "../compiler/src/transport/emulators.js";
import { connectTcp } from "../compiler/src/transport/tcp.js";
import type { Connector } from "../compiler/src/transport/transport.js";
import { LIQUID_ROOT } from "../compiler/src/paths.js";
import { createSimDevice, memoryConnector } from "../host-sim/src/device/index.js";

const args = process.argv.slice(2);
const repeat = Number(args[args.indexOf("--repeat") + 1] ?? 5) || 5;
const WORK = mkdtempSync(join(tmpdir(), "liquid-bench-deploy-"));
process.env.LIQUID_HOME = join(WORK, "home");

const APP_SOURCE = `// Bench app: logs once at start, so the first log line marks "running".
import { Pin, Timer, log } from "liquid";
let led = Pin.NONE;
export function start(): void {
  led = Pin.output("LED0", 0);
  Timer.every(500);
  log.info("MARK");
}
export function on_timer(timer: i32): void {
  led.toggle();
}
`;

interface Target {
  name: string;
  connector: Connector;
  stop(): Promise<void>;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${x.toFixed(0).padStart(6)} ms`;

/** One edit → build → deploy → first log line cycle. */
async function editToRunning(target: Target, round: number): Promise<{ build: number; deploy: number; firstLog: number; total: number }> {
  const dir = join(WORK, "app");
  const mark = `bench ${target.name} ${round} ${Date.now()}`;
  const t0 = performance.now();
  writeFileSync(join(dir, "app.ts"), APP_SOURCE.replace("MARK", mark));
  const built = await buildApp(dir);
  if (!built.ok) throw new Error(`bench app did not build: ${built.errors.join("; ")}`);
  const t1 = performance.now();
  const client = await DeviceClient.open(target.connector, { timeoutMs: 3000 });
  try {
    const seen = new Promise<void>((resolve) => {
      client.onEvent((e) => {
        if (e.kind === "log" && e.record.msg === mark) resolve();
      });
    });
    await client.logs(0xffffffff, true); // follow from now on only
    const before = await client.list();
    if (before.some((a) => a.name === "bench" && a.state === "running")) await client.stop("bench");
    await client.put("bench", built.wasm!, readFileSync(built.manifestPath!, "utf8"), { start: true });
    const t2 = performance.now();
    await seen;
    const t3 = performance.now();
    return { build: t1 - t0, deploy: t2 - t1, firstLog: t3 - t2, total: t3 - t0 };
  } finally {
    await client.close();
  }
}

/** A valid module with a 192 KiB data segment and the manifest a device needs to accept it. */
function bulkModule(size: number): { wasm: Uint8Array; manifest: string } {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 2654435761) >>> 24;
  const m = new binaryen.Module();
  const pages = Math.ceil(size / 65536);
  m.setMemory(pages, pages, "memory", [{ offset: m.i32.const(0), data, passive: false }]);
  m.addFunction("start", binaryen.none, binaryen.none, [], m.nop());
  m.addFunctionExport("start", "start");
  const wasm = m.emitBinary();
  m.dispose();
  const manifest = {
    liquid: 1, name: "bulk", version: "0.0.1", sha256: toHex(sha256(wasm)), size: wasm.length,
    exports: ["start", "memory"], imports: [], capabilities: [], resources: { pins: [], buses: [] },
    memory: { initialPages: pages, maximumPages: pages },
  };
  return { wasm, manifest: JSON.stringify(manifest) };
}

/** KiB/s of the upload alone (PUT_BEGIN to PUT_END), or undefined when the device refuses the size. */
async function throughput(target: Target, bulk: { wasm: Uint8Array; manifest: string }): Promise<number | undefined> {
  const rates: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const client = await DeviceClient.open(target.connector, { timeoutMs: 5000 });
    try {
      if ((await client.list()).some((a) => a.name === "bulk")) await client.remove("bulk");
      const t0 = performance.now();
      try {
        await client.put("bulk", bulk.wasm, bulk.manifest);
      } catch (err) {
        if (err instanceof DeviceError && err.status === Status.ENOSPACE) return undefined;
        throw err;
      }
      rates.push(bulk.wasm.length / 1024 / ((performance.now() - t0) / 1000));
      await client.remove("bulk");
    } finally {
      await client.close();
    }
  }
  return median(rates);
}

async function main(): Promise<void> {
  cpSync(join(LIQUID_ROOT, "test", "protocol", "fixtures", "blinky"), join(WORK, "app"), { recursive: true });
  const targets: Target[] = [];
  const inMemory = await createSimDevice({ board: "sim-devkit", realtime: true });
  const baseline: Target = { name: "sim-memory", connector: memoryConnector(inMemory.server), stop: () => inMemory.stop() };
  const emulated: RunningEmulator[] = [];
  const add = async (board: "sim-devkit" | "posix" | "qemu", name: string) => {
    const dev = await startEmulator({ board, port: 0, quiet: true, flash: board === "sim-devkit" ? join(WORK, `${name}-store`) : join(WORK, `${name}.img`) });
    emulated.push(dev);
    targets.push({ name, connector: () => connectTcp(dev.url), stop: () => dev.stop() });
  };
  await add("sim-devkit", "sim-tcp");
  if (!findPosixDevice()?.includes("posix-release")) {
    console.log("building the posix firmware (Release) in build/posix-release ...");
    const dir = join(LIQUID_ROOT, "build", "posix-release");
    try {
      execFileSync("cmake", ["-S", LIQUID_ROOT, "-B", dir, "-DCMAKE_BUILD_TYPE=Release", "-DLIQUID_SANITIZE=OFF"], { stdio: "ignore" });
      execFileSync("cmake", ["--build", dir, "-j2", "--target", "liquid-device"], { stdio: "ignore" });
    } catch {
      console.log("  the Release build failed; falling back to any other build of liquid-device");
    }
  }
  const posix = findPosixDevice();
  if (posix) {
    if (!posix.includes("posix-release")) console.log(`posix-tcp uses ${posix.slice(LIQUID_ROOT.length + 1)}: not a Release build, figures are pessimistic`);
    await add("posix", "posix-tcp");
  } else console.log("posix-tcp: skipped (liquid-device did not build)");
  if (findQemuImage()) await add("qemu", "qemu-uart");
  else console.log("qemu-uart: skipped (no build/qemu/.../liquid-qemu.elf: the full QEMU firmware is not built)");

  try {
    console.log(`\nedit-to-running (median of ${repeat} rounds, round-robin over the devices, after one warm-up round each)`);
    console.log(`${"device".padEnd(11)} ${"build".padStart(9)} ${"deploy".padStart(9)} ${"log wait".padStart(9)} ${"total".padStart(9)}  deploy+log share`);
    for (const t of targets) await editToRunning(t, -1); // asc and binaryen load once per process
    const rounds = new Map(targets.map((t) => [t, [] as Awaited<ReturnType<typeof editToRunning>>[]]));
    for (let i = 0; i < repeat; i++) for (const t of targets) rounds.get(t)!.push(await editToRunning(t, i));
    for (const t of targets) {
      const r = rounds.get(t)!;
      const b = median(r.map((x) => x.build));
      const d = median(r.map((x) => x.deploy));
      const l = median(r.map((x) => x.firstLog));
      const total = median(r.map((x) => x.total));
      console.log(`${t.name.padEnd(11)} ${ms(b)} ${ms(d)} ${ms(l)} ${ms(total)}  ${(((d + l) / total) * 100).toFixed(0)}%`);
    }
    for (const kib of [10, 192]) {
      const bulk = bulkModule(kib * 1024);
      console.log(`\nupload throughput, ${kib} KiB module (PUT_BEGIN..PUT_END, 4 KiB frames, one request in flight, median of ${repeat})`);
      const base = (await throughput(baseline, bulk))!;
      console.log(`${"sim-memory".padEnd(11)} ${base.toFixed(0).padStart(7)} KiB/s  1.00x (baseline: no socket)`);
      for (const t of targets) {
        const rate = await throughput(t, bulk);
        console.log(`${t.name.padEnd(11)} ${rate === undefined ? "      - " : `${rate.toFixed(0).padStart(7)} KiB/s  ${(rate / base).toFixed(2)}x`}${rate === undefined ? " (module too large for this device)" : ""}`);
      }
    }
  } finally {
    for (const d of emulated) await d.stop();
    await baseline.stop();
    rmSync(WORK, { recursive: true, force: true });
  }
}

await main();
