// Migrations between simulated devices on virtual time, where every event has an exact time:
// a timer pending mid-period fires on the target when it was due, and the thermometer keeps
// its alarm LED but reads the target's own sensor.
import { afterAll, describe, expect, it } from "vitest";
import { migrate } from "../../compiler/src/migrate/migrate.js";
import { DeviceClient } from "../../compiler/src/protocol/client.js";
import { createSimDevice, memoryConnector, type SimDevice } from "../../host-sim/src/device/index.js";
import type { SimEvent } from "../../host-sim/src/index.js";
import { app, ROOT, stopAll } from "./support.js";
import { join } from "node:path";

interface Recorded extends SimDevice {
  events: SimEvent[];
}

const devices: Recorded[] = [];
afterAll(async () => {
  for (const d of devices) await d.stop();
  await stopAll();
});

async function sim(id: string, board = "sim-devkit"): Promise<Recorded> {
  const d = await createSimDevice({ id, board });
  const events: SimEvent[] = [];
  d.simulation.onEvent((e) => events.push(e));
  const r = { ...d, events };
  devices.push(r);
  return r;
}

const side = (d: SimDevice) => ({ connector: memoryConnector(d.server), label: d.board.id });

async function logs(d: SimDevice, appName: string): Promise<{ t: number; msg: string }[]> {
  const c = await DeviceClient.open(memoryConnector(d.server));
  try {
    return (await c.allLogs()).filter((r) => r.app === appName).map((r) => ({ t: r.t, msg: r.msg }));
  } finally {
    await c.close();
  }
}

const gpio = (events: SimEvent[], pin: string, from = 0) =>
  events.filter((e): e is Extract<SimEvent, { type: "gpio" }> => e.type === "gpio" && e.pin === pin && e.t >= from).map((e) => [e.t, e.value]);

