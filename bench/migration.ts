/**
 * Live migration: downtime (SNAPSHOT sent on the source until START answered on the target)
 * and bytes on the wire, next to the bound the link's rate sets for those bytes.
 *
 *   npm run bench:migrate [-- --repeat 5]
 *
 * Apps (built here with liquid build's library):
 *   empty   a 100 ms counter: one page of memory, almost all zero (the sparse encoding sends
 *           a few hundred bytes)
 *   full    the same counter plus 60 KiB of pseudo-random bytes in its one 64 KiB page
 *           (incompressible: the snapshot carries the whole page)
 *   12k     the same with 12 KiB of random bytes (what the QEMU board took when its snapshot
 *           buffer was a static 16 KiB; the snapshot now lives in its free RAM while it moves)
 * Links:
 *   posix<->posix over TCP on loopback: the bound is the bytes at the loopback rate measured in
 *   this run (a socket pushing 8 MiB to a discarding peer);
 *   posix<->QEMU over the UART: QEMU's UART socket moves bytes at about a 115200-baud line's
 *   rate (11,520 B/s), which is the bound used.
 * Each app migrates back and forth `repeat` times; medians are printed. Every migration is
 * checked: the app runs on the target afterwards (migrate() verifies START and the module).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildApp } from "../compiler/src/app-build/index.js";
import { migrate, type MigrationReport } from "../compiler/src/migrate/migrate.js";
import type { ModuleCopy } from "../compiler/src/migrate/module-source.js";
import { DeviceClient } from "../compiler/src/protocol/client.js";
import { sha256, toHex } from "../compiler/src/protocol/sha256.js";
import type { AppManifest } from "../compiler/src/protocol/types.js";
import { findPosixDevice, findQemuImage, freePort, startPosixDevice, startQemuDevice, type StartedProcess } from "../compiler/src/transport/emulators.js";
import { connectTcp } from "../compiler/src/transport/tcp.js";

const args = process.argv.slice(2);
const repeat = Number(args[args.indexOf("--repeat") + 1] ?? 5) || 5;
const WORK = mkdtempSync(join(tmpdir(), "liquid-bench-migrate-"));
process.env.LIQUID_HOME = join(WORK, "home");
const UART_BYTES_PER_S = 115200 / 10;

function appSource(randomBytes: number): string {
  return `// Bench app: counts every 100 ms; ${randomBytes} bytes of pseudo-random state.
import { Text, Timer, log } from "liquid";
const SIZE: i32 = ${randomBytes};
let buffer: StaticArray<u8> = new StaticArray<u8>(0);
let count: i32 = 0;
export function start(): void {
  buffer = new StaticArray<u8>(SIZE);
  let x: u32 = 0x9e3779b9;
  for (let i = 0; i < SIZE; i++) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; unchecked((buffer[i] = <u8>x)); }
  Timer.every(100);
}
export function on_timer(timer: i32): void {
  count++;
  log.info(Text.begin().str("count ").int(count));
}
`;
}

async function build(name: string, randomBytes: number): Promise<ModuleCopy> {
  const dir = join(WORK, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "app.ts"), appSource(randomBytes));
  const r = await buildApp(dir, { out: join(WORK, "out", `${name}.wasm`) });
  if (!r.ok) throw new Error(`building ${name} failed: ${[...r.errors, ...r.diagnostics.map((d) => d.message)].join("; ")}`);
  const manifestText = readFileSync(r.manifestPath!, "utf8");
  return { wasm: r.wasm!, manifestText, manifest: JSON.parse(manifestText) as AppManifest, sha256: toHex(sha256(r.wasm!)), origin: r.wasmPath! };
}

interface Device {
  name: string;
  url: string;
  process: StartedProcess;
}

async function waitHello(url: string): Promise<void> {
  const end = Date.now() + 20_000;
  for (;;) {
    try {
      const c = await DeviceClient.open(() => connectTcp(url), { timeoutMs: 1000, retries: 1, reconnectWindowMs: 0 });
      await c.close();
      return;
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function device(kind: "posix" | "qemu", name: string): Promise<Device> {
  const port = await freePort();
  const p =
    kind === "posix"
      ? await startPosixDevice(findPosixDevice()!, { port, flash: join(WORK, `${name}.img`) }, () => {})
      : await startQemuDevice(findQemuImage()!, { port }, () => {});
  await waitHello(p.url);
  return { name, url: p.url, process: p };
}

/** Loopback TCP rate: 8 MiB pushed through a socket to a peer that discards it. */
async function loopbackRate(): Promise<number> {
  const total = 8 * 1024 * 1024;
  let received = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => (done = r));
  const server = createServer((s) =>
    s.on("data", (d: Buffer) => {
      received += d.length;
      if (received >= total) done();
    }),
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  const sock = new Socket();
  await new Promise<void>((r) => sock.connect(port, "127.0.0.1", () => r()));
  const chunk = Buffer.alloc(4109, 0x5a); // a full protocol frame's size
  const t0 = performance.now();
  for (let sent = 0; sent < total; sent += chunk.length) {
    if (!sock.write(chunk)) await new Promise((r) => sock.once("drain", r));
  }
  await finished;
  const seconds = (performance.now() - t0) / 1000;
  sock.destroy();
  await new Promise<void>((r) => server.close(() => r()));
  return total / seconds;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measure(appModule: ModuleCopy, a: Device, b: Device): Promise<MigrationReport[]> {
  const name = appModule.manifest.name;
  const ca = await DeviceClient.open(() => connectTcp(a.url), { timeoutMs: 5000 });
  await ca.put(name, appModule.wasm, appModule.manifestText, { start: true });
  await ca.close();
  // The target gets the module once up front: the benchmark measures the state's move.
  const cb = await DeviceClient.open(() => connectTcp(b.url), { timeoutMs: 5000 });
  await cb.put(name, appModule.wasm, appModule.manifestText);
  await cb.close();
  const reports: MigrationReport[] = [];
  let [from, to] = [a, b];
  for (let i = 0; i < repeat; i++) {
    await new Promise((r) => setTimeout(r, 250)); // a few ticks between moves
    const r = await migrate({
      app: name,
      from: { connector: () => connectTcp(from.url), label: from.name },
      to: { connector: () => connectTcp(to.url), label: to.name },
      keep: true,
      module: async () => appModule,
      clientOptions: { timeoutMs: 10_000 },
    });
    reports.push(r);
    [from, to] = [to, from];
  }
  // Leave both devices empty for the next app.
  for (const d of [a, b]) {
    const c = await DeviceClient.open(() => connectTcp(d.url), { timeoutMs: 5000 });
    for (const entry of await c.list()) {
      if (entry.state === "running") await c.stop(entry.name);
      await c.remove(entry.name);
    }
    await c.close();
  }
  return reports;
}

/** Bytes per second of each device's link. */
type Rates = Record<string, number>;

function row(label: string, appName: string, reports: MigrationReport[], rates: Rates, rateLabel: string): string {
  const downtime = median(reports.map((r) => r.downtimeMs));
  const freeze = median(reports.map((r) => r.phasesMs.freeze));
  const restore = median(reports.map((r) => r.phasesMs.restore));
  const resume = median(reports.map((r) => r.phasesMs.resume));
  const wire = median(reports.map((r) => r.downtimeWireBytes));
  const snap = median(reports.map((r) => r.snapshotBytes));
  // Both links are used one after the other: the source's bytes, then the target's.
  const boundMs = median(reports.map((r) => (r.downtimeWire.source / rates[r.from.url]! + r.downtimeWire.target / rates[r.to.url]!) * 1000));
  return [
    label.padEnd(14),
    appName.padEnd(6),
    `${snap}`.padStart(7),
    `${wire}`.padStart(8),
    `${downtime.toFixed(1)}`.padStart(9),
    `${freeze.toFixed(1)}/${restore.toFixed(1)}/${resume.toFixed(1)}`.padStart(20),
    `${boundMs.toFixed(boundMs < 10 ? 2 : 1)} ms @ ${rateLabel}`.padStart(24),
    `${(downtime / boundMs).toFixed(boundMs < 1 ? 0 : 1)}x`.padStart(8),
  ].join(" ");
}

async function main(): Promise<void> {
  if (!findPosixDevice()) throw new Error("the posix firmware is not built: run cmake (see README) or 'liquid emulate --board posix' once");
  const apps = { empty: await build("empty", 0), full: await build("full", 60 * 1024), "12k": await build("12k", 12 * 1024) };
  const rate = await loopbackRate();
  const lines: string[] = [];
  const header = `${"link".padEnd(14)} ${"app".padEnd(6)} ${"snap B".padStart(7)} ${"wire B".padStart(8)} ${"downtime".padStart(9)} ${"freeze/restore/start".padStart(20)} ${"link-rate bound".padStart(24)} ${"ratio".padStart(8)}`;
  console.log(`live migration, median of ${repeat} moves (alternating directions); times in ms; wire = bytes both links carried while the app was frozen`);
  console.log(header);
  const devices: Device[] = [];
  try {
    const p1 = await device("posix", "posix-a");
    const p2 = await device("posix", "posix-b");
    devices.push(p1, p2);
    for (const which of ["empty", "full"] as const) {
      const reports = await measure(apps[which], p1, p2);
      const line = row("posix<->posix", which, reports, { [p1.url]: rate, [p2.url]: rate }, `${(rate / 1e6).toFixed(0)} MB/s`);
      lines.push(line);
      console.log(line);
    }
    if (findQemuImage()) {
      const q = await device("qemu", "qemu");
      devices.push(q);
      for (const which of ["empty", "12k", "full"] as const) {
        const reports = await measure(apps[which], p1, q);
        const line = row("posix<->qemu", which, reports, { [p1.url]: rate, [q.url]: UART_BYTES_PER_S }, "115200 Bd");
        lines.push(line);
        console.log(line);
      }
      console.log("posix<->qemu: QEMU does not pace its UART at the baud rate, so it beats the 115200 Bd bound; a real board's UART takes at least the bound");
    } else console.log("posix<->qemu: skipped (build/qemu's liquid-qemu.elf is not built; 'liquid emulate --board qemu' builds it)");
  } finally {
    for (const d of devices) d.process.child.kill("SIGKILL");
    rmSync(WORK, { recursive: true, force: true });
  }
  console.log(`firmware: ${findPosixDevice()}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench:migrate: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
