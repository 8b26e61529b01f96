// End to end on the posix firmware (liquid-device under ASan/UBSan): the examples built by
// `liquid build`, deployed over the device protocol with the TypeScript client, observed on the
// device's stdout (LED edges with device time, log records) and through the protocol.
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildApp } from "../../compiler/src/app-build/index.js";
import { DeviceClient } from "../../compiler/src/protocol/client.js";
import { connectTcp } from "../../compiler/src/transport/tcp.js";
import type { DeviceEvent } from "../../compiler/src/protocol/types.js";
import { ROOT } from "../helpers/native-build.js";
import { ModuleBuilder, op, sleb } from "../helpers/wasm-builder.js";
import { PosixDevice, tempDir } from "./device.js";
import { deviceError } from "../helpers/device-error.js";
import { writeCounterApp } from "../helpers/counter-app.js";

interface Built {
  wasm: Uint8Array;
  manifest: Record<string, unknown>;
}

const apps: Record<string, Built> = {};
let tmp: { dir: string; cleanup: () => void };
const devices: PosixDevice[] = [];

async function device(flashName: string): Promise<PosixDevice> {
  const d = await PosixDevice.start(join(tmp.dir, flashName));
  devices.push(d);
  return d;
}

/** Stops a device and checks it exited cleanly, without a sanitizer report. */
async function stopClean(d: PosixDevice): Promise<void> {
  expect(await d.stop()).toBe(0);
  expect(d.stderr).not.toMatch(/Sanitizer|runtime error/);
}

/** A wasm module assembled by hand: exports start() whose body is `body` (no locals). */
function moduleWithStart(body: number[]): Uint8Array {
  const code = [0x00, ...body, 0x0b];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type 0: () -> ()
    0x03, 0x02, 0x01, 0x00, // func 0: type 0
    0x07, 0x09, 0x01, 0x05, 0x73, 0x74, 0x61, 0x72, 0x74, 0x00, 0x00, // export "start"
    0x0a, code.length + 2, 0x01, code.length, ...code,
  ]);
}

/** Like moduleWithStart (an empty exported start()), plus a wasm start function (what
 * AssemblyScript's top-level code compiles to) whose body is `init`; it runs while instantiating. */
function moduleWithInit(init: number[]): Uint8Array {
  const a = [0x00, 0x0b];
  const b = [0x00, ...init, 0x0b];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type 0: () -> ()
    0x03, 0x03, 0x02, 0x00, 0x00, // func 0 (start export), func 1 (init)
    0x07, 0x09, 0x01, 0x05, 0x73, 0x74, 0x61, 0x72, 0x74, 0x00, 0x00, // export "start"
    0x08, 0x01, 0x01, // start section: func 1
    0x0a, a.length + b.length + 3, 0x02, a.length, ...a, b.length, ...b,
  ]);
}

const bareManifest = (name: string) => ({ liquid: 1, name, version: "0.0.1", capabilities: [], resources: { pins: [], buses: [] } });

beforeAll(async () => {
  tmp = tempDir("lq-deploy-");
  // A counter whose whole state is one global: what a migration must carry over.
  const counterDir = writeCounterApp(tmp.dir);
  const sources: Record<string, string> = {
    blinky: join(ROOT, "examples", "blinky"),
    thermometer: join(ROOT, "examples", "thermometer"),
    button: join(ROOT, "examples", "button"),
    counter: counterDir,
  };
  for (const [name, source] of Object.entries(sources)) {
    const r = await buildApp(source, { out: join(tmp.dir, `${name}.wasm`) });
    if (!r.ok) throw new Error(`building ${name} failed: ${r.errors.join("; ")}`);
    apps[name] = {
      wasm: new Uint8Array(readFileSync(r.wasmPath!)),
      manifest: JSON.parse(readFileSync(r.manifestPath!, "utf8")) as Record<string, unknown>,
    };
  }
}, 120_000);

afterAll(async () => {
  for (const d of devices) await d.stop();
  tmp?.cleanup();
});

