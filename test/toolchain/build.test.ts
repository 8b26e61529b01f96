// `liquid build`: the examples become valid, small wasm modules that import only HAL functions,
// with manifests a device can grant from; and they behave as written when run against the
// generated simulator glue. Bad input gets clear errors.
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { AppManifest } from "../../compiler/src/manifest-format.js";
import { HAL_FUNCTIONS } from "../../host-sim/src/generated/hal-imports.js";
import { RecordingHost, instantiate } from "./hal-host.js";
import { runLiquid } from "./run-cli.js";

const ROOT = resolve(import.meta.dirname, "..", "..");
const OUT = mkdtempSync(join(tmpdir(), "liquid-build-test-"));

interface Built {
  wasm: Uint8Array;
  manifest: AppManifest;
}

async function buildExample(name: string): Promise<Built> {
  const out = join(OUT, `${name}.wasm`);
  const run = await runLiquid("build", join(ROOT, "examples", name), "-o", out);
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(new RegExp(`^built ${name} 0\\.1\\.0: .*${name}\\.wasm \\(\\d+ bytes`));
  return { wasm: new Uint8Array(readFileSync(out)), manifest: JSON.parse(readFileSync(join(OUT, `${name}.manifest.json`), "utf8")) };
}

function halSignature(module: string, name: string): string | undefined {
  const fn = HAL_FUNCTIONS.find((f) => f.module === module && f.name === name);
  return fn && `${fn.params.map((p) => p.type).join(",")}->${fn.results.join(",")}`;
}

function writeApp(dir: string, files: Record<string, string>): string {
  const appDir = join(OUT, dir);
  mkdirSync(appDir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(appDir, name), text);
  return appDir;
}

const built: Record<string, Built> = {};

beforeAll(async () => {
  for (const name of ["blinky", "button", "thermometer", "counter"]) built[name] = await buildExample(name);
});

