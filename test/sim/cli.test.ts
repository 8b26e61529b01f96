// `liquid sim` with faulty apps and bad input: every problem gets a clear message, a faulty
// app is stopped while the others keep running, and the exit status follows docs/simulator.md.
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../compiler/src/app-build/index.js";
import { ROOT } from "../helpers/native-build.js";
import { jsonEvents, runCli } from "./run-cli.js";
import { FIXTURES, wat } from "./support.js";

let dir: string;
const wasm: Record<string, string> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "liquid-sim-cli-"));
  const sources: Record<string, string> = {
    blinky: join(ROOT, "examples", "blinky"),
    spin: join(FIXTURES, "spin.ts"),
    crash: join(FIXTURES, "crash.ts"),
    oob: join(FIXTURES, "oob.ts"),
    ungranted: join(FIXTURES, "ungranted.ts"),
  };
  for (const [name, source] of Object.entries(sources)) {
    const result = await buildApp(source, { out: join(dir, `${name}.wasm`) });
    if (!result.ok) throw new Error(`building ${name} failed: ${[...result.errors, ...result.diagnostics.map((d) => d.message)].join("; ")}`);
    wasm[name] = result.wasmPath!;
  }
  // Modules that `liquid build` would refuse, written directly.
  writeFileSync(join(dir, "abortive.wasm"), wat(`(module (import "env" "abort" (func (param i32 i32 i32 i32)))
    (memory (export "memory") 1) (func (export "start")))`));
  writeFileSync(join(dir, "junk.wasm"), new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 255]));
  copyFileSync(wasm.blinky!, join(dir, "bare.wasm")); // no manifest beside it
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lines = (text: string) => text.split("\n").filter(Boolean);

describe("faulty apps are stopped, the others keep running", () => {
  it("the watchdog stops an app whose start() never returns", async () => {
    const r = await runCli(["sim", wasm.spin!, wasm.blinky!, "--for", "1s"]);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual([
      "     0 ms  app 'spin' started",
      "     0 ms  [spin] spinning forever",
      "     0 ms  app 'spin' stopped by the watchdog: start did not return within its budget (1,000,000 steps)",
      "     0 ms  app 'blinky' started",
      "   500 ms  LED0 on",
      "  1000 ms  LED0 off",
    ]);
  });

  it("--budget sets the watchdog budget; --fail-on-trap makes a trap exit with status 3", async () => {
    const r = await runCli(["sim", wasm.spin!, "--budget", "5000", "--fail-on-trap", "--json"]);
    expect(r.code).toBe(3);
    expect(jsonEvents(r.stdout).filter((e) => e.type === "trap")).toEqual([
      { t: 0, type: "trap", app: "spin", entry: "start", watchdog: true, message: "stopped by the watchdog: start did not return within its budget (5,000 steps)" },
    ]);
  });

  it("a throw in on_timer logs AssemblyScript's abort message and traps that app only", async () => {
    const r = await runCli(["sim", wasm.crash!, wasm.blinky!, "--for", "1s"]);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual([
      "     0 ms  app 'crash' started",
      "     0 ms  app 'blinky' started",
      "   300 ms  [crash] tick",
      "   500 ms  LED0 on",
      "   600 ms  [crash] tick",
      expect.stringMatching(/^   600 ms  \[crash\] error: sensor exploded at .*crash\.ts:14:\d+$/),
      "   600 ms  app 'crash' trapped in on_timer: unreachable instruction executed",
      "  1000 ms  LED0 off",
    ]);
  });

  it("an out-of-bounds pointer passed to the HAL traps with the glue's message", async () => {
    const r = await runCli(["sim", wasm.oob!, "--json"]);
    expect(jsonEvents(r.stdout).filter((e) => e.type !== "app")).toEqual([
      { t: 0, type: "trap", app: "oob", entry: "start", watchdog: false, message: "out-of-bounds pointer passed to log.write (ptr=65520 len=32, memory is 65536 bytes)" },
    ]);
    expect(jsonEvents(r.stdout).at(-1)).toEqual({
      t: 0, type: "app", app: "oob", state: "trapped", error: "trapped in start: out-of-bounds pointer passed to log.write (ptr=65520 len=32, memory is 65536 bytes)",
    });
  });

  it("opening a pin the manifest does not grant traps with the app and pin named", async () => {
    const r = await runCli(["sim", wasm.ungranted!]);
    expect(lines(r.stdout)).toContain("     0 ms  app 'ungranted' trapped in start: app 'ungranted' may not use pin LED3: not granted by its manifest");
    expect(r.stdout).not.toContain("LED3 on");
  });
});