describe("posix device: deploy and run apps", () => {
  test("blinky: LED0 toggles every 500 ms of device time; a rebooted device keeps and autostarts it", async () => {
    const dev = await device("blinky.img");
    const c = await dev.client();
    const firstId = c.helloInfo!.deviceId;
    expect(firstId).toMatch(/^posix-[0-9a-f]{4}$/);
    const put = await c.put("blinky", apps.blinky!.wasm, apps.blinky!.manifest, { start: true, autostart: true });
    expect(put.name).toBe("blinky");
    await dev.waitForCount((l) => /^gpio \d+ LED0 /.test(l), 5);
    const edges = dev.gpio("LED0").slice(0, 5);
    expect(edges.map((e) => e.value)).toEqual([1, 0, 1, 0, 1]);
    for (let i = 1; i < edges.length; i++) expect(edges[i]!.t - edges[i - 1]!.t).toBe(500);
    const list = await c.list();
    expect(list).toEqual([
      expect.objectContaining({ name: "blinky", version: "0.1.0", size: apps.blinky!.wasm.length, state: "running", autostart: true }),
    ]);
    await c.close();
    await stopClean(dev);

    // Power cycle: a new process on the same flash image.
    const again = await device("blinky.img");
    expect(again.lines.some((l) => /^app \d+ blinky running$/.test(l))).toBe(true);
    await again.waitForCount((l) => /^gpio \d+ LED0 /.test(l), 3);
    const e2 = again.gpio("LED0");
    expect(e2[1]!.t - e2[0]!.t).toBe(500);
    const c2 = await again.client();
    expect((await c2.list())[0]).toMatchObject({ name: "blinky", state: "running", autostart: true });
    expect(c2.helloInfo!.deviceId).toBe(firstId); // the same flash image is the same device

    // RESET (reboot the runtime): the answer comes first, then the device boots again and
    // autostarts blinky; RESET 1 (factory reset) erases the store.
    const mark = again.lines.length;
    await c2.reset(false);
    await again.waitFor((l) => l === "reboot", 10_000, mark);
    await again.waitFor((l) => /^app \d+ blinky running$/.test(l), 10_000, mark);
    await c2.reset(true);
    await again.waitFor((l) => l === "ready", 10_000, again.lines.lastIndexOf("reboot"));
    expect(await c2.list()).toEqual([]);
    await c2.close();
    await stopClean(again);
  });

  test("thermometer: logs the TMP105 temperature, follows a change, and lights LED2 above 25 C", async () => {
    const dev = await device("thermo.img");
    const c = await dev.client();
    const info = await c.info();
    expect(info.buses).toEqual([{ name: "I2C0", kind: "i2c", devices: [{ addr: 72, driver: "tmp105" }] }]);
    dev.control("temp 23.5"); // whatever the board file starts the model at
    await dev.waitFor((l) => l === "control ok: tmp105 0x48 23.5000");
    const events: DeviceEvent[] = [];
    c.onEvent((e) => events.push(e));
    await c.logs(0, true); // follow: LOG events stream from here on
    await c.put("thermometer", apps.thermometer!.wasm, apps.thermometer!.manifest, { start: true });
    await dev.waitFor((l) => / info thermometer: 23\.50 C$/.test(l));
    const mark = dev.lines.length;
    dev.control("temp 26.5");
    await dev.waitFor((l) => / info thermometer: 26\.50 C$/.test(l), 10_000, mark);
    await dev.waitFor((l) => /^gpio \d+ LED2 1$/.test(l), 10_000, mark);
    // the same records arrive as LOG events and are kept for LOGS
    const logs = await c.logs(0, false);
    expect(logs.some((r) => r.app === "thermometer" && r.level === "info" && r.msg === "26.50 C")).toBe(true);
    expect(events.some((e) => e.kind === "log" && e.record.app === "thermometer" && e.record.msg === "23.50 C")).toBe(true);
    expect(events).toContainEqual(expect.objectContaining({ kind: "app", state: expect.objectContaining({ name: "thermometer", state: "running" }) }));
    await c.close();
    await stopClean(dev);
  });

  test("button: a debounced press of BUTTON0 (set through the control input) toggles LED1", async () => {
    const dev = await device("button.img");
    const c = await dev.client();
    await c.put("button", apps.button!.wasm, apps.button!.manifest, { start: true });
    await dev.waitFor((l) => /^gpio \d+ LED1 0$/.test(l));
    const mark = dev.lines.length;
    dev.control("set BUTTON0 0"); // pressed (active low)
    await dev.waitFor((l) => /^gpio \d+ LED1 1$/.test(l), 10_000, mark);
    dev.control("set BUTTON0 1");
    await dev.waitFor((l) => l === "control ok: BUTTON0 1", 5000, mark);
    await new Promise((r) => setTimeout(r, 300)); // released for well over the 30 ms debounce
    dev.control("set BUTTON0 0");
    await dev.waitFor((l) => /^gpio \d+ LED1 0$/.test(l), 10_000, mark);
    dev.control("set NOPE 1");
    await dev.waitFor((l) => l === "control error: no pin named NOPE", 5000, mark);
    await c.close();
    await stopClean(dev);
  });

  test("grants: opening a pin the manifest does not grant traps that app only, with a clear message", async () => {
    const dev = await device("grants.img");
    const c = await dev.client();
    await c.put("blinky", apps.blinky!.wasm, apps.blinky!.manifest, { start: true });
    const denied = { ...apps.thermometer!.manifest, resources: { pins: [], buses: ["I2C0"] } };
    await c.put("thermometer", apps.thermometer!.wasm, denied, { start: true });
    const trap = await dev.waitFor((l) => /^app \d+ thermometer trapped/.test(l));
    expect(trap).toMatch(/app 'thermometer' may not use pin LED2: not granted by its manifest/);
    const list = await c.list();
    const t = list.find((a) => a.name === "thermometer")!;
    expect(t.state).toBe("trapped");
    expect(t.error).toMatch(/may not use pin LED2/);
    // blinky is unaffected
    const before = dev.gpio("LED0").length;
    await dev.waitFor(() => dev.gpio("LED0").length >= before + 2);
    expect(list.find((a) => a.name === "blinky")!.state).toBe("running");
    await c.close();
    await stopClean(dev);
  });

  test("a runaway app is preempted by fuel, then stopped; a trapping app is reported; others keep running", async () => {
    const dev = await device("runaway.img");
    const c = await dev.client();
    await c.put("blinky", apps.blinky!.wasm, apps.blinky!.manifest, { start: true });
    await dev.waitForCount((l) => /^gpio \d+ LED0 /.test(l), 1);
    const spin = moduleWithStart([0x03, 0x40, 0x0c, 0x00, 0x0b]); // loop br 0 end
    await c.put("spin", spin, bareManifest("spin"), { start: true });
    const mark = dev.gpio("LED0").length;
    // while spin loops, blinky keeps its 500 ms rhythm and the protocol answers
    await dev.waitFor(() => dev.gpio("LED0").length >= mark + 3, 10_000);
    expect((await c.list()).find((a) => a.name === "spin")!.state).toBe("running");
    const stopped = await dev.waitFor((l) => /^app \d+ spin trapped/.test(l), 10_000);
    expect(stopped).toMatch(/start: did not return within 2000 ms/);
    const edges = dev.gpio("LED0");
    for (let i = 1; i < edges.length; i++) expect(edges[i]!.t - edges[i - 1]!.t).toBe(500);

    // STOP reaches an app in the middle of a sliced call, too
    await c.put("spin2", spin, bareManifest("spin2"), { start: true });
    await new Promise((r) => setTimeout(r, 300));
    expect((await c.list()).find((a) => a.name === "spin2")!.state).toBe("running");
    await c.stop("spin2");
    await dev.waitFor((l) => /^app \d+ spin2 stopped$/.test(l));

    await c.put("boom", moduleWithStart([0x00]), bareManifest("boom"), { start: true }); // unreachable
    const boom = await dev.waitFor((l) => /^app \d+ boom trapped/.test(l));
    expect(boom).toMatch(/start: unreachable/);
    const list = await c.list();
    expect(list.find((a) => a.name === "boom")).toMatchObject({ state: "trapped" });
    expect(list.find((a) => a.name === "blinky")).toMatchObject({ state: "running" });
    // a trapped app can be started again (and traps again)
    const m2 = dev.lines.length;
    await c.start("boom");
    await dev.waitFor((l) => /^app \d+ boom trapped/.test(l), 5000, m2);

    // An endless loop in the module's start function (top-level code) runs inside
    // instantiation, which cannot be sliced: its own fuel budget fails the start instead of
    // hanging the device.
    const m3 = dev.lines.length;
    const before = dev.gpio("LED0").length;
    await c.put("hang", moduleWithInit([0x03, 0x40, 0x0c, 0x00, 0x0b]), bareManifest("hang"), { start: true });
    const hang = await dev.waitFor((l) => /^app \d+ hang trapped/.test(l), 10_000, m3);
    expect(hang).toMatch(/start function ran out of fuel/);
    expect((await c.list()).find((a) => a.name === "hang")).toMatchObject({ state: "trapped" });
    await dev.waitFor(() => dev.gpio("LED0").length >= before + 2, 5000);
    expect((await c.list()).find((a) => a.name === "blinky")).toMatchObject({ state: "running" });
    await c.close();
    await stopClean(dev);
  });

  test("migration: a running counter moves to another device with its state (SNAPSHOT, RESTORE)", async () => {
    const a = await device("migrate-a.img");
    const b = await device("migrate-b.img");
    const ca = await a.client();
    const cb = await b.client();
    await ca.put("counter", apps.counter!.wasm, apps.counter!.manifest, { start: true });
    await cb.put("counter", apps.counter!.wasm, apps.counter!.manifest); // installed, not started
    await a.waitFor((l) => / info counter: count 5$/.test(l));
    const snap = await ca.snapshot("counter", { stop: true });
    expect(snap.length).toBeGreaterThan(0);
    await a.waitFor((l) => /^app \d+ counter stopped$/.test(l));
    const counts = (d: PosixDevice) =>
      d.lines.map((l) => / info counter: count (\d+)$/.exec(l)).filter((m) => m !== null).map((m) => Number(m![1]));
    const last = counts(a).at(-1)!;
    expect(last).toBeGreaterThanOrEqual(5);
    await cb.restore("counter", snap, { start: true });
    await b.waitFor((l) => new RegExp(` info counter: count ${last + 2}$`).test(l));
    expect(counts(b).slice(0, 2)).toEqual([last + 1, last + 2]); // continues, no restart from 1
    expect((await cb.list())[0]).toMatchObject({ name: "counter", state: "running" });

    // the snapshot of a stopped app, or a snapshot that does not fit, is refused clearly
    let e = await deviceError(ca.snapshot("counter"));
    expect(e.message).toMatch(/not running/);
    e = await deviceError(cb.restore("counter", snap, { start: true }));
    expect(e.message).toMatch(/running; stop it before restoring/);
    await ca.put("blinky", apps.blinky!.wasm, apps.blinky!.manifest);
    e = await deviceError(ca.restore("blinky", snap, { start: true }));
    expect(e.message).toMatch(/snapshot does not fit this module/);
    const corrupt = snap.slice();
    corrupt[corrupt.length - 1]! ^= 0xff;
    e = await deviceError(ca.restore("counter", corrupt.subarray(0, 20), { start: true }));
    expect(e.statusName).toBe("EINVALID");
    await ca.close();
    await cb.close();
    await stopClean(a);
    await stopClean(b);
  });

  test("migration keeps pins and timers: blinky resumes on the other device with LED0 where it was", async () => {
    const a = await device("blink-a.img");
    const b = await device("blink-b.img");
    const ca = await a.client();
    const cb = await b.client();
    await ca.put("blinky", apps.blinky!.wasm, apps.blinky!.manifest, { start: true });
    await cb.put("blinky", apps.blinky!.wasm, apps.blinky!.manifest);
    await a.waitForCount((l) => /^gpio \d+ LED0 /.test(l), 3);
    const snap = await ca.snapshot("blinky", { stop: true });
    const lastA = a.gpio("LED0").at(-1)!.value;
    await cb.restore("blinky", snap, { start: true });
    await b.waitForCount((l) => /^gpio \d+ LED0 /.test(l), 3);
    const onB = b.gpio("LED0");
    // the restored level is driven first, then the toggles continue from it, 500 ms apart
    expect(onB.map((x) => x.value)).toEqual([lastA, 1 - lastA, lastA]);
    expect(onB[2]!.t - onB[1]!.t).toBe(500);
    await ca.close();
    await cb.close();
    await stopClean(a);
    await stopClean(b);
  });

  test("messages between apps, and a bad pointer handed to the HAL traps with the range", async () => {
    const dev = await device("msg.img");
    const c = await dev.client();
    const i32 = (n: number) => [op.i32_const, ...sleb(n)];
    const store = (addr: number, value: number) => [...i32(addr), ...i32(value), 0x36, 0x02, 0x00]; // i32.store
    const sub = new ModuleBuilder();
    const subscribe = sub.importFunc("msg", "subscribe", ["i32", "i32"], ["i32"]);
    const read = sub.importFunc("msg", "read", ["i32", "i32"], ["i32"]);
    const write = sub.importFunc("log", "write", ["i32", "i32", "i32"], []);
    sub.setMemory(1);
    sub.exportFunc("start", sub.func([], [], [...store(0, 0x00232f74), ...i32(0), ...i32(3), op.call, subscribe, op.drop])); // "t/#"
    sub.exportFunc("on_message", sub.func(["i32", "i32"], [], [...i32(1), ...i32(64), ...i32(64), ...i32(64), op.call, read, op.call, write]));
    const pub = new ModuleBuilder();
    const publish = pub.importFunc("msg", "publish", ["i32", "i32", "i32", "i32"], ["i32"]);
    pub.setMemory(1);
    const hello = [...store(0, 0x00782f74), ...store(16, 0x6c6c6568), ...store(20, 0x6f)]; // "t/x", "hello"
    pub.exportFunc("start", pub.func([], [], [...hello, ...i32(0), ...i32(3), ...i32(16), ...i32(5), op.call, publish, op.drop]));
    const manifest = (name: string, capabilities: string[]) => ({ ...bareManifest(name), capabilities });
    await c.put("sub", sub.build(), manifest("sub", ["msg", "log"]), { start: true });
    await new Promise((r) => setTimeout(r, 100));
    await c.put("pub", pub.build(), manifest("pub", ["msg"]), { start: true });
    await dev.waitFor((l) => / info sub: hello$/.test(l));

    // log text with quotes, backslashes and control bytes still gives valid JSON records
    const weird = new ModuleBuilder();
    const wlog = weird.importFunc("log", "write", ["i32", "i32", "i32"], []);
    weird.setMemory(1);
    weird.exportFunc("start", weird.func([], [], [...store(0, 0x0a015c22), ...store(4, 0x6b6f7f), ...i32(1), ...i32(0), ...i32(7), op.call, wlog]));
    await c.put("weird", weird.build(), manifest("weird", ["log"]), { start: true });
    await dev.waitFor((l) => l.endsWith(" info weird: \"\\??\x3fok"));
    const records = await c.logs(0, false);
    expect(records.find((r) => r.app === "weird")!.msg).toBe('"\\\u0001\n\u007fok');

    const bad = new ModuleBuilder();
    const logw = bad.importFunc("log", "write", ["i32", "i32", "i32"], []);
    bad.setMemory(1);
    bad.exportFunc("start", bad.func([], [], [...i32(1), ...i32(70000), ...i32(10), op.call, logw]));
    await c.put("badptr", bad.build(), manifest("badptr", ["log"]), { start: true });
    const trap = await dev.waitFor((l) => /^app \d+ badptr trapped/.test(l));
    expect(trap).toMatch(/out-of-bounds pointer passed to log\.write \(ptr=70000 len=10, memory is 65536 bytes\)/);
    await c.close();
    await stopClean(dev);
  });

  test("boot discovery: the I2C scan identifies TMP105s by their register defaults, on any board", async () => {
    const board = join(tmp.dir, "two-sensors.json");
    writeFileSync(
      board,
      JSON.stringify({
        name: "two-sensors",
        pins: [{ name: "LED0", port: 0, caps: ["out"] }],
        buses: [
          { name: "I2C0", kind: "i2c", port: 0, devices: [{ driver: "tmp105", addr: 0x4a }] },
          { name: "I2C1", kind: "i2c", port: 1, devices: [{ driver: "tmp105", addr: 0x48 }, { driver: "tmp105", addr: 0x49 }] },
        ],
      }),
    );
    const dev = await PosixDevice.start(join(tmp.dir, "two.img"), [], board);
    devices.push(dev);
    const c = await dev.client();
    const info = await c.info();
    expect(info.board).toBe("two-sensors");
    expect(info.pins).toEqual([{ name: "LED0", caps: ["out"] }]);
    expect(info.buses).toEqual([
      { name: "I2C0", kind: "i2c", devices: [{ addr: 0x4a, driver: "tmp105" }] },
      { name: "I2C1", kind: "i2c", devices: [{ addr: 0x48, driver: "tmp105" }, { addr: 0x49, driver: "tmp105" }] },
    ]);
    expect(dev.lines.some((l) => /^log \d+ info -: I2C1: device at 0x49 is a tmp105$/.test(l))).toBe(true);
    await c.close();
    await stopClean(dev);
  });

  test("a board file that is not JSON is refused with a clear message", async () => {
    const board = join(tmp.dir, "broken.json");
    writeFileSync(board, "{ name: posix");
    await expect(PosixDevice.start(join(tmp.dir, "broken.img"), [], board)).rejects.toThrow(/board file .*broken\.json is not valid JSON/);
  });

  /** A flash image holding blinky and an app whose wasm start section (top-level code) loops
   * forever, both autostarted at the next boot. */
  async function flashWithHangAtBoot(flash: string): Promise<void> {
    const dev = await device(flash);
    const c = await dev.client();
    await c.put("blinky", apps.blinky!.wasm, apps.blinky!.manifest, { autostart: true });
    await c.put("hang", moduleWithInit([0x03, 0x40, 0x0c, 0x00, 0x0b]), bareManifest("hang"), { autostart: true });
    await c.close();
    await stopClean(dev);
  }

  test("a boot whose autostarted app loops in its start section: that app fails on its start fuel, the others start", async () => {
    const flash = "hang-fuel.img";
    await flashWithHangAtBoot(flash);

    const next = await PosixDevice.start(join(tmp.dir, flash), ["--watchdog", "1500"], undefined, false);
    devices.push(next);
    await next.waitFor((l) => /^app \d+ hang trapped/.test(l), 20_000);
    await next.waitFor((l) => /^gpio \d+ LED0 1$/.test(l), 20_000);
    expect(next.lines.find((l) => /^app \d+ hang trapped/.test(l))).toMatch(/start function ran out of fuel/);
    expect(next.lines).not.toContain("watchdog: no kick in time, resetting");
    const c2 = await next.client();
    expect((await c2.list()).map((a) => [a.name, a.state])).toEqual([["blinky", "running"], ["hang", "trapped"]]);
    await c2.close();
    await stopClean(next);
  });

  test("a boot that hangs anyway (start fuel off): the watchdog resets the device and the next boot skips autostart", async () => {
    const flash = "hang.img";
    await flashWithHangAtBoot(flash);

    // The boot-loop guard is the second line against a hang the fuel does not bound (a native
    // driver, say): with the start fuel off, the next boot hangs in the start section; the
    // watchdog resets the device (the process re-executes itself on the same flash and socket)
    // and that boot skips autostart.
    const next = await PosixDevice.start(join(tmp.dir, flash), ["--watchdog", "1500", "--start-fuel", "0"], undefined, false);
    devices.push(next);
    await next.waitFor((l) => l === "watchdog: no kick in time, resetting", 20_000);
    expect(next.lines.slice(0, next.lines.indexOf("watchdog: no kick in time, resetting"))).not.toContain("ready");
    await next.waitFor((l) => l === "ready", 20_000);
    expect(next.lines.filter((l) => l.startsWith("listening on "))).toEqual([`listening on ${next.url}`, `listening on ${next.url}`]);
    expect(next.lines.some((l) => /error -: the previous boot did not finish starting its apps: autostart skipped/.test(l))).toBe(true);
    const c2 = await next.client();
    expect((await c2.list()).map((a) => [a.name, a.state])).toEqual([["blinky", "stopped"], ["hang", "stopped"]]);
    await c2.remove("hang");
    await c2.close();
    await stopClean(next);
    const after = await device(flash); // the guard is cleared: autostart works again
    await after.waitFor((l) => /^app \d+ blinky running$/.test(l));
    await stopClean(after);
  });

  test("starting, trapping, snapshotting and stopping apps over and over leaks no engine memory", async () => {
    const dev = await device("leaks.img");
    const c = await dev.client();
    const heap = async () => (await c.info()).memory as unknown as { heapUsed: number; heapSize: number };
    await c.put("counter", apps.counter!.wasm, apps.counter!.manifest);
    await c.put("boom", moduleWithStart([0x00]), bareManifest("boom"));
    const base = await heap();
    expect(base.heapUsed).toBeGreaterThan(0);
    expect(base.heapSize).toBeGreaterThan(base.heapUsed);
    for (let i = 0; i < 20; i++) {
      await c.start("counter");
      await c.start("boom"); // traps in start(), an event after START's answer
      await dev.waitForCount((l) => /^app \d+ boom trapped/.test(l), i + 1);
      const snap = await c.snapshot("counter", { stop: true });
      await c.restore("counter", snap, { start: i % 2 === 0 });
      await c.stop("counter");
    }
    await dev.waitForCount((l) => /^app \d+ boom trapped/.test(l), 20);
    expect((await heap()).heapUsed).toBe(base.heapUsed);
    await c.close();
    await stopClean(dev);
  });

  test("power lost at every flash write of an install over the protocol: the device comes back with the old apps or the new one, never a broken one, and the deploy resumes", async () => {
    const base = join(tmp.dir, "pc-base.img");
    const first = await PosixDevice.start(base);
    devices.push(first);
    const c0 = await first.client();
    await c0.put("blinky", apps.blinky!.wasm, apps.blinky!.manifest, { autostart: true });
    await c0.close();
    await stopClean(first);
    const image = join(tmp.dir, "pc.img");
    let cut = 0;
    let installed = false;
    const resumed: number[] = [];
    for (; !installed && cut < 60; cut++) {
      copyFileSync(base, image);
      const dying = await PosixDevice.start(image, ["--power-cut-after", String(cut)]);
      devices.push(dying);
      const c = await DeviceClient.open(() => connectTcp(dying.url), { timeoutMs: 2000, retries: 0, reconnectWindowMs: 0 });
      try {
        await c.put("thermometer", apps.thermometer!.wasm, apps.thermometer!.manifest);
        installed = true;
      } catch {
        await dying.waitFor(() => dying.exitCode !== null, 10_000).catch(() => undefined);
        expect(dying.exitCode).toBe(5); // died of the power cut, nothing else
        expect(dying.stderr).toMatch(/flash: power cut after \d+ operations/);
      }
      await c.close().catch(() => undefined);
      if (installed) await stopClean(dying);

      const back = await PosixDevice.start(image);
      devices.push(back);
      back.control("temp 23.5");
      await back.waitFor((l) => l === "control ok: tmp105 0x48 23.5000");
      const cb = await back.client();
      const names = (await cb.list()).map((a) => a.name);
      expect([["blinky"], ["blinky", "thermometer"]]).toContainEqual(names);
      await back.waitFor((l) => /^app \d+ blinky running$/.test(l)); // still autostarts
      if (installed) expect(names).toContain("thermometer");
      if (!names.includes("thermometer")) {
        // deploy again: the device remembers the interrupted upload and the bytes it holds
        const again = await cb.put("thermometer", apps.thermometer!.wasm, apps.thermometer!.manifest);
        resumed.push(again.resumedFrom);
      }
      // PUT_END hashed the bytes on flash; running it once after a resumed upload is enough
      await cb.start("thermometer");
      if (installed || (resumed.at(-1)! > 0 && resumed.filter((r) => r > 0).length === 1))
        await back.waitFor((l) => / info thermometer: 23\.50 C$/.test(l));
      else expect((await cb.list()).find((a) => a.name === "thermometer")!.state).toBe("running");
      await cb.close();
      await stopClean(back);
    }
    expect(installed).toBe(true);
    expect(cut).toBeGreaterThan(4); // the install took several flash writes, each one cut once
    // once the upload was under way, the deploy after the reboot continued instead of restarting
    expect(resumed.some((r) => r > 0)).toBe(true);
    console.log(`install over the protocol: ${cut - 1} power-cut points, each recovered; resumed from ${resumed.join(", ")}`);
  });

  test("bad installs and commands get clear errors and change nothing", async () => {
    const dev = await device("errors.img");
    const c = await dev.client();
    await c.put("blinky", apps.blinky!.wasm, apps.blinky!.manifest, { autostart: true });

    const garbage = Uint8Array.from({ length: 100 }, (_, i) => (i * 7) & 255);
    let e = await deviceError(c.put("junk", garbage, bareManifest("junk")));
    expect(e.message).toMatch(/invalid module/);

    const noCap = { ...apps.blinky!.manifest, name: "nocap", capabilities: ["time"] };
    e = await deviceError(c.put("nocap", apps.blinky!.wasm, noCap));
    expect(e.message).toMatch(/module imports gpio\.\w+ but its manifest does not grant capability 'gpio'/);

    const greedy = { ...apps.blinky!.manifest, name: "greedy", memory: { initialPages: 1, maximumPages: 1000 } };
    e = await deviceError(c.put("greedy", apps.blinky!.wasm, greedy));
    expect(e.message).toMatch(/app wants up to 1000 pages \(64 KiB each\) of memory; this device gives an app at most \d+/);

    e = await deviceError(c.start("ghost"));
    expect(e.message).toMatch(/no app named 'ghost'/);
    e = await deviceError(c.remove("ghost"));
    expect(e.message).toMatch(/no app named 'ghost'/);
    await c.start("blinky");
    e = await deviceError(c.start("blinky"));
    expect(e.message).toMatch(/already running/);
    await c.stop("blinky");
    e = await deviceError(c.stop("blinky"));
    expect(e.message).toMatch(/not running/);

    const big = new Uint8Array(600 * 1024);
    e = await deviceError(c.put("big", big, bareManifest("big")));
    expect(e.message).toMatch(/not accepted: this device takes 1\.\.\d+ bytes/);

    expect((await c.list()).map((a) => [a.name, a.autostart])).toEqual([["blinky", true]]);
    await c.autostart("blinky", false);
    expect((await c.list()).map((a) => [a.name, a.autostart])).toEqual([["blinky", false]]);
    e = await deviceError(c.autostart("ghost", true));
    expect(e.statusName).toBe("ENOTFOUND");
    await c.remove("blinky");
    expect(await c.list()).toEqual([]);
    await c.close();
    await stopClean(dev);
  });
});
