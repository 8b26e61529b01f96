// The full Liquid firmware (runtime + engine + HAL) on QEMU's Cortex-M4F: apps built by
// `liquid build` are deployed over the TCP UART with the TypeScript protocol client, and what
// a user would see is checked: LED edges (QEMU traces the LED registers; the firmware also
// prints each edge with its own time on the console UART), log records, app states, the
// TMP105 read through the bit-banged I2C while QMP changes its temperature, and the limits
// of a 256 KiB part.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../compiler/src/app-build/index.js";
import { DeviceClient } from "../../compiler/src/protocol/client.js";
import type { DeviceEvent } from "../../compiler/src/protocol/types.js";
import { encodeFrame } from "../../compiler/src/protocol/frame.js";
import { socketTransport } from "../../compiler/src/transport/tcp.js";
import { HAVE_ARM_GCC, HAVE_QEMU, Qemu, ROOT, armImage, buildArmPort } from "./qemu-harness.js";
import { deviceError } from "../helpers/device-error.js";

const runnable = HAVE_QEMU && HAVE_ARM_GCC;
const title = runnable
  ? "liquid firmware on qemu mps2-an386"
  : "liquid firmware on qemu mps2-an386 (SKIPPED: qemu-system-arm or arm-none-eabi-gcc is not installed)";

interface Built {
  wasm: Uint8Array;
  manifest: Record<string, unknown>;
}

/** A hand-assembled module whose start() never returns: `loop br 0 end`. */
const RUNAWAY = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
  0x03, 0x02, 0x01, 0x00,
  0x07, 0x09, 0x01, 0x05, 0x73, 0x74, 0x61, 0x72, 0x74, 0x00, 0x00,
  0x0a, 0x09, 0x01, 0x07, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b,
]);
const RUNAWAY_MANIFEST = { liquid: 1, name: "runaway", version: "0.0.1", capabilities: [], resources: { pins: [], buses: [] } };

function intervals(edges: Array<{ t: number }>): number[] {
  return edges.slice(1).map((e, i) => e.t - edges[i]!.t);
}