describe("the examples", () => {
  it.each(["blinky", "button", "thermometer"])("%s is a valid module importing only HAL functions", (name) => {
    const { wasm, manifest } = built[name]!;
    const module = new WebAssembly.Module(wasm);
    for (const imp of WebAssembly.Module.imports(module)) {
      expect(imp.kind).toBe("function");
      expect(halSignature(imp.module, imp.name), `${imp.module}.${imp.name}`).toBeDefined();
    }
    const exports = WebAssembly.Module.exports(module);
    expect(exports.map((e) => e.name)).toEqual(manifest.exports);
    expect(exports.find((e) => e.name === "start")?.kind).toBe("function");
    expect(exports.find((e) => e.name === "memory")?.kind).toBe("memory");
    expect(manifest.sha256).toBe(createHash("sha256").update(wasm).digest("hex"));
    expect(manifest.size).toBe(wasm.length);
    expect(manifest.liquid).toBe(1);
    expect(manifest.name).toBe(name);
    expect(manifest.memory).toEqual({ initialPages: 1, maximumPages: 1 });
    expect(manifest.imports).toEqual(WebAssembly.Module.imports(module).map((i) => ({ module: i.module, name: i.name })));
  });

  it("derive capabilities from imports and resources from the pins and buses opened", () => {
    expect(built.blinky!.manifest.capabilities).toEqual(["gpio", "time"]);
    expect(built.blinky!.manifest.resources).toEqual({ pins: ["LED0"], buses: [] });
    expect(built.button!.manifest.capabilities).toEqual(["gpio"]);
    expect(built.button!.manifest.resources).toEqual({ pins: ["LED1", "BUTTON0"], buses: [] });
    expect(built.thermometer!.manifest.capabilities).toEqual(["gpio", "i2c", "time", "log"]);
    expect(built.thermometer!.manifest.resources).toEqual({ pins: ["LED2"], buses: ["I2C0"] });
  });

  it("blinky is a few hundred bytes", () => {
    expect(built.blinky!.wasm.length).toBeLessThan(500);
  });

  it("exports every mutable global so a snapshot can read the app's state", () => {
    for (const name of ["blinky", "button", "thermometer"]) {
      const exports = WebAssembly.Module.exports(new WebAssembly.Module(built[name]!.wasm));
      const globals = exports.filter((e) => e.kind === "global").map((e) => e.name);
      expect(globals.length, name).toBeGreaterThan(0);
      expect(globals.every((g) => /^__lq_g\d+$/.test(g))).toBe(true);
    }
    // thermometer keeps bus, LED, last reading and the SDK's text length: each one readable.
    expect(built.thermometer!.manifest.exports.filter((e) => e.startsWith("__lq_g")).length).toBeGreaterThanOrEqual(3);
  });

  it("blinky opens LED0 as an output, starts a 500 ms periodic timer and toggles on each tick", async () => {
    const host = new RecordingHost();
    const app = await instantiate(built.blinky!.wasm, host);
    app.call("start");
    expect(host.calls).toEqual([
      { fn: "gpio_open", args: ["LED0"] },
      { fn: "gpio_mode", args: [0, 1] },
      { fn: "time_timer_start", args: [500, 1] },
    ]);
    host.calls = [];
    for (let i = 0; i < 4; i++) app.call("on_timer", 0);
    expect(host.calls.map((c) => c.fn)).toEqual(["gpio_toggle", "gpio_toggle", "gpio_toggle", "gpio_toggle"]);
    expect(host.levels.get(0)).toBe(0);
  });

  it("button toggles LED1 on each debounced press of BUTTON0 and ignores releases and other pins", async () => {
    const host = new RecordingHost();
    const app = await instantiate(built.button!.wasm, host);
    app.call("start");
    expect(host.calls).toContainEqual({ fn: "gpio_open", args: ["BUTTON0"] });
    expect(host.calls).toContainEqual({ fn: "gpio_mode", args: [4, 2] }); // BUTTON0 handle 4, PIN_INPUT_PULLUP
    expect(host.calls).toContainEqual({ fn: "gpio_watch", args: [4, 2, 30] }); // EDGE_FALLING, 30 ms debounce
    expect(host.levels.get(1)).toBe(0);
    app.call("on_pin", 4, 0); // press
    expect(host.levels.get(1)).toBe(1);
    app.call("on_pin", 4, 1); // release: no change
    app.call("on_pin", 5, 0); // another pin: no change
    expect(host.levels.get(1)).toBe(1);
    app.call("on_pin", 4, 0);
    expect(host.levels.get(1)).toBe(0);
  });

  it("thermometer logs the TMP105 temperature and lights LED2 above 25.00 C", async () => {
    const host = new RecordingHost();
    const app = await instantiate(built.thermometer!.wasm, host);
    app.call("start");
    expect(host.calls).toContainEqual({ fn: "time_timer_start", args: [1000, 1] });
    host.i2cRegisters.set(0x48, [23, 128]); // 0x1780 = 23.5 C
    app.call("on_timer", 0);
    expect(host.calls.at(-2)).toEqual({ fn: "i2c_write_read", args: [0, 0x48, [0], 2] });
    expect(host.logs.at(-1)).toEqual({ level: 1, msg: "23.50 C" });
    expect(host.levels.get(2)).toBe(0);
    host.i2cRegisters.set(0x48, [25, 16]); // 0x1910 = 25.0625 C
    app.call("on_timer", 0);
    expect(host.logs.at(-1)).toEqual({ level: 1, msg: "25.06 C" });
    expect(host.levels.get(2)).toBe(1);
    host.i2cRegisters.set(0x48, [0xff, 0x00]); // -1.0 C
    app.call("on_timer", 0);
    expect(host.logs.at(-1)).toEqual({ level: 1, msg: "-1.00 C" });
    expect(host.levels.get(2)).toBe(0);
    host.i2cRegisters.delete(0x48); // sensor gone: NACK
    app.call("on_timer", 0);
    expect(host.logs.at(-1)).toEqual({ level: 2, msg: "tmp105 at 0x48 did not answer (error -2)" });
  });
});

