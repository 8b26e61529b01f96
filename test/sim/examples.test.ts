// `liquid sim` on the real examples, built with `liquid build`'s library entry point: what a
// developer sees on the terminal.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../compiler/src/app-build/index.js";
import { Simulation, loadBoard, readManifestBeside } from "../../host-sim/src/index.js";
import { ROOT } from "../helpers/native-build.js";
import { jsonEvents, runCli } from "./run-cli.js";
import { FIXTURES, wat } from "./support.js";

let dir: string;
const wasm: Record<string, string> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "liquid-sim-examples-"));
  const sources: Record<string, string> = {
    blinky: join(ROOT, "examples", "blinky"),
    button: join(ROOT, "examples", "button"),
    thermometer: join(ROOT, "examples", "thermometer"),
    weather: join(ROOT, "examples", "weather"), // BME280 in normal mode; publishes its readings
    alarm: join(ROOT, "examples", "alarm"), // lights LED3 on the humidity weather publishes
    forced: join(FIXTURES, "bme280-forced.ts"), // a BME280 driver using forced mode
  };
  for (const [name, source] of Object.entries(sources)) {
    const result = await buildApp(source, { out: join(dir, `${name}.wasm`) });
    if (!result.ok) throw new Error(`building ${name} failed: ${[...result.errors, ...result.diagnostics.map((d) => d.message)].join("; ")}`);
    wasm[name] = result.wasmPath!;
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function scenario(name: string, entries: unknown): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(entries));
  return file;
}

const pinEdges = (events: Record<string, unknown>[], pin: string) =>
  events.filter((e) => e.type === "gpio" && e.pin === pin).map((e) => [e.t, e.value]);

