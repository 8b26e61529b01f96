// The deploy flow against the firmware on an emulated Cortex-M4 (QEMU mps2-an386), started by
// `liquid emulate --board qemu`, over its UART socket. Skipped when QEMU or the image is missing.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../compiler/src/commands/emulate.js";
import { findQemuImage } from "../../compiler/src/transport/emulators.js";
import { DeviceClient } from "../../compiler/src/protocol/client.js";
import { connectTcp } from "../../compiler/src/transport/tcp.js";
import { memoryConnector } from "../../host-sim/src/device/index.js";
import { fixtureApp, simDevice } from "../protocol/support.js";
import { liquid, printed, until } from "./support.js";
import { useLiquidHome } from "../helpers/liquid-home.js";

const IMAGE = findQemuImage();
const HAVE_QEMU = spawnSync("qemu-system-arm", ["--version"]).status === 0;
const READY = !!IMAGE && HAVE_QEMU;
const HOME = mkdtempSync(join(tmpdir(), "liquid-qemu-home-"));
const WORK = mkdtempSync(join(tmpdir(), "liquid-qemu-work-"));
let device: RunningEmulator;
let restoreHome: () => void = () => {};

describe.skipIf(!READY)(`liquid commands against the QEMU firmware${READY ? "" : " (SKIPPED: qemu-system-arm or build/qemu/.../liquid-qemu.elf missing)"}`, () => {
  beforeAll(async () => {
    restoreHome = useLiquidHome(HOME, { clearPort: true });
    cpSync(join(import.meta.dirname, "..", "protocol", "fixtures", "blinky"), join(WORK, "blinky"), { recursive: true });
    device = await startEmulator({ board: "qemu", port: 0, quiet: true });
  });

  afterAll(async () => {
    await device?.stop();
    restoreHome();
    rmSync(HOME, { recursive: true, force: true });
    rmSync(WORK, { recursive: true, force: true });
  });

  it("deploys over the UART, runs on the ARM core, streams its log", async () => {
    const info = JSON.parse((await liquid("info", "--json")).out);
    expect(info).toMatchObject({ board: "qemu-mps2-an386", arch: "armv7e-m" });
    const deployed = await liquid("deploy", join(WORK, "blinky"), "--start");
    expect(deployed.err).toBe("");
    expect(deployed.out).toMatch(/^deployed blinky 1\.2\.0 \(\d+ B, sha256 [0-9a-f]{12}\) to tcp:\/\/127\.0\.0\.1:\d+, running/m);
    const mark = printed.out.length;
    const follow = liquid("logs", "-f", "--app", "blinky");
    await until(() => /INF blinky +LED off/.test(printed.out.slice(mark)), "the ARM firmware's 'LED off' line", 20_000);
    process.emit("SIGINT");
    expect((await follow).out).toMatch(/^ +\d+\.\d{3} INF blinky +blinky started\n +\d+\.\d{3} INF blinky +LED on\n/);
    expect((await liquid("stop", "blinky")).out).toBe("stopped blinky\n");
    expect((await liquid("rm", "blinky")).out).toBe("removed blinky\n");
    expect((await liquid("ps", "--json")).out).toBe("[]\n");
  });

  it("the emulated TMP105 starts at room temperature and follows 'temp C' typed at the console", async () => {
    cpSync(join(import.meta.dirname, "..", "..", "examples", "thermometer"), join(WORK, "thermometer"), { recursive: true });
    rmSync(join(WORK, "thermometer", "build"), { recursive: true, force: true });
    expect((await liquid("deploy", join(WORK, "thermometer"), "--start")).err).toBe("");
    const c = await DeviceClient.open(() => connectTcp(device.url), { timeoutMs: 3000 });
    const temps = async () => (await c.allLogs()).flatMap((r) => (r.app === "thermometer" ? [r.msg] : []));
    try {
      let seen: string[] = [];
      for (let i = 0; i < 50 && !seen.includes("23.50 C"); i++) {
        seen = await temps();
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(seen).toContain("23.50 C");
      expect(device.control("temp 30.25")).toBeUndefined();
      for (let i = 0; i < 50 && !seen.includes("30.25 C"); i++) {
        seen = await temps();
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(seen).toContain("30.25 C");
      expect(device.control("temp warm")).toBe("usage: temp CELSIUS");
      await c.remove("thermometer");
    } finally {
      await c.close();
    }
  });

  it("takes over a counting app from a simulated device (V8 -> Cortex-M4) and hands it back", async () => {
    const counter = await fixtureApp("counter", WORK);
    const sim = await simDevice();
    const cs = await DeviceClient.open(memoryConnector(sim.server));
    const cq = await DeviceClient.open(() => connectTcp(device.url), { timeoutMs: 3000 });
    const counts = async (c: DeviceClient) =>
      (await c.allLogs()).flatMap((r) => (r.app === "counter" && /^count \d+$/.test(r.msg) ? [Number(r.msg.slice(6))] : []));
    try {
      await cs.put("counter", counter.wasm, counter.manifest, { start: true });
      await cq.put("counter", counter.wasm, counter.manifest);
      sim.simulation.runFor(1050);
      await cq.restore("counter", await cs.snapshot("counter", { stop: true }), { start: true });
      let onArm: number[] = [];
      for (let i = 0; i < 100 && onArm.length < 3; i++) {
        onArm = await counts(cq);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(onArm.slice(0, 3)).toEqual([6, 7, 8]);
      const back = await cq.snapshot("counter", { stop: true });
      const frozen = Math.max(...(await counts(cq)));
      await cs.restore("counter", back, { start: true });
      const before = (await counts(cs)).length;
      sim.simulation.runFor(200);
      // The next tick is due within one period of the snapshot: the count goes on from there.
      expect((await counts(cs)).slice(before)[0]).toBe(frozen + 1);
      await cq.remove("counter");
    } finally {
      await cs.close();
      await cq.close();
      await sim.stop();
    }
  });
});
