// The SDK's friendly layer as an app sees it: compiled with `liquid build`, run in V8 against the
// generated glue. Checks formatting, UTF-8 encoding, failed opens and the register helpers.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../compiler/src/app-build/index.js";
import { RecordingHost, type RunningApp, instantiate } from "./hal-host.js";

const APP = `
import { Pin, I2CBus, Timer, Text, log, msg, device, random, PIN_OUTPUT, EDGE_BOTH, ENOENT } from "liquid";

let missing = Pin.NONE;
let bus = I2CBus.NONE;
let once = Timer.NONE;

export function start(): void {
  missing = Pin.output("LED9");
  bus = I2CBus.open("I2C0");
  once = Timer.after(250);
}

export function formats(): void {
  log.info(Text.begin().fixed(2350, 2).str(" C"));
  log.info(Text.begin().fixed(-5, 2).char(32).fixed(7, 0).char(32).fixed(123456, 3));
  log.info(Text.begin().int(-2147483648).char(32).uint(42, 5).char(32).hex(0xbeef, 8));
  log.info(Text.begin().int64(-9007199254740993).char(32).int64(0));
  log.debug("grüße 😀 \\uD800!");
}

export function missingPin(): i32 {
  return (missing.ok ? 1 : 0) * 1000 + (missing.id == ENOENT ? 1 : 0) * 100 + (missing.write(1) < 0 ? 1 : 0);
}

export function registers(): i32 {
  const v16 = bus.readReg16(0x48, 0);
  const v8 = bus.readReg8(0x48, 1);
  const none = bus.readReg8(0x50, 0);
  bus.writeReg16(0x48, 2, 0x4b00);
  return v16 * 1000 + v8 + (none == -2 ? 7 : 0) * 100;
}

export function publish(): void {
  msg.publish("sensors/temp", "21.5");
  msg.publish("sensors/temp", Text.begin().str("t=").int(7));
  const raw = new Uint8Array(3);
  raw[0] = 1; raw[1] = 2; raw[2] = 3;
  msg.publish("raw", raw);
}

export function misc(): i32 {
  const has = device.has("LED0") ? 1 : 0;
  const hasNot = device.has("LED7") ? 1 : 0;
  const r = random.below(3);
  const t = Text.begin().str("abc").equals("abc") && !Text.begin().str("abc").equals("abd") ? 1 : 0;
  return has * 1000 + hasNot * 100 + <i32>r * 10 + t;
}

export function parse(which: i32): i32 {
  if (which == 0) return Text.begin().str("45.6 %RH").parseFixed(2);
  if (which == 1) return Text.begin().str("  -0.05").parseFixed(2);
  if (which == 2) return Text.begin().str("7").parseFixed(2);
  if (which == 3) return Text.begin().str("1013.256").parseFixed(2);
  if (which == 4) return Text.begin().str("+12").parseFixed(0);
  return Text.begin().str("n/a").parseFixed(2);
}

export function timerId(): i32 {
  return once.id;
}
`;

let app: RunningApp;
let host: RecordingHost;
let manifest: { capabilities: string[]; resources: { pins: string[]; buses: string[] } };

beforeAll(async () => {
  const dir = join(mkdtempSync(join(tmpdir(), "liquid-sdk-")), "sdkcheck");
  mkdirSync(dir);
  writeFileSync(join(dir, "app.ts"), APP);
  const result = await buildApp(dir);
  expect(result.errors).toEqual([]);
  expect(result.diagnostics.filter((d) => d.category === "error")).toEqual([]);
  manifest = result.manifest!;
  host = new RecordingHost();
  host.i2cRegisters.set(0x48, [0x17, 0x80]);
  app = await instantiate(result.wasm!, host);
  app.call("start");
});

describe("SDK", () => {
  it("formats numbers without allocating: fixed point, extremes, padding, hex, 64-bit", () => {
    app.call("formats");
    expect(host.logs.map((l) => l.msg)).toEqual([
      "23.50 C",
      "-0.05 7 123.456",
      "-2147483648 00042 0000beef",
      "-9007199254740993 0",
      "grüße 😀 \uFFFD!",
    ]);
    expect(host.logs.map((l) => l.level)).toEqual([1, 1, 1, 1, 0]);
  });

  it("a pin the board lacks opens as not ok with ENOENT, and using it fails softly", () => {
    expect(host.calls).toContainEqual({ fn: "gpio_open", args: ["LED9"] });
    expect(host.calls.some((c) => c.fn === "gpio_mode")).toBe(false);
    expect(app.call("missingPin")).toBe(101);
  });

  it("register helpers do a write_read of the register and decode big-endian values", () => {
    host.calls = [];
    expect(app.call("registers")).toBe(0x1780 * 1000 + 0x17 + 700);
    expect(host.calls).toEqual([
      { fn: "i2c_write_read", args: [0, 0x48, [0], 2] },
      { fn: "i2c_write_read", args: [0, 0x48, [1], 1] },
      { fn: "i2c_write_read", args: [0, 0x50, [0], 1] },
      { fn: "i2c_write", args: [0, 0x48, [2, 0x4b, 0x00]] },
    ]);
  });

  it("publishes strings, Text lines and byte arrays", () => {
    app.call("publish");
    expect(host.published).toEqual([
      { topic: "sensors/temp", data: "21.5" },
      { topic: "sensors/temp", data: "t=7" },
      { topic: "raw", data: "\u0001\u0002\u0003" },
    ]);
  });

  it("device.has, random.below and Text.equals", () => {
    expect(app.call("misc")).toBe(1000 + 0 + 10 * (4 % 3) + 1);
  });

  it("Text.parseFixed reads fixed-point numbers", () => {
    expect([0, 1, 2, 3, 4, 5].map((i) => app.call("parse", i))).toEqual([4560, -5, 700, 101325, 12, 0]);
  });

  it("a one-shot timer is started with periodic = 0 and keeps its handle", () => {
    expect(host.calls.length).toBeGreaterThan(0);
    expect(app.call("timerId")).toBe(0);
  });

  it("the manifest lists what the app really uses", () => {
    expect(manifest.capabilities).toEqual(["gpio", "i2c", "time", "log", "device", "msg", "random"]);
    expect(manifest.resources).toEqual({ pins: ["LED9"], buses: ["I2C0"] });
  });

  it("the SDK and the examples type-check with TypeScript (editor support via examples/tsconfig.json)", () => {
    const root = resolve(import.meta.dirname, "..", "..");
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
    expect(() => execFileSync(process.execPath, [tsc, "-p", join(root, "examples", "tsconfig.json")], { stdio: "pipe" })).not.toThrow();
  });
});