describe("liquid sim on the examples", () => {
  it("blinky: LED0 changes at exactly every 500 ms (human output)", async () => {
    const r = await runCli(["sim", wasm.blinky!, "--for", "2s"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      ["     0 ms  app 'blinky' started", "   500 ms  LED0 on", "  1000 ms  LED0 off", "  1500 ms  LED0 on", "  2000 ms  LED0 off", ""].join("\n"),
    );
    expect(r.stderr).toBe("");
  });

  it("blinky: JSON events over 10 s of virtual time, and --stats reports the speed", async () => {
    const r = await runCli(["sim", wasm.blinky!, "--json", "--stats", "--for", "10s"]);
    expect(r.code).toBe(0);
    const edges = pinEdges(jsonEvents(r.stdout), "LED0");
    expect(edges).toEqual(Array.from({ length: 20 }, (_, i) => [500 * (i + 1), i % 2 === 0 ? 1 : 0]));
    expect(jsonEvents(r.stdout)[1]).toEqual({ t: 500, type: "gpio", pin: "LED0", value: 1 });
    expect(r.stderr).toMatch(/^liquid sim: 10,000 ms virtual in [\d.]+ ms real: [\d,.]+ virtual s per real s, \d+ events\n$/);
  });

  it("button: each debounced press of BUTTON0 toggles LED1, bounces and short blips do not", async () => {
    const file = scenario("presses", [
      { t: 1000, set: "BUTTON0", value: 1 },
      { t: 1004, set: "BUTTON0", value: 0 },
      { t: 1008, set: "BUTTON0", value: 1 },
      { t: 1200, set: "BUTTON0", value: 0 },
      { t: "2s", set: "BUTTON0", value: 1 },
      { t: 2010, set: "BUTTON0", value: 0 },
      { t: 3000, press: "BUTTON0", for: "100ms", comment: "a clean press and release" },
    ]);
    const r = await runCli(["sim", wasm.button!, "--scenario", file, "--json"]);
    expect(r.code).toBe(0);
    const events = jsonEvents(r.stdout);
    // Press settles at 1008 → on at 1038; the 10 ms blip at 2000 is shorter than the 30 ms
    // debounce; the press at 3000 → off at 3030.
    expect(pinEdges(events, "LED1")).toEqual([[1038, 1], [3030, 0]]);
    expect(pinEdges(events, "BUTTON0")[0]).toEqual([1000, 0]); // active low: pressed = level 0
    expect(events.at(-1)!.t).toBe(3100); // ran until no events remained
  });

  it("thermometer: logs exactly the temperatures set over time and drives LED2 above 25 °C", async () => {
    const file = scenario("temps", [
      { t: 2500, set: "I2C0.tmp105.temperature", value: 25.5 },
      { t: 4200, set: "I2C0.tmp105.temperature", value: 25 },
      { t: 5500, set: "I2C0.tmp105.temperature", value: -3.5 },
    ]);
    const r = await runCli(["sim", wasm.thermometer!, "--set", "I2C0.tmp105.temperature=24.5", "--scenario", file, "--for", "6s"]);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n").filter((l) => l.includes("[thermometer]") || l.includes("LED2"))).toEqual([
      "  1000 ms  [thermometer] 24.50 C",
      "  2000 ms  [thermometer] 24.50 C",
      "  3000 ms  [thermometer] 25.50 C",
      "  3000 ms  LED2 on",
      "  4000 ms  [thermometer] 25.50 C",
      "  5000 ms  [thermometer] 25.00 C",
      "  5000 ms  LED2 off",
      "  6000 ms  [thermometer] -3.50 C",
    ]);
  });

  it("thermometer with --trace shows the I2C transactions (12-bit configuration, then each reading) before the log line", async () => {
    const r = await runCli(["sim", wasm.thermometer!, "--trace", "--for", "1s"]);
    expect(r.stdout.split("\n").slice(1, 4)).toEqual([
      "     0 ms  I2C0 0x48 write [01 60]",
      "  1000 ms  I2C0 0x48 write_read [00] -> [17 80]",
      "  1000 ms  [thermometer] 23.50 C",
    ]);
  });

  it("--realtime runs the same events paced by the wall clock", async () => {
    const r = await runCli(["sim", wasm.blinky!, "--realtime", "--for", "600ms", "--json"]);
    expect(r.code).toBe(0);
    expect(pinEdges(jsonEvents(r.stdout), "LED0")).toEqual([[500, 1]]);
  });

  it("thermometer: the TMP105 transaction appears in the JSON stream", async () => {
    const r = await runCli(["sim", wasm.thermometer!, "--json", "--for", "1s"]);
    const i2c = jsonEvents(r.stdout).filter((e) => e.type === "i2c");
    expect(i2c).toEqual([
      { t: 0, type: "i2c", bus: "I2C0", addr: 72, op: "write", write: [1, 0x60], ok: true, app: "thermometer" },
      { t: 1000, type: "i2c", bus: "I2C0", addr: 72, op: "write_read", write: [0], read: [23, 128], ok: true, app: "thermometer" },
    ]);
  });

  it("--board takes a board file; a pin the board lacks is ENOENT, not a trap", async () => {
    // The test board has a TMP105 at 21.5 °C but no LED2: the thermometer's alarm pin does not
    // open (ENOENT), it keeps logging.
    const r = await runCli(["sim", wasm.thermometer!, "--board", join(FIXTURES, "devkit-test.json"), "--for", "2s"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(["     0 ms  app 'thermometer' started", "  1000 ms  [thermometer] 21.50 C", "  2000 ms  [thermometer] 21.50 C", ""].join("\n"));
  });

  it("runs several apps on one board together", async () => {
    const r = await runCli(["sim", wasm.blinky!, wasm.thermometer!, wasm.button!, "--set", "BUTTON0=1", "--for", "1s", "--json"]);
    const events = jsonEvents(r.stdout);
    expect(pinEdges(events, "LED0")).toEqual([[500, 1], [1000, 0]]);
    expect(events.filter((e) => e.type === "log").map((e) => e.msg)).toEqual(["23.50 C"]);
    // BUTTON0 was already held at t=0, before the button app started watching: no edge, no toggle.
    expect(pinEdges(events, "LED1")).toEqual([]);
  });

  it("weather: reads the BME280 every 2 s and publishes what a subscriber on the board receives", async () => {
    // A listener written directly against the HAL: logs every payload on weather/temperature.
    const listener = join(dir, "listener.wasm");
    writeFileSync(listener, wat(`(module
      (import "msg" "subscribe" (func $subscribe (param i32 i32) (result i32)))
      (import "msg" "read" (func $read (param i32 i32) (result i32)))
      (import "log" "write" (func $log (param i32 i32 i32)))
      (memory (export "memory") 1) (data (i32.const 0) "weather/temperature")
      (func (export "start") (drop (call $subscribe (i32.const 0) (i32.const 19))))
      (func (export "on_message") (param i32) (param $len i32)
        (drop (call $read (i32.const 64) (i32.const 64)))
        (call $log (i32.const 1) (i32.const 64) (local.get $len))))`));
    const file = scenario("weather-changes", [
      { t: 3000, set: "I2C0.bme280.temperature", value: -7.5 },
      { t: 3000, set: "I2C0.bme280.pressure", value: 87654 },
    ]);
    const r = await runCli(["sim", listener, wasm.weather!, "--for", "4s", "--scenario", file, "--set", "I2C0.bme280.humidity=62.5"]);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n").filter((l) => l.includes("] "))).toEqual([
      "  2000 ms  [weather] 21.00 C 1013.25 hPa 62.50 %RH",
      "  2000 ms  [listener] 21.00",
      "  4000 ms  [weather] -7.50 C 876.54 hPa 62.50 %RH",
      "  4000 ms  [listener] -7.50",
    ]);
  });

  it("BME280: a datasheet driver reads back the temperature, pressure and humidity set", async () => {
    const file = scenario("weather", [
      { t: 1500, set: "I2C0.bme280.temperature", value: -7.5 },
      { t: 1500, set: "I2C0.bme280.humidity", value: 95.5 },
      { t: 2500, set: "I2C0.0x76.pressure", value: 87654 },
    ]);
    const r = await runCli([
      "sim", wasm.forced!, "--for", "3s", "--scenario", file,
      "--set", "I2C0.bme280.temperature=18.25", "--set", "I2C0.bme280.pressure=98765", "--set", "I2C0.bme280.humidity=62.5",
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n").filter((l) => l.includes("[bme280-forced]"))).toEqual([
      "  1000 ms  [bme280-forced] 18.25 C 98765 Pa 62.50 %RH",
      "  2000 ms  [bme280-forced] -7.50 C 98765 Pa 95.50 %RH",
      "  3000 ms  [bme280-forced] -7.50 C 87654 Pa 95.50 %RH",
    ]);
    // Unchanged board values are those of boards/sim-devkit.json.
    const plain = await runCli(["sim", wasm.forced!, "--for", "1s"]);
    expect(plain.stdout).toContain("  1000 ms  [bme280-forced] 21.00 C 101325 Pa 45.00 %RH\n");
  });

  it("weather + alarm on one board: LED3 follows the published humidity", async () => {
    const file = scenario("humid", [
      { t: 3000, set: "I2C0.bme280.humidity", value: 71.25 },
      { t: 7000, set: "I2C0.bme280.humidity", value: 40 },
    ]);
    const r = await runCli(["sim", wasm.alarm!, wasm.weather!, "--scenario", file, "--for", "10s"]);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n").filter((l) => l.includes("LED3") || l.includes("[alarm]"))).toEqual([
      "  4000 ms  LED3 on",
      "  4000 ms  [alarm] warn: humid: 71.25 %RH",
      "  8000 ms  LED3 off",
      "  8000 ms  [alarm] warn: dry again: 40.00 %RH",
    ]);
  });
});

describe("apps on two simulated devices", () => {
  it("weather on one board, alarm on another: messages reach it only once the boards are bridged", async () => {
    const sim = new Simulation();
    const outdoor = sim.addBoard(loadBoard("sim-devkit"), "outdoor");
    const indoor = sim.addBoard(loadBoard("sim-devkit"), "indoor");
    const seen: string[] = [];
    sim.onEvent((e) => e.type === "gpio" && seen.push(`${e.t} ${e.board} ${e.pin}=${e.value}`));
    const install = (board: typeof outdoor, name: string) =>
      board.install(readFileSync(wasm[name]!), readManifestBeside(wasm[name]!));
    install(outdoor, "weather");
    install(indoor, "alarm");
    outdoor.set("I2C0.bme280.humidity", 80);
    sim.runFor(5000);
    expect(seen).toEqual([]); // each board is its own device
    sim.bridgeMessages(["outdoor", "indoor"]);
    sim.runFor(1000);
    expect(seen).toEqual(["6000 indoor LED3=1"]);
  });
});