describe.skipIf(!runnable)(title, () => {
  let kernel = "";
  let tmp = "";
  const apps: Record<string, Built> = {};
  const running: Array<{ qemu: Qemu; client?: DeviceClient }> = [];

  async function boot(options: { append?: string } = {}): Promise<{ qemu: Qemu; client: DeviceClient }> {
    const qemu = await Qemu.start({ kernel, tmp105: true, qmp: true, semihosting: true, append: options.append });
    const entry: { qemu: Qemu; client?: DeviceClient } = { qemu };
    running.push(entry);
    await qemu.waitConsole(/^ready\r?$/m);
    const client = await DeviceClient.open(async () => socketTransport("tcp://qemu-uart0", qemu.uart), { timeoutMs: 3000 });
    entry.client = client;
    return { qemu, client };
  }

  beforeAll(async () => {
    const { dir } = await buildArmPort("qemu", ["liquid-qemu"]);
    kernel = armImage(dir, "liquid-qemu");
    tmp = mkdtempSync(join(tmpdir(), "lq-qemu-"));
    for (const name of ["blinky", "thermometer", "button"]) {
      const r = await buildApp(join(ROOT, "examples", name), { out: join(tmp, `${name}.wasm`) });
      if (!r.ok) throw new Error(`building ${name} failed: ${r.errors.join("; ")}`);
      apps[name] = { wasm: new Uint8Array(readFileSync(r.wasmPath!)), manifest: JSON.parse(readFileSync(r.manifestPath!, "utf8")) };
    }
  }, 300_000);

  afterEach(async () => {
    while (running.length) {
      const { qemu, client } = running.pop()!;
      await client?.close().catch(() => undefined);
      qemu.kill();
    }
  });

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("boots and describes itself: board, ARM arch, LEDs, the TMP105 found by the I2C scan", async () => {
    const t0 = Date.now();
    const { qemu, client } = await boot();
    const hello = await client.hello();
    expect(hello).toMatchObject({ protocol: 1, firmware: "liquid", deviceId: "qemu-an386" });
    const info = await client.info();
    console.log(`qemu mps2-an386: protocol answered ${Date.now() - t0} ms after QEMU started (incl. QEMU start-up)`);
    expect(info).toMatchObject({ board: "qemu-mps2-an386", arch: "armv7e-m", memory: { ram: 262144 } });
    expect(info.pins.map((p) => p.name)).toEqual(["LED0", "LED1", "LED2", "LED3", "LED4", "LED5", "LED6", "LED7", "LED8", "LED9", "BUTTON0", "BUTTON1"]);
    expect(info.buses).toEqual([{ name: "I2C0", kind: "i2c", devices: [{ addr: 72, driver: "tmp105" }] }]);
    expect(info.store.total).toBe(520192);
    expect(qemu.console).toContain("I2C0: device at 0x48 is a tmp105");
    const scanned = /^log (\d+) info -: I2C0: device at 0x48/m.exec(qemu.console);
    if (scanned) console.log(`qemu runtime boot: store mounted and I2C scanned at device t=${scanned[1]} ms`);
    // Idle with no app for longer than the watchdog's 2 s: the runtime's loop keeps kicking it.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect((await client.hello()).firmware).toBe("liquid");
    expect(qemu.console).not.toContain("WATCHDOG");
    expect(qemu.console.match(/mps2-an386 port up/g)).toHaveLength(1);
  });

  it("blinky: LED0 toggles every 500 ms of device time, and RESET keeps and autostarts it", async () => {
    const { qemu, client } = await boot();
    const deployed = Date.now() - qemu.started;
    await client.put("blinky", apps.blinky!.wasm, apps.blinky!.manifest, { start: true, autostart: true });
    await qemu.waitFor(() => (qemu.deviceEdges("LED0").length >= 6 ? true : null), () => `LED0: ${qemu.console}`);
    const edges = qemu.deviceEdges("LED0").slice(0, 6);
    expect(edges.map((e) => e.value)).toEqual([1, 0, 1, 0, 1, 0]);
    // Device time of the timer events: exactly the app's period.
    const periods = intervals(edges);
    console.log(`qemu blinky periods (device ms): ${periods.join(" ")}; first LED0 edge ${qemu.edges("LED0")[0]!.ms - deployed} ms after the upload began`);
    expect(periods).toEqual([500, 500, 500, 500, 500]);
    // QEMU's own trace of the LED register shows the same edges.
    expect(qemu.edges("LED0").slice(0, 6).map((e) => e.value)).toEqual([1, 0, 1, 0, 1, 0]);

    const mark = qemu.console.length;
    await client.reset(false);
    await qemu.waitFor(() => (/app 'blinky' running/.test(qemu.console.slice(mark)) ? true : null), () => `no autostart after reset:\n${qemu.console.slice(mark)}`);
    const list = await client.list();
    expect(list).toEqual([expect.objectContaining({ name: "blinky", state: "running", autostart: true })]);
  });

  it("thermometer: reads the TMP105 over I2C, follows QMP changes, LED2 lights above 25 C", async () => {
    const { qemu, client } = await boot();
    await qemu.setTemperature(23500);
    const events: DeviceEvent[] = [];
    client.onEvent((e) => events.push(e));
    await client.logs(0, true);
    await client.put("thermometer", apps.thermometer!.wasm, apps.thermometer!.manifest, { start: true });
    const said = (msg: string) => () =>
      events.some((e) => e.kind === "log" && e.record.app === "thermometer" && e.record.msg === msg) ? true : null;
    await qemu.waitFor(said("23.50 C"), () => `no 23.50 C log; events: ${JSON.stringify(events)}`);
    expect(qemu.deviceEdges("LED2")).toEqual([]);
    await qemu.setTemperature(26500);
    await qemu.waitFor(said("26.50 C"), () => `no 26.50 C log; events: ${JSON.stringify(events)}`);
    await qemu.waitFor(() => (qemu.deviceEdges("LED2").length ? true : null), () => "LED2 never lit");
    expect(qemu.deviceEdges("LED2")[0]!.value).toBe(1);
    await qemu.setTemperature(-5000);
    await qemu.waitFor(said("-5.00 C"), () => `no -5.00 C log; events: ${JSON.stringify(events)}`);
    await qemu.waitFor(() => (qemu.deviceEdges("LED2").length === 2 ? true : null), () => "LED2 never went off");
  });

  it("button: presses of the virtual BUTTON0 toggle LED1, a bounce shorter than the debounce does not", async () => {
    const { qemu, client } = await boot();
    await client.put("button", apps.button!.wasm, apps.button!.manifest, { start: true });
    await qemu.waitFor(() => (/app 'button' running/.test(qemu.console) ? true : null), () => "button did not start");
    // "running" is reported when start() is queued; the runtime's loop runs the queued events
    // between two protocol polls, so one more round trip means start() has set its pin watch.
    await client.list();
    const led1 = () => qemu.deviceEdges("LED1").map((e) => e.value);
    await qemu.setButton("BUTTON0", 0); // press: the line goes low
    await qemu.waitFor(() => (led1().length === 1 ? true : null), () => `LED1 after a press: ${led1()}`);
    await qemu.setButton("BUTTON0", 1);
    // A bounce: low and back high within one console write, far below the 30 ms debounce.
    const from = qemu.console.length;
    qemu.consoleInput("set BUTTON0 0\nset BUTTON0 1\n");
    await qemu.waitFor(() => ((qemu.console.slice(from).match(/control ok: BUTTON0/g) ?? []).length === 2 ? true : null), () => "bounce not acknowledged");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(led1()).toEqual([1]);
    await qemu.setButton("BUTTON0", 0);
    await qemu.waitFor(() => (led1().length === 2 ? true : null), () => `LED1 after the second press: ${led1()}`);
    expect(led1()).toEqual([1, 0]);
    // A button the board does not have is refused on the console, and changes nothing.
    qemu.consoleInput("set BUTTON7 0\n");
    await qemu.waitConsole(/control error: unknown command 'set BUTTON7 0' \(set BUTTON0\|BUTTON1 0\|1, stats\)/);
    expect(led1()).toEqual([1, 0]);
  });

  it("a runaway app is stopped by its budget and never stops blinky's LED", async () => {
    const { qemu, client } = await boot();
    await client.put("blinky", apps.blinky!.wasm, apps.blinky!.manifest, { start: true });
    await qemu.waitFor(() => (qemu.deviceEdges("LED0").length >= 2 ? true : null), () => "blinky did not start");
    const before = qemu.deviceEdges("LED0").length;
    const mark = qemu.console.length;
    await client.put("runaway", RUNAWAY, RUNAWAY_MANIFEST, { start: true });
    // While the runaway burns its fuel slices, blinky keeps its rhythm.
    await qemu.waitFor(() => (qemu.deviceEdges("LED0").length >= before + 6 ? true : null), () => `LED0 stalled:\n${qemu.console.slice(mark)}`, 15_000);
    const during = qemu.deviceEdges("LED0").slice(before - 1);
    expect(intervals(during).every((p) => p === 500)).toBe(true);
    // QEMU's trace (host time) agrees that the LED kept toggling while the runaway ran.
    const traced = qemu.edges("LED0").slice(-6);
    console.log(`qemu blinky periods beside the runaway (QEMU trace, host ms): ${intervals(traced.map((e) => ({ t: e.ms }))).join(" ")}`);
    await qemu.waitFor(
      async () => ((await client.list()).find((a) => a.name === "runaway")?.state === "trapped" ? true : null),
      () => `runaway not trapped:\n${qemu.console.slice(mark)}`,
      15_000,
    );
    const runaway = (await client.list()).find((a) => a.name === "runaway")!;
    expect(runaway.error).toBeTruthy();
    console.log(`qemu runaway app stopped with: ${runaway.error}`);
    expect((await client.list()).find((a) => a.name === "blinky")!.state).toBe("running");
  });

  it("RAM is 256 KiB: a third app is refused with a clear error while two keep running", async () => {
    const { qemu, client } = await boot();
    await client.put("blinky", apps.blinky!.wasm, apps.blinky!.manifest, { start: true });
    await client.put("thermometer", apps.thermometer!.wasm, apps.thermometer!.manifest, { start: true });
    await client.put("blinky2", apps.blinky!.wasm, { ...apps.blinky!.manifest, name: "blinky2" });
    const err = await deviceError(client.start("blinky2"));
    console.log(`qemu third app: ${err.message}`);
    expect(err.message).toMatch(/too many apps running|out of memory/);
    const states = Object.fromEntries((await client.list()).map((a) => [a.name, a.state]));
    expect(states).toEqual({ blinky: "running", thermometer: "running", blinky2: "stopped" });
    await qemu.waitFor(() => (qemu.deviceEdges("LED0").length >= 2 ? true : null), () => "blinky stopped blinking");
    // The deepest stack use so far (the stack is painted at reset; its last 256 bytes are an
    // MPU guard that would have faulted).
    qemu.consoleInput("stats\n");
    const stats = await qemu.waitConsole(/stats: stack (\d+) of (\d+) bytes used/);
    console.log(`qemu stack high-water after two apps, uploads and I2C reads: ${stats[1]} of ${stats[2]} bytes`);
    expect(Number(stats[2])).toBe(8192);
    expect(Number(stats[1])).toBeGreaterThan(0);
    expect(Number(stats[1])).toBeLessThan(8192 - 256);
  });

  it("with -append store=FILE the module store survives a QEMU restart", async () => {
    const store = join(tmp, "store.bin");
    const first = await boot({ append: `store=${store}` });
    await first.client.put("blinky", apps.blinky!.wasm, apps.blinky!.manifest, { start: true, autostart: true });
    await first.client.close();
    first.qemu.kill();
    running.length = 0;

    const second = await boot({ append: `store=${store}` });
    expect(await second.client.list()).toEqual([expect.objectContaining({ name: "blinky", state: "running", autostart: true })]);
    await second.qemu.waitFor(() => (second.qemu.deviceEdges("LED0").length >= 2 ? true : null), () => "blinky did not autostart");
    const firstEdge = second.qemu.edges("LED0")[0]!.ms;
    console.log(`qemu boot to first LED0 edge of the autostarted blinky: ${firstEdge} ms (QEMU trace; blinky's first toggle is due 500 ms after its start)`);
  });

  it("QEMU killed in the middle of an upload: the store file still mounts with the earlier apps", async () => {
    const store = join(tmp, "store-kill.bin");
    const first = await boot({ append: `store=${store}` });
    await first.client.put("blinky", apps.blinky!.wasm, apps.blinky!.manifest, { start: true, autostart: true });
    // A 10 KiB module takes several chunks; pull the plug while they are being written.
    const leb = (n: number): number[] => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, ...leb(n >>> 7)]);
    const body = [3, 0x70, 0x61, 0x64, ...new Uint8Array(10 * 1024)];
    const padded = new Uint8Array([...apps.thermometer!.wasm, 0x00, ...leb(body.length), ...body]);
    let held = 0;
    const upload = first.client
      .put("thermometer", padded, apps.thermometer!.manifest, { chunkSize: 1024, onProgress: (p) => (held = p.offset) })
      .catch((e: Error) => e);
    await first.qemu.waitFor(() => (held >= 3072 ? true : null), () => `upload did not progress (${held})`);
    first.qemu.kill();
    await first.client.close().catch(() => undefined); // the upload's promise ends with an error
    void upload;
    running.length = 0;

    const second = await boot({ append: `store=${store}` });
    const list = await second.client.list();
    expect(list.find((a) => a.name === "blinky")).toMatchObject({ state: "running", autostart: true });
    const partial = list.find((a) => a.name === "thermometer");
    if (partial) expect(partial.size).toBe(padded.length); // only a complete, verified module may appear
    expect(second.qemu.console).not.toMatch(/store: .*formatting/);
    // the interrupted upload can simply be done again
    await second.client.put("thermometer", padded, apps.thermometer!.manifest, { start: true });
    expect((await second.client.list()).find((a) => a.name === "thermometer")).toMatchObject({ state: "running" });
  });

  it("a module over the MCU's 12 KiB limit is refused with the limit, and nothing is installed", async () => {
    const { client } = await boot();
    // A valid module padded past the limit with a custom section "pad".
    const pad = 13 * 1024;
    const leb = (n: number): number[] => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, ...leb(n >>> 7)]);
    const body = [3, 0x70, 0x61, 0x64, ...new Uint8Array(pad)];
    const big = new Uint8Array([...apps.blinky!.wasm, 0x00, ...leb(body.length), ...body]);
    expect(big.length).toBeGreaterThan(12288);
    const err = await deviceError(client.put("big", big, { ...apps.blinky!.manifest, name: "big" }));
    expect(err.message).toContain(`module size ${big.length} not accepted: this device takes 1..12288 bytes`);
    expect(await client.list()).toEqual([]);
  });

  it("a storm of garbage, corrupt, truncated and oversized frames neither crashes nor resets the ARM firmware", async () => {
    const { qemu, client } = await boot();
    await client.put("blinky", apps.blinky!.wasm, apps.blinky!.manifest, { start: true });
    await qemu.waitFor(() => (qemu.deviceEdges("LED0").length >= 1 ? true : null), () => "blinky did not start");
    let x = 0x1234567; // xorshift: the same storm every run
    const rand = (n: number) => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % n;
    };
    const bytes = (n: number) => Uint8Array.from({ length: n }, () => rand(256));
    // Only commands that change nothing: HELLO, INFO, LIST, LOGS, PUT_CHUNK (unknown upload), and
    // an unknown code.
    const harmless = [0x01, 0x02, 0x13, 0x20, 0x11, 0x7e];
    for (let i = 0; i < 400; i++) {
      const frame = encodeFrame({ command: harmless[rand(harmless.length)]!, flags: 0, seq: 1000 + i, payload: bytes(rand(64)) });
      switch (rand(6)) {
        case 0: qemu.uart.write(bytes(1 + rand(200))); break; // noise
        case 1: frame[9 + rand(frame.length - 9)] ^= 0xff; qemu.uart.write(frame); break; // bad CRC
        case 2: qemu.uart.write(frame.subarray(0, rand(frame.length))); break; // truncated
        case 3: qemu.uart.write(Uint8Array.of(0x4c, 0x51, 1, 0x13, 0, 0, 0, 0xff, 0xff)); break; // length 65535
        case 4: frame[2] = 9; qemu.uart.write(frame); break; // unknown version
        default: qemu.uart.write(frame); // valid and harmless
      }
    }
    // Past the 500 ms partial-frame timeout, the device answers as if nothing happened.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await client.hello()).firmware).toBe("liquid");
    const list = await client.list();
    expect(list).toEqual([expect.objectContaining({ name: "blinky", state: "running", size: apps.blinky!.wasm.length })]);
    const before = qemu.deviceEdges("LED0").length;
    await qemu.waitFor(() => (qemu.deviceEdges("LED0").length >= before + 2 ? true : null), () => "blinky stopped during the storm");
    expect(qemu.console).not.toMatch(/FAULT|WATCHDOG|FATAL/);
    expect(qemu.console.match(/mps2-an386 port up/g)).toHaveLength(1);
  });

  it("garbage on the UART costs nothing: the next request is answered", async () => {
    const { qemu, client } = await boot();
    qemu.uart.write(Buffer.from("LQ\x01\xff\xff garbage LQ LQ\x01\x02\x00\x00\x00\xff\xff not a frame", "latin1"));
    expect((await client.hello()).firmware).toBe("liquid");
    expect(await client.list()).toEqual([]);
  });
});