describe("modules the simulator refuses to run", () => {
  it("names an import that is not a HAL function", async () => {
    const r = await runCli(["sim", join(dir, "abortive.wasm")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("liquid sim: app 'abortive' imports env.abort, which is not a function of the HAL (hal/hal.json v1)");
  });

  it("rejects a malformed module and a missing file", async () => {
    const junk = await runCli(["sim", join(dir, "junk.wasm")]);
    expect(junk.code).toBe(1);
    expect(junk.stderr).toMatch(/^liquid sim: app 'junk' is not a valid WebAssembly module: /);
    const source = await runCli(["sim", join(ROOT, "examples", "blinky")]);
    expect([source.code, source.stderr]).toEqual([
      1,
      `liquid sim: ${join(ROOT, "examples", "blinky")} is not a .wasm module; build the app first (liquid build ${join(ROOT, "examples", "blinky")}) and pass the APP.wasm it writes\n`,
    ]);
    const missing = await runCli(["sim", join(dir, "nope.wasm")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`liquid sim: cannot read ${join(dir, "nope.wasm")}\n`);
  });

  it("without --for, says when it stopped at the 10 s limit rather than running out of events", async () => {
    const r = await runCli(["sim", wasm.blinky!, "--json"]);
    expect(r.code).toBe(0);
    expect(jsonEvents(r.stdout).at(-1)).toEqual({ t: 10000, type: "gpio", pin: "LED0", value: 0 });
    expect(r.stderr).toBe("liquid sim: stopped at 10 s of virtual time with events still pending; use --for to run longer\n");
  });

  it("runs a module without a manifest, granting the whole board, and says so", async () => {
    const r = await runCli(["sim", join(dir, "bare.wasm"), "--for", "500ms"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("has no manifest beside it; derived its capabilities from its imports (gpio, time) and granted every pin and bus of board sim-devkit");
    expect(lines(r.stdout).at(-1)).toBe("   500 ms  LED0 on");
  });
});

describe("as a process", () => {
  it("ends quietly with status 0 when its reader goes away (liquid sim ... | head -2)", async () => {
    const child = spawn(process.execPath, [join(ROOT, "node_modules", "vite-node", "vite-node.mjs"), join(import.meta.dirname, "cli-entry.ts"), "--",
      wasm.blinky!, "--for", "100m", "--json"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const lines: string[] = [];
    await new Promise<void>((resolve) => {
      let buffered = "";
      child.stdout.on("data", (d: Buffer) => {
        buffered += d.toString();
        const parts = buffered.split("\n");
        buffered = parts.pop()!;
        lines.push(...parts);
        if (lines.length >= 2) {
          child.stdout.destroy();
          resolve();
        }
      });
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(lines[1]).toBe('{"t":500,"type":"gpio","pin":"LED0","value":1}');
    expect(stderr).not.toContain("EPIPE");
    expect(code).toBe(0);
  });
});

describe("bad options and inputs", () => {
  it("usage errors exit with status 2", async () => {
    expect((await runCli(["sim"])).stderr).toMatch(/^liquid sim: give at least one APP.wasm\n\nusage: liquid sim/);
    const noUnit = await runCli(["sim", wasm.blinky!, "--for", "5"]);
    expect(noUnit.code).toBe(2);
    expect(noUnit.stderr).toContain("liquid sim: --for: duration '5' needs a unit: ms, s, m or h (e.g. 5ms or 5s)");
    expect((await runCli(["sim", wasm.blinky!, "--seed", "x"])).code).toBe(2);
    expect((await runCli(["sim", wasm.blinky!, "--frobnicate"])).stderr).toContain("unknown option --frobnicate");
  });

  it("reports unknown boards, settings and broken scenarios with exit status 1", async () => {
    const board = await runCli(["sim", wasm.blinky!, "--board", "toaster"]);
    expect(board.code).toBe(1);
    expect(board.stderr).toMatch(/^liquid sim: unknown board 'toaster' \(no boards\/toaster.json; boards: .*\bsim-devkit\b.*\)\n$/);
    const set = await runCli(["sim", wasm.blinky!, "--set", "I2C0.tmp105.humidity=3"]);
    expect([set.code, set.stderr]).toEqual([1, "liquid sim: --set I2C0.tmp105.humidity=3: I2C0.tmp105.humidity: tmp105 has no quantity 'humidity' (it has: temperature)\n"]);
    const led = await runCli(["sim", wasm.blinky!, "--set", "LED0=1"]);
    expect(led.stderr).toBe("liquid sim: --set LED0=1: LED0 is an output driven by apps; it cannot be set from outside\n");
    const file = join(dir, "bad-scenario.json");
    writeFileSync(file, JSON.stringify([{ t: 10, set: "BUTTON0", value: 1 }, { t: -5, set: "BUTTON0", value: 0 }]));
    const scen = await runCli(["sim", wasm.blinky!, "--scenario", file]);
    expect([scen.code, scen.stderr]).toEqual([1, `liquid sim: ${file}: entry 1: "t" must be a whole number of milliseconds >= 0 or a duration like "1.5s"\n`]);
    writeFileSync(file, JSON.stringify([{ t: 5, press: "BUTTON0" }, { t: 10, press: "BUTTON0", value: 1 }]));
    expect((await runCli(["sim", wasm.blinky!, "--scenario", file])).stderr).toBe(
      `liquid sim: ${file}: entry 1: unknown field "value" (an entry has t, press, for, comment)\n`,
    );
    writeFileSync(file, JSON.stringify([{ t: 5, press: "BUTTON0" }, { t: 10, set: "BUTTON9", value: 1 }]));
    expect((await runCli(["sim", wasm.blinky!, "--scenario", file])).stderr).toMatch(
      new RegExp(`^liquid sim: ${file.replace(/[.\\]/g, "\\$&")}: entry 1: board 'sim-devkit' has nothing named BUTTON9`),
    );
    writeFileSync(file, JSON.stringify([{ t: 10, set: "I2C0.tmp105.temperature", value: 300 }]));
    const range = await runCli(["sim", wasm.blinky!, "--scenario", file]);
    expect([range.code, range.stderr]).toEqual([1, `liquid sim: ${file}: entry 0 (t=10 ms): I2C0.tmp105.temperature: tmp105 temperature must be between -55 and 127.9375 °C, not 300\n`]);
  });
});
