// SNAPSHOT/SNAPSHOT_READ and RESTORE_* through the client: an app's state moved between posix
// devices, between simulated devices, and across the simulator and the firmware in both
// directions continues where it was. Firmware parts are skipped when liquid-device is not built.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../compiler/src/commands/emulate.js";
import { DeviceClient } from "../../compiler/src/protocol/client.js";
import { findPosixDevice } from "../../compiler/src/transport/emulators.js";
import { connectTcp } from "../../compiler/src/transport/tcp.js";
import { memoryConnector } from "../../host-sim/src/device/index.js";
import { fixtureApp, gpio, simDevice, type BuiltApp } from "./support.js";
import { useLiquidHome } from "../helpers/liquid-home.js";

const BINARY = findPosixDevice();
const WORK = mkdtempSync(join(tmpdir(), "liquid-snapshot-"));
let counter: BuiltApp;
let blinky: BuiltApp;
const devices: RunningEmulator[] = [];
let restoreHome: () => void = () => {};

beforeAll(async () => {
  restoreHome = useLiquidHome(join(WORK, "home"));
  counter = await fixtureApp("counter", WORK);
  blinky = await fixtureApp("blinky", WORK);
});

afterAll(async () => {
  for (const d of devices) await d.stop();
  restoreHome();
  rmSync(WORK, { recursive: true, force: true });
});

/** The highest "count N" the app has logged. */
async function lastCount(client: DeviceClient): Promise<number> {
  const counts = (await client.allLogs()).flatMap((r) => (r.app === "counter" && /^count \d+$/.test(r.msg) ? [Number(r.msg.slice(6))] : []));
  return counts.length ? Math.max(...counts) : 0;
}