describe("migration between simulated devices (virtual time)", () => {
  it("a 100 ms counter frozen 50 ms into a period ticks on the target 50 ms after it resumes, then every 100 ms", async () => {
    const ticker = await app("ticker");
    const a = await sim("sim-a");
    const b = await sim("sim-b");
    const ca = await DeviceClient.open(memoryConnector(a.server));
    await ca.put("ticker", ticker.wasm, ticker.manifestText, { start: true });
    await ca.close();
    a.simulation.runFor(1050); // ticks at 100..1000: count 10, the next one due in 50 ms

    const report = await migrate({ app: "ticker", from: side(a), to: side(b), module: async () => ticker });
    expect(report.timersPending).toEqual([{ periodic: true, periodMs: 100, remainingMs: 50 }]);
    expect(report.pins).toEqual([{ name: "LED0", level: 0 }]);
    expect(report.moduleBytesSent).toBe(ticker.wasm.length);
    expect(report.source).toBe("removed");

    const t0 = b.simulation.now;
    b.simulation.runFor(260);
    expect((await logs(b, "ticker")).map((r) => [r.t - t0, r.msg])).toEqual([
      [50, "count 11"],
      [150, "count 12"],
      [250, "count 13"],
    ]);
    // LED0 shows the parity: odd 11 lights it, 12 turns it off.
    expect(gpio(b.events, "LED0", t0).map(([t, v]) => [t! - t0, v])).toEqual([
      [50, 1],
      [150, 0],
      [250, 1],
    ]);
    // The source no longer has it, and logged nothing after the freeze.
    const ca2 = await DeviceClient.open(memoryConnector(a.server));
    expect((await ca2.list()).map((x) => x.name)).toEqual([]);
    await ca2.close();
    a.simulation.runFor(500);
    expect((await logs(a, "ticker")).map((r) => r.msg).at(-1)).toBe("count 10");
  });

  it("the thermometer keeps its alarm LED lit and reads the target's own TMP105", async () => {
    const thermometer = await app(join(ROOT, "examples", "thermometer"));
    const a = await sim("hot");
    const b = await sim("warm");
    a.board.set("I2C0.tmp105.temperature", 30);
    b.board.set("I2C0.tmp105.temperature", 27.5);
    const ca = await DeviceClient.open(memoryConnector(a.server));
    await ca.put("thermometer", thermometer.wasm, thermometer.manifestText, { start: true });
    await ca.close();
    a.simulation.runFor(2300); // readings at 1000 and 2000: 30.00 C, above 25 C: LED2 on
    expect((await logs(a, "thermometer")).map((r) => r.msg)).toEqual(["30.00 C", "30.00 C"]);
    expect(gpio(a.events, "LED2").at(-1)).toEqual([1000, 1]);

    const report = await migrate({ app: "thermometer", from: side(a), to: side(b), module: async () => thermometer });
    expect(report.buses).toEqual(["I2C0"]);
    expect(report.pins).toEqual([{ name: "LED2", level: 1 }]);
    expect(report.timersPending).toEqual([{ periodic: true, periodMs: 1000, remainingMs: 700 }]);

    const t0 = b.simulation.now;
    b.simulation.runFor(1800);
    // The alarm is driven on at once (state carried over), the next reading comes when the
    // source's timer would have fired, from this board's sensor.
    expect((await logs(b, "thermometer")).map((r) => [r.t - t0, r.msg])).toEqual([
      [700, "27.50 C"],
      [1700, "27.50 C"],
    ]);
    expect(gpio(b.events, "LED2", t0).map(([t, v]) => [t! - t0, v])).toEqual([[0, 1]]);
    b.board.set("I2C0.tmp105.temperature", 21);
    b.simulation.runFor(1000);
    expect(gpio(b.events, "LED2", t0).map(([t, v]) => [t! - t0, v])).toEqual([
      [0, 1],
      [2700, 0],
    ]);
  });

  it("--keep leaves the app on the source stopped with autostart off; the target gets autostart", async () => {
    const ticker = await app("ticker");
    const a = await sim("keep-a");
    const b = await sim("keep-b");
    const ca = await DeviceClient.open(memoryConnector(a.server));
    await ca.put("ticker", ticker.wasm, ticker.manifestText, { start: true, autostart: true });
    a.simulation.runFor(300);
    const report = await migrate({ app: "ticker", from: side(a), to: side(b), keep: true, module: async () => ticker });
    expect(report).toMatchObject({ source: "kept-stopped", autostart: true });
    expect((await ca.list()).map(({ name, state, autostart }) => ({ name, state, autostart }))).toEqual([{ name: "ticker", state: "stopped", autostart: false }]);
    await ca.close();
    const cb = await DeviceClient.open(memoryConnector(b.server));
    expect((await cb.list()).map(({ name, state, autostart }) => ({ name, state, autostart }))).toEqual([{ name: "ticker", state: "running", autostart: true }]);
    await cb.close();
  });

  it("device-local data (a global exported as local_*) stays behind: the app calibrates again on the target, its count goes on", async () => {
    const calibrated = await app("calibrated");
    const a = await sim("cal-a");
    const b = await sim("cal-b");
    a.board.set("I2C0.tmp105.temperature", 30); // raw 0x1E00 = 7680
    b.board.set("I2C0.tmp105.temperature", 27.5); // raw 0x1B80 = 7040
    const ca = await DeviceClient.open(memoryConnector(a.server));
    await ca.put("calibrated", calibrated.wasm, calibrated.manifestText, { start: true });
    await ca.close();
    a.simulation.runFor(250);
    expect((await logs(a, "calibrated")).map((r) => r.msg)).toEqual(["calibrated 7680", "count 1 raw 7680", "count 2 raw 7680"]);
    const report = await migrate({ app: "calibrated", from: side(a), to: side(b), module: async () => calibrated });
    expect(report.deviceLocal).toEqual(["local_raw"]);
    b.simulation.runFor(200);
    expect((await logs(b, "calibrated")).map((r) => r.msg)).toEqual(["calibrated 7040", "count 3 raw 7040", "count 4 raw 7040"]);
  });

  it("a subscriber keeps its subscription: the alarm follows the target's weather app, its LED and state carried over", async () => {
    const weather = await app(join(ROOT, "examples", "weather"));
    const alarm = await app(join(ROOT, "examples", "alarm"));
    const a = await sim("humid");
    const b = await sim("dry");
    a.board.set("I2C0.bme280.humidity", 70);
    b.board.set("I2C0.bme280.humidity", 50);
    const ca = await DeviceClient.open(memoryConnector(a.server));
    await ca.put("weather", weather.wasm, weather.manifestText, { start: true });
    await ca.put("alarm", alarm.wasm, alarm.manifestText, { start: true });
    await ca.close();
    const cb = await DeviceClient.open(memoryConnector(b.server));
    await cb.put("weather", weather.wasm, weather.manifestText, { start: true });
    await cb.close();
    a.simulation.runFor(2500);
    expect((await logs(a, "alarm")).map((r) => r.msg)).toEqual(["humid: 70.00 %RH"]);

    const report = await migrate({ app: "alarm", from: side(a), to: side(b), module: async () => alarm });
    expect(report.pins).toEqual([{ name: "LED3", level: 1 }]);
    const t0 = b.simulation.now;
    b.simulation.runFor(2100);
    // start() did not run again (it subscribes): the message arrives through the carried
    // subscription, and the carried state (on = true) makes 50 %RH a change.
    expect((await logs(b, "alarm")).map((r) => r.msg)).toEqual(["dry again: 50.00 %RH"]);
    expect(gpio(b.events, "LED3", t0).map(([, v]) => v)).toEqual([1, 0]);
  });

  it("a pin watch moves too: the button example toggles LED1 on the target's BUTTON0 from where it was", async () => {
    const button = await app(join(ROOT, "examples", "button"));
    const a = await sim("button-a");
    const b = await sim("button-b");
    const ca = await DeviceClient.open(memoryConnector(a.server));
    await ca.put("button", button.wasm, button.manifestText, { start: true });
    await ca.close();
    const press = (d: Recorded) => {
      d.board.set("BUTTON0", 1);
      d.simulation.runFor(100);
      d.board.set("BUTTON0", 0);
      d.simulation.runFor(100);
    };
    a.simulation.runFor(50);
    press(a);
    expect(gpio(a.events, "LED1").map(([, v]) => v)).toEqual([1]);

    const report = await migrate({ app: "button", from: side(a), to: side(b), module: async () => button });
    expect(report.pins).toEqual([
      { name: "LED1", level: 1 },
      { name: "BUTTON0", level: expect.any(Number) },
    ]);
    const t0 = b.simulation.now;
    b.simulation.runFor(50);
    press(b);
    press(b);
    // LED1 comes back lit, then each press on this board's button toggles it.
    expect(gpio(b.events, "LED1", t0).map(([, v]) => v)).toEqual([1, 0, 1]);
  });
});