describe("state lives in memory and exported globals", () => {
  it("copying them into a fresh instance continues the counter where it was (what a migration does)", async () => {
    const hostA = new RecordingHost();
    const a = await instantiate(built.counter!.wasm, hostA);
    a.call("start");
    for (let i = 0; i < 5; i++) a.call("on_timer", 0);
    expect(hostA.logs.at(-1)!.msg).toBe("count 5");

    const hostB = new RecordingHost();
    const b = await instantiate(built.counter!.wasm, hostB);
    // no start(): a restored app is not started again
    new Uint8Array((b.exports.memory as WebAssembly.Memory).buffer).set(new Uint8Array((a.exports.memory as WebAssembly.Memory).buffer));
    for (const [name, value] of Object.entries(a.exports)) {
      if (value instanceof WebAssembly.Global) (b.exports[name] as WebAssembly.Global).value = value.value;
    }
    hostB.levels.set(0, hostA.levels.get(0)!);
    b.call("on_timer", 0);
    expect(hostB.logs).toEqual([{ level: 1, msg: "count 6" }]);
    expect(hostB.calls).toEqual([{ fn: "gpio_write", args: [0, 0] }]);
  });
});

describe("build errors", () => {
  it("a syntax error is reported as file:line:column with a non-zero exit", async () => {
    const dir = writeApp("syntax", { "app.ts": 'import { log } from "liquid";\nexport function start(): void {\n  log.info("x"\n}\n' });
    const run = await runLiquid("build", dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/syntax\/app\.ts:3:\d+: error TS1005: '\)' expected\./);
    expect(run.stderr).toContain("liquid build: syntax failed");
  });

  it("a type error points at the offending expression", async () => {
    const dir = writeApp("types", { "app.ts": 'export function start(): void {\n  const x: i32 = "text";\n}\n' });
    const run = await runLiquid("build", dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/types\/app\.ts:2:18: error TS2322: Type '~lib\/string\/String' is not assignable to type 'i32'/);
  });

  it("an import the HAL does not define is a build error naming it and the importing file", async () => {
    const dir = writeApp("unknown", {
      "app.ts": 'import { beep } from "./extra";\nexport function start(): void { beep(); }\n',
      "extra.ts": '@external("buzzer", "beep")\nexport declare function beep(): void;\n',
    });
    const run = await runLiquid("build", dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/error: unknown host function buzzer\.beep imported by \S*unknown\/extra\.ts: not in the HAL spec/);
  });

  it("a HAL function imported with the wrong signature is an error", async () => {
    const dir = writeApp("wrongsig", {
      "app.ts": '@external("gpio", "toggle")\ndeclare function toggle(pin: i64): i32;\nexport function start(): void { toggle(1); }\n',
    });
    const run = await runLiquid("build", dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("host function gpio.toggle imported by");
    expect(run.stderr).toContain("with signature (i64) -> i32, but the HAL defines (i32) -> i32");
  });

  it("Math.random is refused with a hint instead of importing the host's seed", async () => {
    const dir = writeApp("mathrandom", { "app.ts": "export let r: f64 = 0;\nexport function start(): void { r = Math.random(); }\n" });
    const run = await runLiquid("build", dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("unknown host function env.seed");
    expect(run.stderr).toContain("use random.uint32()");
  });

  it("console.log, trace and Date.now point to the SDK's log and time", async () => {
    const dir = writeApp("stdimports", { "app.ts": 'export function start(): void { console.log("hi"); trace("t"); const d = Date.now(); }\n' });
    const run = await runLiquid("build", dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('unknown host function env.console.log imported by');
    expect(run.stderr).toContain('(use log.debug/info/warn/error from "liquid")');
    expect(run.stderr).toContain('unknown host function env.Date.now imported by');
    expect(run.stderr).toContain('(use time.nowMs()/time.nowUs() from "liquid")');
  });

  it("an app without start() is refused", async () => {
    const dir = writeApp("nostart", { "app.ts": "export function on_timer(t: i32): void {}\n" });
    const run = await runLiquid("build", dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("the app exports no start() entry point");
  });

  it("an entry point with the wrong parameters is refused", async () => {
    const dir = writeApp("badentry", { "app.ts": "export function start(): void {}\nexport function on_timer(): void {}\n" });
    const run = await runLiquid("build", dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("entry point on_timer has signature () -> nothing; it must be `export function on_timer(timer: i32): void`");
  });

  it("a folder without app.ts, a missing path and a wrong -o are clear errors", async () => {
    const empty = writeApp("empty", { "README.txt": "nothing" });
    expect((await runLiquid("build", empty)).stderr).toContain("a folder app needs an app.ts or index.ts");
    expect((await runLiquid("build", join(OUT, "nope"))).stderr).toContain("no such file or folder");
    const wrongOut = await runLiquid("build", join(ROOT, "examples", "blinky"), "-o", join(OUT, "x.bin"));
    expect(wrongOut.code).toBe(2);
    expect(wrongOut.stderr).toContain("-o/--out must name a .wasm file");
    const noApp = await runLiquid("build");
    expect(noApp.code).toBe(2);
    expect(noApp.stderr).toContain("missing APP");
  });

  it("a bad liquid.json names the file and the field", async () => {
    const dir = writeApp("badconfig", {
      "app.ts": "export function start(): void {}\n",
      "liquid.json": '{ "resources": { "pinz": ["LED0"] } }',
    });
    const run = await runLiquid("build", dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/badconfig\/liquid\.json: unknown field "resources\.pinz"/);
  });
});

describe("--wat", () => {
  it("writes the final module as text beside it, with the exported globals", async () => {
    const out = join(OUT, "wat", "blinky.wasm");
    expect((await runLiquid("build", join(ROOT, "examples", "blinky"), "-o", out, "--wat")).code).toBe(0);
    const wat = readFileSync(join(OUT, "wat", "blinky.wat"), "utf8");
    expect(wat).toMatch(/^\(module/);
    expect(wat).toContain('(import "gpio" "toggle"');
    expect(wat).toContain('(export "__lq_g0" (global');
  });
});

describe("--board", () => {
  it("checks that the app's pins, buses and memory fit the board", async () => {
    const thermo = join(ROOT, "examples", "thermometer");
    const fits = await runLiquid("build", thermo, "-o", join(OUT, "fit.wasm"), "--board", "sim-devkit");
    expect(fits.code).toBe(0);
    const misfit = await runLiquid("build", thermo, "-o", join(OUT, "fit.wasm"), "--board", "esp32-devkitc");
    expect(misfit.code).toBe(1);
    expect(misfit.stderr).toBe("error: the app opens pin LED2, which board esp32-devkitc does not have (it has LED0, BUTTON0)");
    const big = await runLiquid("build", join(ROOT, "examples", "blinky"), "-o", join(OUT, "big.wasm"), "--pages", "2", "--board", "nrf52840-dk");
    expect(big.code).toBe(1);
    expect(big.stderr).toContain("the app needs 2 memory pages (131072 bytes); board nrf52840-dk gives an app at most 65536 bytes");
    const unknown = await runLiquid("build", thermo, "--board", "arduino");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown board 'arduino'");
  });
});

describe("liquid new", () => {
  it("scaffolds an app that builds, and refuses a non-empty folder", async () => {
    const dir = join(OUT, "fresh-app");
    const made = await runLiquid("new", dir);
    expect(made.code).toBe(0);
    expect(made.stdout).toContain("created fresh-app");
    const built = JSON.parse((await runLiquid("build", dir, "--json")).stdout);
    expect(built.name).toBe("fresh-app");
    expect(built.capabilities).toEqual(["gpio", "time"]);
    expect(built.resources.pins).toEqual(["LED0"]);
    const again = await runLiquid("new", dir);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("exists and is not empty");
    expect((await runLiquid("new", join(OUT, "bad name!"))).stderr).toContain("is not a valid app name");
  });
});

describe("single-file apps", () => {
  it("are named after the file and built into build/ beside it", async () => {
    const dir = writeApp("single", { "thing.ts": 'import { Timer } from "liquid";\nexport function start(): void { Timer.after(10); }\n' });
    const run = await runLiquid("build", join(dir, "thing.ts"), "--json");
    expect(run.code).toBe(0);
    const m = JSON.parse(run.stdout);
    expect(m.name).toBe("thing");
    expect(m.wasm).toBe(join(dir, "build", "thing.wasm"));
    expect(m.manifestPath).toBe(join(dir, "build", "thing.manifest.json"));
    expect(m.capabilities).toEqual(["time"]);
    expect((await runLiquid("build", join(dir, "thing.js"))).stderr).toContain("no such file or folder");
  });
});

describe("incremental builds", () => {
  it("answer an unchanged app without compiling, and rebuild after a source edit or with --force", async () => {
    const dir = writeApp("incremental", { "app.ts": "export let n: i32 = 0;\nexport function start(): void { n = 1; }\n" });
    const first = JSON.parse((await runLiquid("build", dir, "--json")).stdout);
    expect(first.cached).toBe(false);
    const second = JSON.parse((await runLiquid("build", dir, "--json")).stdout);
    expect(second.cached).toBe(true);
    expect(second.sha256).toBe(first.sha256);
    expect((await runLiquid("build", dir)).stdout).toContain("(up to date)");
    writeFileSync(join(dir, "app.ts"), "export let n: i32 = 0;\nexport function start(): void { n = 2; }\n");
    const third = JSON.parse((await runLiquid("build", dir, "--json")).stdout);
    expect(third.cached).toBe(false);
    expect(third.sha256).not.toBe(first.sha256);
    const forced = JSON.parse((await runLiquid("build", dir, "--json", "--force")).stdout);
    expect(forced.cached).toBe(false);
    expect(forced.sha256).toBe(third.sha256);
    // a tampered output is rebuilt, not trusted
    writeFileSync(join(dir, "build", "incremental.wasm"), "garbage");
    const repaired = JSON.parse((await runLiquid("build", dir, "--json")).stdout);
    expect(repaired.cached).toBe(false);
    expect(new Uint8Array(readFileSync(join(dir, "build", "incremental.wasm"))).length).toBe(repaired.size);
  });
});

describe("manifest details", () => {
  it("liquid.json names the app, sets its version and adds resources opened by computed names", async () => {
    const dir = writeApp("computed", {
      "app.ts": [
        'import { Pin } from "liquid";',
        "const NAMES: string[] = [\"LED2\", \"LED3\"];",
        "let led = Pin.NONE;",
        "export function start(): void {",
        "  led = Pin.output(NAMES[1]); // Pin.output(\"LED9\") in a comment grants nothing",
        "}",
      ].join("\n"),
      "liquid.json": '{ "name": "lights", "version": "1.2.3", "resources": { "pins": ["LED3"] } }',
    });
    const run = await runLiquid("build", dir, "--json");
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/warning: \S*computed\/app\.ts:5: Pin\.output\(\.\.\.\) opens a pin by a computed name/);
    const manifest = JSON.parse(run.stdout);
    expect(manifest.name).toBe("lights");
    expect(manifest.version).toBe("1.2.3");
    expect(manifest.resources.pins).toEqual(["LED3"]);
    expect(manifest.wasm).toMatch(/computed\/build\/lights\.wasm$/);
  });

  it("--pages sets the memory of the module and the manifest", async () => {
    const out = join(OUT, "pages.wasm");
    const run = await runLiquid("build", join(ROOT, "examples", "blinky"), "-o", out, "--pages", "2");
    expect(run.code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(OUT, "pages.manifest.json"), "utf8"));
    expect(manifest.memory).toEqual({ initialPages: 2, maximumPages: 2 });
    const cfg = writeApp("pages-config", {
      "app.ts": "export function start(): void {}\n",
      "liquid.json": '{ "memoryPages": 3 }',
    });
    expect(JSON.parse((await runLiquid("build", cfg, "--json")).stdout).memory).toEqual({ initialPages: 3, maximumPages: 3 });
    const bad = await runLiquid("build", join(ROOT, "examples", "blinky"), "--pages", "0");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--pages must be an integer from 1 to 16");
  });

  it("an out-of-range index in an app traps with its message in the device log", async () => {
    const dir = writeApp("oob", {
      "app.ts": [
        'import { log } from "liquid";',
        "const table = new Uint8Array(4);",
        "export function start(): void {}",
        "export function peek(i: i32): i32 { return table[i]; }",
      ].join("\n"),
    });
    const out = join(OUT, "oob.wasm");
    const run = await runLiquid("build", dir, "-o", out);
    expect(run.code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(OUT, "oob.manifest.json"), "utf8"));
    expect(manifest.capabilities).toEqual(["log"]);
    const host = new RecordingHost();
    const app = await instantiate(new Uint8Array(readFileSync(out)), host);
    expect(app.call("peek", 3)).toBe(0);
    expect(() => app.call("peek", 4)).toThrow(WebAssembly.RuntimeError);
    expect(host.logs).toHaveLength(1);
    expect(host.logs[0]!.level).toBe(3);
    expect(host.logs[0]!.msg).toMatch(/^Index out of range at ~lib\/typedarray\.ts:\d+:\d+$/);
  });
});