async function waitCount(client: DeviceClient, atLeast: number): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const n = await lastCount(client);
    if (n >= atLeast) return n;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the counter never reached ${atLeast}`);
}

describe.skipIf(!BINARY)(`snapshot and restore through the client${BINARY ? "" : " (SKIPPED: liquid-device is not built)"}`, () => {
  it("moves a running app's state from one posix device to another", async () => {
    const a = await startEmulator({ board: "posix", port: 0, quiet: true, flash: join(WORK, "a.img") });
    const b = await startEmulator({ board: "posix", port: 0, quiet: true, flash: join(WORK, "b.img") });
    devices.push(a, b);
    const from = await DeviceClient.open(() => connectTcp(a.url));
    const to = await DeviceClient.open(() => connectTcp(b.url));
    try {
      await from.put("counter", counter.wasm, counter.manifest, { start: true });
      await to.put("counter", counter.wasm, counter.manifest);
      await waitCount(from, 3);
      const snapshot = await from.snapshot("counter", { stop: true });
      expect(new TextDecoder().decode(snapshot.subarray(0, 4))).toBe("LQSN");
      const frozenAt = await lastCount(from);
      expect((await from.list())[0]!.state).toBe("stopped");

      await to.restore("counter", snapshot, { start: true });
      expect((await to.list())[0]!.state).toBe("running");
      const next = await waitCount(to, frozenAt + 1);
      // The restored copy counts on from where the first stopped: it never logs "count 1".
      const logged = (await to.allLogs()).filter((r) => r.app === "counter").map((r) => r.msg);
      expect(logged[0]).toBe(`count ${frozenAt + 1}`);
      expect(next).toBeGreaterThan(frozenAt);
    } finally {
      await from.close();
      await to.close();
    }
  });

  it("reports a snapshot of an app that is not running as the device's error", async () => {
    const dev = devices[0]!;
    const client = await DeviceClient.open(() => connectTcp(dev.url));
    try {
      await expect(client.snapshot("nope")).rejects.toThrow(/SNAPSHOT failed: ENOTFOUND/);
    } finally {
      await client.close();
    }
  });
});

describe("snapshots of simulated devices", () => {
  async function simPair() {
    const a = await simDevice({ id: "sim-a" });
    const b = await simDevice({ id: "sim-b" });
    const ca = await DeviceClient.open(memoryConnector(a.server));
    const cb = await DeviceClient.open(memoryConnector(b.server));
    return {
      a,
      b,
      ca,
      cb,
      close: async () => {
        await ca.close();
        await cb.close();
        await a.stop();
        await b.stop();
      },
    };
  }

  it("moves a counting app between two simulated devices, timer phase included", async () => {
    const p = await simPair();
    try {
      await p.ca.put("counter", counter.wasm, counter.manifest, { start: true });
      await p.cb.put("counter", counter.wasm, counter.manifest);
      p.a.simulation.runFor(1050); // ticks at 200..1000: count 5, next tick due in 150 ms
      expect(await lastCount(p.ca)).toBe(5);
      const snap = await p.ca.snapshot("counter", { stop: true });
      expect(new TextDecoder().decode(snap.subarray(0, 4))).toBe("LQSN");
      await p.cb.restore("counter", snap, { start: true });
      const t0 = p.b.simulation.now;
      p.b.simulation.runFor(400);
      const logged = (await p.cb.allLogs()).filter((r) => r.app === "counter");
      expect(logged.map((r) => [r.t - t0, r.msg])).toEqual([
        [150, "count 6"],
        [350, "count 7"],
      ]);
    } finally {
      await p.close();
    }
  });

  it("brings a lit LED along, and keeps a restore paused until START", async () => {
    const p = await simPair();
    try {
      await p.ca.put("blinky", blinky.wasm, blinky.manifest, { start: true });
      await p.cb.put("blinky", blinky.wasm, blinky.manifest);
      p.a.simulation.runFor(600); // LED0 went on at 500
      const snap = await p.ca.snapshot("blinky", { stop: true });
      await p.cb.restore("blinky", snap);
      expect((await p.cb.list())[0]!.state).toBe("stopped");
      expect(gpio(p.b.events, "LED0")).toEqual([]);
      await p.cb.start("blinky"); // resumes: no "blinky started", the LED is driven on at once
      const t0 = p.b.simulation.now;
      p.b.simulation.runFor(1000);
      expect(gpio(p.b.events, "LED0")).toEqual([
        [t0, 1],
        [t0 + 400, 0],
        [t0 + 900, 1],
      ]);
      expect((await p.cb.allLogs()).filter((r) => r.app === "blinky").map((r) => r.msg)).toEqual(["LED off", "LED on"]);
    } finally {
      await p.close();
    }
  });

  it("refuses a snapshot of another module, and a corrupted one, with the reason", async () => {
    const p = await simPair();
    try {
      await p.ca.put("counter", counter.wasm, counter.manifest, { start: true });
      await p.cb.put("counter", blinky.wasm, blinky.manifest);
      const snap = await p.ca.snapshot("counter");
      await expect(p.cb.restore("counter", snap)).rejects.toThrow("RESTORE_END failed: EINVALID: restore: snapshot is of a different module (sha256 differs)");
      await p.cb.put("counter", counter.wasm, counter.manifest);
      const broken = snap.slice(0, snap.length - 3);
      await expect(p.cb.restore("counter", broken)).rejects.toThrow(/RESTORE_END failed: EINVALID: snapshot: (truncated section|trailing bytes)/);
      expect((await p.cb.list())[0]!.state).toBe("stopped");
    } finally {
      await p.close();
    }
  });
});

describe.skipIf(!BINARY)("snapshots across the simulator and the posix firmware", () => {
  it("moves a counting app from a simulated device to the firmware and back", async () => {
    const posix = await startEmulator({ board: "posix", port: 0, quiet: true, flash: join(WORK, "c.img") });
    devices.push(posix);
    const sim = await simDevice();
    const cs = await DeviceClient.open(memoryConnector(sim.server));
    const cp = await DeviceClient.open(() => connectTcp(posix.url));
    try {
      await cs.put("counter", counter.wasm, counter.manifest, { start: true });
      await cp.put("counter", counter.wasm, counter.manifest);
      sim.simulation.runFor(1050);
      expect(await lastCount(cs)).toBe(5);
      await cp.restore("counter", await cs.snapshot("counter", { stop: true }), { start: true });
      const onFirmware = await waitCount(cp, 8);
      const fwLogged = (await cp.allLogs()).filter((r) => r.app === "counter").map((r) => r.msg);
      expect(fwLogged.slice(0, 3)).toEqual(["count 6", "count 7", "count 8"]);

      // ... and back to the simulator, which goes on from where the firmware was.
      const back = await cp.snapshot("counter", { stop: true });
      const frozen = await lastCount(cp);
      expect(frozen).toBeGreaterThanOrEqual(onFirmware);
      await cs.restore("counter", back, { start: true });
      const from = (await cs.allLogs()).length;
      sim.simulation.runFor(400);
      const simLogged = (await cs.allLogs()).slice(from).filter((r) => r.app === "counter").map((r) => r.msg);
      // The next tick is due within one period of the snapshot; the count goes on from there.
      expect(simLogged.slice(0, 2)).toEqual([`count ${frozen + 1}`, `count ${frozen + 2}`]);
    } finally {
      await cs.close();
      await cp.close();
      await sim.stop();
    }
  });
});
