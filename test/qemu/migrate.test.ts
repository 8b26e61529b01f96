// Live migration across architectures: an app's state moves between the posix firmware
// (x86-64, under ASan/UBSan) and the same firmware on QEMU's Cortex-M4F, both ways, with the
// protocol's SNAPSHOT/RESTORE. The counter's value and blinky's LED level and rhythm must carry
// over — the portable snapshot format is what makes the two engines interchangeable.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../compiler/src/app-build/index.js";
import { DeviceClient } from "../../compiler/src/protocol/client.js";
import type { DeviceEvent } from "../../compiler/src/protocol/types.js";
import { socketTransport } from "../../compiler/src/transport/tcp.js";
import { PosixDevice, deviceBuilt } from "../firmware/device.js";
import { HAVE_ARM_GCC, HAVE_QEMU, Qemu, ROOT, armImage, buildArmPort } from "./qemu-harness.js";
import { writeCounterApp } from "../helpers/counter-app.js";

const runnable = HAVE_QEMU && HAVE_ARM_GCC;
const title = runnable
  ? "migration between the posix firmware and the firmware on qemu mps2-an386"
  : "migration posix <-> qemu (SKIPPED: qemu-system-arm or arm-none-eabi-gcc is not installed)";

interface Built {
  wasm: Uint8Array;
  manifest: Record<string, unknown>;
}

describe.skipIf(!runnable)(title, () => {
  let kernel = "";
  let tmp = "";
  const apps: Record<string, Built> = {};
  const cleanups: Array<() => Promise<void>> = [];

  async function qemuDevice(): Promise<{ qemu: Qemu; client: DeviceClient; events: DeviceEvent[] }> {
    const qemu = await Qemu.start({ kernel, tmp105: true, semihosting: true });
    cleanups.push(async () => qemu.kill());
    await qemu.waitConsole(/^ready\r?$/m);
    const client = await DeviceClient.open(async () => socketTransport("tcp://qemu-uart0", qemu.uart), { timeoutMs: 3000 });
    cleanups.push(() => client.close().catch(() => undefined));
    const events: DeviceEvent[] = [];
    client.onEvent((e) => events.push(e));
    await client.logs(0, true);
    return { qemu, client, events };
  }

  async function posixDevice(name: string): Promise<{ device: PosixDevice; client: DeviceClient }> {
    const device = await PosixDevice.start(join(tmp, `${name}.img`));
    cleanups.push(async () => void (await device.stop()));
    const client = await device.client();
    cleanups.push(() => client.close().catch(() => undefined));
    return { device, client };
  }

  const qemuCounts = (events: DeviceEvent[]) =>
    events
      .map((e) => (e.kind === "log" && e.record.app === "counter" ? /^count (\d+)$/.exec(e.record.msg) : null))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]));
  const posixCounts = (d: PosixDevice) =>
    d.lines.map((l) => / info counter: count (\d+)$/.exec(l)).filter((m): m is RegExpExecArray => m !== null).map((m) => Number(m[1]));

  beforeAll(async () => {
    if (!deviceBuilt()) throw new Error("the posix liquid-device is not built (the global setup builds build/posix-asan)");
    const { dir } = await buildArmPort("qemu", ["liquid-qemu"]);
    kernel = armImage(dir, "liquid-qemu");
    tmp = mkdtempSync(join(tmpdir(), "lq-migrate-"));
    const counterDir = writeCounterApp(tmp);
    for (const [name, source] of [["counter", counterDir], ["blinky", join(ROOT, "examples", "blinky")]] as const) {
      const r = await buildApp(source, { out: join(tmp, `${name}.wasm`) });
      if (!r.ok) throw new Error(`building ${name} failed: ${r.errors.join("; ")}`);
      apps[name] = { wasm: new Uint8Array(readFileSync(r.wasmPath!)), manifest: JSON.parse(readFileSync(r.manifestPath!, "utf8")) };
    }
  }, 300_000);

  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("a counter counts on ARM, continues on x86-64, and comes back to ARM without losing a step", async () => {
    const arm = await qemuDevice();
    const x86 = await posixDevice("counter");
    await arm.client.put("counter", apps.counter!.wasm, apps.counter!.manifest, { start: true });
    await x86.client.put("counter", apps.counter!.wasm, apps.counter!.manifest);
    await arm.qemu.waitFor(() => (qemuCounts(arm.events).includes(4) ? true : null), () => `counter on ARM: ${qemuCounts(arm.events)}`);

    const fromArm = await arm.client.snapshot("counter", { stop: true });
    const lastOnArm = qemuCounts(arm.events).at(-1)!;
    console.log(`snapshot of the counter on ARM: ${fromArm.length} bytes at count ${lastOnArm}`);
    await x86.client.restore("counter", fromArm, { start: true });
    await x86.device.waitFor((l) => new RegExp(` info counter: count ${lastOnArm + 3}$`).test(l));
    expect(posixCounts(x86.device).slice(0, 3)).toEqual([lastOnArm + 1, lastOnArm + 2, lastOnArm + 3]);

    const fromX86 = await x86.client.snapshot("counter", { stop: true });
    const lastOnX86 = posixCounts(x86.device).at(-1)!;
    const mark = arm.events.length;
    await arm.client.restore("counter", fromX86, { start: true });
    await arm.qemu.waitFor(
      () => (qemuCounts(arm.events.slice(mark)).length >= 2 ? true : null),
      () => `counter back on ARM: ${qemuCounts(arm.events.slice(mark))}`,
    );
    expect(qemuCounts(arm.events.slice(mark)).slice(0, 2)).toEqual([lastOnX86 + 1, lastOnX86 + 2]);
    expect((await arm.client.list()).find((a) => a.name === "counter")).toMatchObject({ state: "running" });
  });

  it("blinky moves from x86-64 to ARM with LED0 where it was and keeps its 500 ms rhythm", async () => {
    const x86 = await posixDevice("blinky");
    const arm = await qemuDevice();
    await x86.client.put("blinky", apps.blinky!.wasm, apps.blinky!.manifest, { start: true });
    await arm.client.put("blinky", apps.blinky!.wasm, apps.blinky!.manifest);
    await x86.device.waitForCount((l) => /^gpio \d+ LED0 /.test(l), 3);
    const snap = await x86.client.snapshot("blinky", { stop: true });
    const lastLevel = x86.device.gpio("LED0").at(-1)!.value;
    await arm.client.restore("blinky", snap, { start: true });
    await arm.qemu.waitFor(() => (arm.qemu.deviceEdges("LED0").length >= 3 ? true : null), () => `LED0 on ARM:\n${arm.qemu.console}`);
    // On ARM the restored level is driven first (an edge only when it is 1, LEDs start off),
    // then the toggles continue from it: either way the edges read 1, 0, 1.
    const edges = arm.qemu.deviceEdges("LED0");
    expect(edges.slice(0, 3).map((e) => e.value)).toEqual([1, 0, 1]);
    const toggles = edges.slice(lastLevel === 1 ? 1 : 0);
    expect(toggles[1]!.t - toggles[0]!.t).toBe(500);
    expect(toggles[0]!.value).toBe(1 - lastLevel);
  });
});
