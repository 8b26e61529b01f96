// Execution-time linking in the simulator: library imports ("NAME@RANGE") resolved at their
// first call, version ranges, failures that trap naming the library, hot swap, unload, and
// libraries fetched from the module repository with their hashes verified.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../compiler/src/app-build/index.js";
import { type AppManifest, type SimEvent, Simulation, loadBoard, parseBoard, sha256Hex } from "../../host-sim/src/index.js";
import { LinkError, fetchLibraries } from "../../host-sim/src/linking/index.js";
import { type RunningRepository, serveRepository } from "../../hub/src/server.js";
import { LOOKUP_APP_WAT, SUM_APP_WAT, decimalDigitsWat } from "./wat-apps.js";
import { SHARED_DATA_BASE, relocateSharedLibrary } from "../../compiler/src/app-build/library.js";
import { SHARED_TABLE_BASE } from "../../compiler/src/app-build/compile.js";
import { wat } from "../helpers/wat.js";
import { runCli } from "../sim/run-cli.js";

const ROOT = join(import.meta.dirname, "..", "..");
const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "liquid-link-"));
  dirs.push(d);
  return d;
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function manifestOf(name: string, version: string, wasm: Uint8Array, capabilities: string[] = [], resources = { pins: [] as string[], buses: [] as string[] }): AppManifest {
  return { liquid: 1, name, version, sha256: sha256Hex(wasm), size: wasm.length, exports: [], imports: [], capabilities, resources };
}

/** A library "fake" whose value() answers `answer`. */
function fakeLib(version: string, answer: number, extra = ""): { wasm: Uint8Array; manifest: AppManifest } {
  const wasm = wat(`(module ${extra} (memory (export "memory") 1)
    (func (export "value") (result i32) (i32.const ${answer})))`);
  return { wasm, manifest: manifestOf("fake", version, wasm) };
}

/** An app that logs the value of `range`'s value() (as a decimal number) every second. */
function valueApp(range: string, signature = "(result i32)"): { wasm: Uint8Array; manifest: AppManifest } {
  const wasm = wat(`(module
    (import "log" "write" (func $log (param i32 i32 i32)))
    (import "time" "timer_start" (func $timer_start (param i32 i32) (result i32)))
    (import "fake@${range}" "value" (func $value ${signature}))
    (memory (export "memory") 1)
    (global $calls (export "calls") (mut i32) (i32.const 0))
    (func (export "start") (drop (call $timer_start (i32.const 1000) (i32.const 1))))
    (func (export "on_timer") (param i32) (local $v i32) (local $p i32)
      (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
      (local.set $v (call $value ${signature.includes("param") ? "(i32.const 0)" : ""}))
      ;; decimal digits of v, written backwards from offset 32
      ${decimalDigitsWat(32)}
      (call $log (i32.const 1) (local.get $p) (i32.sub (i32.const 32) (local.get $p)))))`);
  return { wasm, manifest: manifestOf("user", "0.1.0", wasm, ["time", "log"]) };
}

function sim(boardJson?: unknown) {
  const simulation = new Simulation();
  const board = boardJson ? simulation.addBoard(parseBoard(boardJson, "test board"), "b") : simulation.addBoard(loadBoard("sim-devkit"));
  const events: SimEvent[] = [];
  simulation.onEvent((e) => events.push(e));
  return { simulation, board, events };
}

const appLogs = (events: SimEvent[], app: string) =>
  events.filter((e): e is Extract<SimEvent, { type: "log" }> => e.type === "log" && e.app === app).map((e) => [e.t, e.msg]);
const notes = (events: SimEvent[]) => events.filter((e): e is Extract<SimEvent, { type: "log" }> => e.type === "log" && e.app === null).map((e) => e.msg);
const trapsOf = (events: SimEvent[]) => events.filter((e): e is Extract<SimEvent, { type: "trap" }> => e.type === "trap").map((e) => [e.t, e.message]);

interface Built {
  wasm: Uint8Array;
  manifest: AppManifest;
  path?: string;
}
let probe: Built, tmp105: Built, bme280: Built, explicit: Built, bytesum: Built, lookup: Built, heapuser: Built;
let histogram: Built, histuser: Built, ops: Built, opsuser: Built, histexplicit: Built, smooth: Built, stats: Built;

async function build(path: string, library: boolean, shared = false): Promise<Built> {
  const out = join(tempDir(), "m.wasm");
  const r = await buildApp(join(ROOT, path), { out, library, shared, force: true });
  if (!r.ok) throw new Error(`build of ${path} failed: ${r.errors.join("; ")}`);
  return { wasm: r.wasm!, manifest: r.manifest as unknown as AppManifest, path: r.wasmPath! };
}

beforeAll(async () => {
  probe = await build("examples/probe", false);
  tmp105 = await build("examples/probe/drivers/tmp105", true);
  bme280 = await build("examples/probe/drivers/bme280", true);
  explicit = await build("test/linking/fixtures/explicit", false);
  bytesum = await build("test/linking/fixtures/bytesum", true, true);
  lookup = await build("test/linking/fixtures/lookup", true, true);
  heapuser = await build("test/linking/fixtures/heapuser", false);
  histogram = await build("test/linking/fixtures/histogram", true, true);
  histuser = await build("test/linking/fixtures/histuser", false);
  ops = await build("test/linking/fixtures/ops", true, true);
  opsuser = await build("test/linking/fixtures/opsuser", false);
  histexplicit = await build("test/linking/fixtures/histexplicit", false);
  smooth = await build("examples/smooth", false);
  stats = await build("examples/smooth/lib/stats", true, true);
}, 90_000);

describe("the probe example: the driver for the sensor found at boot, linked at its first call", () => {
  it("builds: the app lists its libraries, the drivers are libraries", () => {
    expect(probe.manifest.libraries).toEqual([
      { name: "tmp105", range: "^1" },
      { name: "bme280", range: "^1" },
    ]);
    expect(tmp105.manifest.kind).toBe("library");
    expect(tmp105.manifest.capabilities).toEqual(["i2c"]);
  });

  it("on a board with a TMP105 it reads through the tmp105 driver and never loads the bme280 one", () => {
    const { simulation, board, events } = sim();
    board.libraries.add(tmp105.wasm, tmp105.manifest);
    board.libraries.add(bme280.wasm, bme280.manifest);
    board.set("I2C0.tmp105.temperature", 26.5);
    const app = board.install(probe.wasm, probe.manifest);
    simulation.runFor(2000);
    expect(appLogs(events, "probe")).toEqual([
      [0, "found tmp105"],
      [1000, "26.50 C"],
      [2000, "26.50 C"],
    ]);
    expect(notes(events)).toEqual(["app 'probe': library tmp105@1.0.0 linked"]);
    expect(app.linker!.loaded().map((l) => l.name)).toEqual(["tmp105"]);
  });

  it("on a board with only a BME280 it loads the bme280 driver, which keeps its calibration between calls", () => {
    const def = JSON.parse(readFileSync(join(ROOT, "boards", "sim-devkit.json"), "utf8"));
    for (const bus of def.buses) bus.devices = bus.devices.filter((d: { driver: string }) => d.driver !== "tmp105");
    const { simulation, board, events } = sim(def);
    board.libraries.add(tmp105.wasm, tmp105.manifest);
    board.libraries.add(bme280.wasm, bme280.manifest);
    board.set("I2C0.bme280.temperature", 19.25);
    const app = board.install(probe.wasm, probe.manifest);
    simulation.runFor(3000);
    const logged = appLogs(events, "probe");
    expect(logged[0]).toEqual([0, "found bme280"]);
    expect(logged.slice(1).map(([, m]) => m)).toEqual(["19.25 C", "19.25 C", "19.25 C"]);
    expect(app.linker!.loaded().map((l) => l.name)).toEqual(["bme280"]);
  });

  it("a driver missing from the device traps the app at the first call, naming the library", () => {
    const { simulation, board, events } = sim();
    const app = board.install(probe.wasm, probe.manifest);
    simulation.runFor(1500);
    expect(trapsOf(events)).toEqual([[1000, "cannot link tmp105@^1 for app 'probe': library tmp105@^1 is not on this device and was not fetched from a repository"]]);
    expect(app.state).toBe("trapped");
  });
});

describe("resolution and its failures", () => {
  it("a version range chooses the highest matching build", () => {
    for (const [range, want] of [
      ["^1", "142"],
      ["~1.0", "100"],
      ["2", "200"],
      ["*", "200"],
    ] as const) {
      const { simulation, board, events } = sim();
      for (const [v, n] of [["1.0.0", 100], ["1.4.2", 142], ["2.0.0", 200]] as const) {
        const lib = fakeLib(v, n);
        board.libraries.add(lib.wasm, lib.manifest);
      }
      const app = valueApp(range);
      board.install(app.wasm, app.manifest);
      simulation.runFor(1000);
      expect(appLogs(events, "user"), range).toEqual([[1000, want]]);
    }
  });

  it("no matching version, a wrong signature, a missing export and an ungranted capability each trap with the reason", () => {
    const cases: [string, Built, Built, RegExp][] = [
      ["^3", valueApp("^3"), fakeLib("1.0.0", 1), /cannot link fake@\^3 for app 'user': no version of library fake matches '\^3' \(this device has 1\.0\.0\)/],
      ["signature", valueApp("^1", "(param i32) (result i32)"), fakeLib("1.0.0", 1), /fake@1\.0\.0 does not fit: app 'user' imports value as \(i32\) -> i32, fake@1\.0\.0 exports \(\) -> i32/],
      [
        "capability",
        valueApp("^1"),
        (() => {
          const lib = fakeLib("1.0.0", 1, `(import "gpio" "open" (func (param i32 i32) (result i32)))`);
          return { wasm: lib.wasm, manifest: lib.manifest };
        })(),
        /it needs the capabilities \[gpio\], which app 'user' is not granted/,
      ],
      [
        "export",
        valueApp("^1"),
        (() => {
          const wasm = wat(`(module (memory (export "memory") 1) (func (export "other") (result i32) (i32.const 1)))`);
          return { wasm, manifest: manifestOf("fake", "1.0.0", wasm) };
        })(),
        /app 'user' imports value from it, which fake@1\.0\.0 does not export/,
      ],
    ];
    for (const [label, app, lib, message] of cases) {
      const { simulation, board, events } = sim();
      board.libraries.add(lib.wasm, lib.manifest);
      const installed = board.install(app.wasm, app.manifest);
      simulation.runFor(1000);
      const traps = trapsOf(events);
      expect(traps.length, label).toBe(1);
      expect(traps[0]![1], label).toMatch(message);
      expect(installed.state, label).toBe("trapped");
    }
  });

  it("the store refuses a library whose bytes do not match its manifest, or that is not wasm", () => {
    const { board } = sim();
    const lib = fakeLib("1.0.0", 7);
    const tampered = lib.wasm.slice();
    tampered[tampered.length - 1] = 8;
    expect(() => board.libraries.add(tampered, lib.manifest)).toThrow(/library fake@1\.0\.0 rejected: its bytes hash to [0-9a-f]{64}, its manifest says/);
    const junk = new Uint8Array([1, 2, 3]);
    expect(() => board.libraries.add(junk, manifestOf("fake", "1.0.0", junk))).toThrow(LinkError);
    expect(() => board.libraries.add(junk, manifestOf("fake", "1.0.0", junk))).toThrow(/not a valid WebAssembly module/);
  });

  it("time spent in a library counts against the calling app's watchdog budget", () => {
    const { simulation, board, events } = sim();
    const wasm = wat(`(module (memory (export "memory") 1) (func (export "value") (result i32) (loop $l (br $l)) (i32.const 0)))`);
    board.libraries.add(wasm, manifestOf("fake", "1.0.0", wasm));
    const app = valueApp("^1");
    board.install(app.wasm, app.manifest);
    simulation.runFor(1000);
    expect(trapsOf(events)).toEqual([[1000, "stopped by the watchdog: on_timer did not return within its budget (1,000,000 steps)"]]);
  });
});

describe("hot swap and unload", () => {
  it("as on the C engine: a call back into a library running further up traps, and library calls nest at most 4 deep", () => {
    const { simulation, board, events } = sim();
    const lib = (name: string, text: string) => {
      const wasm = wat(text);
      board.libraries.add(wasm, { ...manifestOf(name, "1.0.0", wasm), kind: "library" } as AppManifest);
    };
    lib("ping", `(module (import "pong@^1" "back" (func $back (param i32 i32) (result i32))) (memory (export "memory") 1)
      (func (export "read") (param i32 i32) (result i32) (call $back (local.get 0) (local.get 1)))
      (func (export "again") (param i32 i32) (result i32) (i32.const 1)))`);
    lib("pong", `(module (import "ping@^1" "again" (func $again (param i32 i32) (result i32))) (memory (export "memory") 1)
      (func (export "back") (param i32 i32) (result i32) (call $again (local.get 0) (local.get 1))))`);
    for (let i = 0; i < 5; i++) {
      const next = i < 4 ? `(import "chain${i + 1}@^1" "f" (func $next (param i32 i32) (result i32)))` : "";
      const body = i < 4 ? `(i32.add (call $next (local.get 0) (local.get 1)) (i32.const 1))` : `(i32.const 7)`;
      lib(`chain${i}`, `(module ${next} (memory (export "memory") 1) (func (export "f") (param i32 i32) (result i32) ${body}))`);
    }
    const app = (name: string, imp: string) => {
      const wasm = wat(`(module (import "${imp}" (func $f (param i32 i32) (result i32))) (memory (export "memory") 1)
        (func (export "start") (drop (call $f (i32.const 0) (i32.const 0)))))`);
      board.install(wasm, manifestOf(name, "0.1.0", wasm));
    };
    app("cyc", `ping@^1" "read`);
    app("deep", `chain0@^1" "f`);
    simulation.runFor(10);
    const traps = trapsOf(events).map(([, m]) => m);
    expect(traps).toEqual([
      expect.stringMatching(/library ping@\^1: call of again while the library is already running further up this call \(re-entrant library calls are not supported\)/),
      expect.stringMatching(/library chain4@\^1: calls through libraries nested more than 4 deep/),
    ]);
  });

  it("swapping in a new version between two events changes behaviour without restarting the app", () => {
    const { simulation, board, events } = sim();
    const v1 = fakeLib("1.0.0", 10);
    const v2 = fakeLib("1.1.0", 11);
    board.libraries.add(v1.wasm, v1.manifest);
    const def = valueApp("^1");
    const app = board.install(def.wasm, def.manifest);
    simulation.runFor(2500);
    const lib2 = board.libraries.add(v2.wasm, v2.manifest);
    app.linker!.swap(lib2);
    simulation.runFor(2000);
    expect(appLogs(events, "user")).toEqual([
      [1000, "10"],
      [2000, "10"],
      [3000, "11"],
      [4000, "11"],
    ]);
    // Same instance all along: started once, its call counter kept counting.
    expect(events.filter((e) => e.type === "app")).toHaveLength(1);
    expect((app.wasmInstance!.exports.calls as WebAssembly.Global).value).toBe(4);
    expect(notes(events)).toEqual(["app 'user': library fake@1.0.0 linked", "app 'user': library fake@1.1.0 swapped"]);
  });

  it("a swap to a version outside the app's range is refused and the old version keeps serving", () => {
    const { simulation, board, events } = sim();
    const v1 = fakeLib("1.0.0", 10);
    const v2 = fakeLib("2.0.0", 20);
    board.libraries.add(v1.wasm, v1.manifest);
    const def = valueApp("^1");
    const app = board.install(def.wasm, def.manifest);
    simulation.runFor(1000);
    const lib2 = board.libraries.add(v2.wasm, v2.manifest);
    expect(() => app.linker!.swap(lib2)).toThrow("cannot swap in fake@2.0.0: app 'user' asks for fake@^1");
    simulation.runFor(1000);
    expect(appLogs(events, "user")).toEqual([
      [1000, "10"],
      [2000, "10"],
    ]);
  });

  it("unload frees the library's memory (measured) and the next call links it again", () => {
    const { simulation, board, events } = sim();
    const v1 = fakeLib("1.0.0", 10);
    board.libraries.add(v1.wasm, v1.manifest);
    const def = valueApp("^1");
    const app = board.install(def.wasm, def.manifest);
    simulation.runFor(1000);
    const held = app.linker!.loaded();
    expect(held).toEqual([{ name: "fake", version: "1.0.0", sha256: v1.manifest.sha256, codeBytes: v1.wasm.length, memoryBytes: 65536 }]);
    expect(app.linker!.unload("fake")).toBe(true);
    expect(app.linker!.loaded()).toEqual([]);
    simulation.runFor(1000);
    expect(appLogs(events, "user")).toEqual([
      [1000, "10"],
      [2000, "10"],
    ]);
    expect(notes(events)).toEqual(["app 'user': library fake@1.0.0 linked", "app 'user': library fake@1.0.0 unloaded", "app 'user': library fake@1.0.0 linked"]);
  });
});

describe("the explicit API (sdk/modules.ts): load, look up, call, unload with errors as values", () => {
  it("misuse gives error values, a missing library ENOENT, and each load/unload links and frees the driver", () => {
    const { simulation, board, events } = sim();
    const app = board.install(explicit.wasm, explicit.manifest);
    simulation.runFor(1000);
    // EINVAL -1 for a bad range, ENOENT -3 for a library the board lacks, EINVAL for a stale handle
    expect(appLogs(events, "explicit")).toEqual([
      [0, "bad range -1, missing -3, stale call 0/-1"],
      [1000, "load: -3"],
    ]);
    board.libraries.add(tmp105.wasm, tmp105.manifest);
    simulation.runFor(1000);
    expect(appLogs(events, "explicit").slice(2)).toEqual([[2000, "lookup absent -3, status 0, 23.50 C"]]);
    expect(notes(events)).toEqual(["app 'explicit': library tmp105@1.0.0 linked", "app 'explicit': library tmp105@1.0.0 unloaded"]);
    expect(app.linker!.loaded()).toEqual([]); // unloaded after each use: nothing held between events
    expect(app.state).toBe("running");
  });

  it("a library that traps inside a call gives EIO, and the app keeps running", () => {
    const { simulation, board, events } = sim();
    const wasm = wat(`(module (memory (export "memory") 1) (func (export "read_centi") (param i32 i32) (result i32) unreachable))`);
    board.libraries.add(wasm, manifestOf("tmp105", "1.0.0", wasm));
    const app = board.install(explicit.wasm, explicit.manifest);
    simulation.runFor(1000);
    expect(appLogs(events, "explicit").slice(1)).toEqual([
      [1000, "module.call into tmp105: unreachable"],
      [1000, "lookup absent -3, status -6, 0.00 C"],
    ]);
    expect(app.state).toBe("running");
  });
});

describe("shared-everything libraries (liquid build --library --shared)", () => {
  it("build: the library imports the app's memory, and __memory_base when it has static data; one that allocates imports the app's allocator; one that grows memory itself is refused", async () => {
    expect(bytesum.manifest).toMatchObject({ kind: "library", shared: true, imports: [{ module: "env", name: "memory" }] });
    expect(lookup.manifest).toMatchObject({ kind: "library", shared: true });
    expect(lookup.manifest.imports).toEqual(expect.arrayContaining([{ module: "env", name: "memory" }, { module: "env", name: "__memory_base" }]));
    const size = WebAssembly.Module.customSections(new WebAssembly.Module(lookup.wasm as BufferSource), "liquid.shared_data");
    expect(new DataView(size[0]!).getUint32(0, true)).toBeGreaterThan(16 + 32); // the table and the string, with their headers
    const allocating = await buildApp(join(ROOT, "test/linking/fixtures/allocating"), { out: join(tempDir(), "t.wasm"), library: true, shared: true, force: true });
    expect(allocating.errors).toEqual([]);
    expect(allocating.manifest!.imports).toContainEqual({ module: "env", name: "__lq_alloc" });
    const dir = tempDir();
    writeFileSync(join(dir, "liquid.json"), '{ "name": "grower", "version": "1.0.0" }');
    writeFileSync(join(dir, "app.ts"), "export function grow(pages: i32, unused: i32): i32 { return memory.grow(pages); }\n");
    const r = await buildApp(dir, { out: join(tempDir(), "t.wasm"), library: true, shared: true, force: true });
    expect(r.ok).toBe(false);
    expect(r.errors).toContain("a shared library may not grow memory (memory.grow): the app's memory belongs to the app's allocator");
  });

  it("build: a constant just outside the static data is refused rather than guessed", () => {
    const lib = wat(`(module (import "env" "memory" (memory 0))
      (data (i32.const ${SHARED_DATA_BASE}) "abcd")
      (func (export "f") (param i32 i32) (result i32) (i32.load (i32.const ${SHARED_DATA_BASE - 4}))))`);
    const r = relocateSharedLibrary(lib);
    expect(r.wasm).toBeUndefined();
    expect(r.problems).toEqual([`a shared library's constant ${SHARED_DATA_BASE - 4} lies just outside its static data (${SHARED_DATA_BASE}..${SHARED_DATA_BASE + 16}): it cannot tell whether it is an address; refusing to guess`]);
  });

  it("a library's own static data is placed in the app's memory and read there; its global stays its own", () => {
    const { simulation, board, events } = sim();
    board.libraries.add(lookup.wasm, lookup.manifest);
    const wasm = wat(LOOKUP_APP_WAT);
    const app = board.install(wasm, manifestOf("tabler", "0.1.0", wasm, ["time", "log"]));
    simulation.runFor(2000);
    // square(7) = 49 from its table, 'h' (104) from its string, and the table's byte 12 (144)
    // read by the app itself at the address the library reports; then the library's call count.
    expect(appLogs(events, "tabler")).toEqual([
      [1000, "49104144"],
      [1000, "2"],
      [2000, "49104144"],
      [2000, "4"],
    ]);
    const region = app.linker!.sharedDataRegion("lookup")!;
    expect(region.fromHeap).toBe(false); // the WAT app names no heap pointer
    expect(region.address + region.size).toBeLessThanOrEqual(65536); // the top of the app's one page
    expect(region.address).toBe((65536 - region.size) & ~15);
    expect(app.linker!.loaded()).toEqual([{ name: "lookup", version: "1.0.0", sha256: lookup.manifest.sha256, codeBytes: lookup.wasm.length, memoryBytes: 0 }]);
  });

  it("an app whose manifest names its heap pointer gives the library's data from its heap: its later allocations go above it", () => {
    expect(heapuser.manifest.heapPointer).toMatch(/^__lq_g\d+$/);
    expect(heapuser.manifest.exports).toContain(heapuser.manifest.heapPointer);
    const { simulation, board, events } = sim();
    board.libraries.add(lookup.wasm, lookup.manifest);
    const app = board.install(heapuser.wasm, heapuser.manifest);
    simulation.runFor(10);
    const logs = appLogs(events, "heapuser").map(([, msg]) => msg);
    expect(logs).toHaveLength(2);
    const [before, table, after] = String(logs[0]).split(" ").map(Number) as [number, number, number];
    const region = app.linker!.sharedDataRegion("lookup")!;
    expect(region.fromHeap).toBe(true);
    expect(region.address).toBeGreaterThan(before);
    expect(table).toBeGreaterThanOrEqual(region.address);
    expect(table).toBeLessThan(region.address + region.size);
    expect(after).toBeGreaterThanOrEqual(region.address + region.size);
    expect(logs[1]).toBe("49"); // the table survived the app filling its new array
  });

  it("reads the app's bytes in place and adds no memory of its own", () => {
    const { simulation, board, events } = sim();
    board.libraries.add(bytesum.wasm, bytesum.manifest);
    const wasm = wat(SUM_APP_WAT);
    const def = { wasm, manifest: manifestOf("summer", "0.1.0", wasm, ["time", "log"]) };
    const app = board.install(def.wasm, def.manifest);
    simulation.runFor(2000);
    expect(appLogs(events, "summer")).toEqual([
      [1000, "55"],
      [2000, "55"],
    ]);
    expect(app.linker!.loaded()).toEqual([{ name: "bytesum", version: "1.0.0", sha256: bytesum.manifest.sha256, codeBytes: bytesum.wasm.length, memoryBytes: 0 }]);
  });
});

describe("libraries from the module repository", () => {
  let server: RunningRepository;
  beforeAll(async () => {
    server = await serveRepository(tempDir(), 0);
    await server.repo.publish(tmp105.wasm, tmp105.manifest as never);
    await server.repo.publish(bme280.wasm, bme280.manifest as never);
  });
  afterAll(() => server.close());

  it("liquid sim --repo and --lib: the run links what was fetched; a library without a manifest is refused", async () => {
    const fromRepo = await runCli(["sim", probe.path!, "--repo", server.url, "--for", "1s"]);
    expect(fromRepo.code).toBe(0);
    expect(fromRepo.stdout).toContain("  1000 ms  [sim] app 'probe': library tmp105@1.0.0 linked\n  1000 ms  [probe] 23.50 C\n");
    const fromFile = await runCli(["sim", probe.path!, "--lib", tmp105.path!, "--for", "1s", "--set", "I2C0.tmp105.temperature=30"]);
    expect(fromFile.stdout).toContain("[probe] 30.00 C");
    const bare = join(tempDir(), "bare.wasm");
    writeFileSync(bare, tmp105.wasm);
    expect(await runCli(["sim", probe.path!, "--lib", bare])).toMatchObject({ code: 1, stderr: expect.stringContaining("has no manifest beside it; build it with liquid build --library") });
    const down = await runCli(["sim", probe.path!, "--repo", "http://127.0.0.1:9"]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot fetch library tmp105@\^1: module repository at http:\/\/127\.0\.0\.1:9 is unreachable/);
  });

  it("fetches what the app imports, verified, and the app links it lazily", async () => {
    const { simulation, board, events } = sim();
    const app = board.install(probe.wasm, probe.manifest);
    const fetched = await fetchLibraries(server.url, app.linker ? app.linker.references() : probe.manifest.libraries!, board.libraries);
    expect(fetched.map((l) => `${l.name}@${l.version}`)).toEqual(["tmp105@1.0.0", "bme280@1.0.0"]);
    simulation.runFor(1000);
    expect(appLogs(events, "probe")).toEqual([
      [0, "found tmp105"],
      [1000, "23.50 C"],
    ]);
  });

  it("a module tampered with in the repository is rejected by its hash and never reaches the store", async () => {
    const { board } = sim();
    const lib = fakeLib("1.0.0", 5);
    const pub = await server.repo.publish(lib.wasm, lib.manifest as never);
    const tampered = lib.wasm.slice();
    tampered[tampered.length - 1] = 6;
    writeFileSync(join(server.repo.dir, "blobs", `${pub.sha256}.wasm`), tampered);
    await expect(fetchLibraries(server.url, [{ name: "fake", range: "^1" }], board.libraries)).rejects.toThrow(
      /cannot fetch library fake@\^1: module fake@1\.0\.0 from .* rejected: its bytes hash to [0-9a-f]{64}, the index says/,
    );
    expect(board.libraries.list()).toEqual([]);
  });

  it("an unreachable repository and a missing library are errors naming the library", async () => {
    const { board } = sim();
    await expect(fetchLibraries(server.url, [{ name: "nosuch", range: "^1" }], board.libraries)).rejects.toThrow(
      "cannot fetch library nosuch@^1: no module named 'nosuch' in the repository",
    );
    await expect(fetchLibraries("http://127.0.0.1:9", [{ name: "tmp105", range: "^1" }], board.libraries)).rejects.toThrow(
      /cannot fetch library tmp105@\^1: module repository at http:\/\/127\.0\.0\.1:9 is unreachable/,
    );
  });
});

/** A hand-written app that calls `lib`'s `fn` at start: it exports neither a table nor an allocator. */
function bareApp(lib: string, fn: string): { wasm: Uint8Array; manifest: AppManifest } {
  const wasm = wat(`(module
    (import "${lib}@^1" "${fn}" (func $f (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "start") (drop (call $f (i32.const 0) (i32.const 4)))))`);
  return { wasm, manifest: manifestOf("bare", "0.1.0", wasm, ["log"]) };
}

describe("shared libraries ABI v2: the app's allocator and table", () => {
  it("build: a table index in code is relocated to __table_base + k, and the table import loses its limits", () => {
    const lib = wat(`(module (import "env" "memory" (memory 0)) (import "env" "table" (table ${SHARED_TABLE_BASE + 2} funcref))
      (type $r (func (result i32)))
      (elem (i32.const ${SHARED_TABLE_BASE}) $a $b)
      (func $a (result i32) (i32.const 10))
      (func $b (result i32) (i32.const 20))
      (func (export "f") (param i32 i32) (result i32) (call_indirect (type $r) (i32.add (i32.const ${SHARED_TABLE_BASE}) (local.get 0)))))`);
    const r = relocateSharedLibrary(lib);
    expect(r.problems).toEqual([]);
    expect(r.tableSize).toBe(2);
    const table = new WebAssembly.Table({ element: "anyfunc", initial: 3 });
    const base = table.grow(r.tableSize);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(r.wasm! as BufferSource), { env: { memory, table, __table_base: new WebAssembly.Global({ value: "i32", mutable: false }, base) } });
    const f = instance.exports.f as (a: number, b: number) => number;
    expect([f(0, 0), f(1, 0)]).toEqual([10, 20]);
    expect(table.get(0)).toBeNull(); // the app's own slots untouched
  });

  it("a library allocates its result with the app's allocator: the app's blocks before and after do not overlap it, and it reads the result in place", () => {
    const { simulation, board, events } = sim();
    board.libraries.add(histogram.wasm, histogram.manifest);
    board.install(histuser.wasm, histuser.manifest);
    simulation.runFor(10);
    const logs = appLogs(events, "histuser").map(([, msg]) => String(msg));
    expect(logs).toHaveLength(3);
    expect(logs[0]).toMatch(/^data \d+ hist \d+ after \d+ ordered 1$/);
    expect(logs.slice(1)).toEqual(["buckets 3 1 0 4 0 0 0 0 0 0 0 0 0 0 0 8", "label hist#1"]);
    expect(trapsOf(events)).toEqual([]);
  });

  it("examples/smooth: the stats library summarises the app's samples in place and answers in a block of the app's heap", () => {
    const { simulation, board, events } = sim();
    board.libraries.add(stats.wasm, stats.manifest);
    board.install(smooth.wasm, smooth.manifest);
    board.set("I2C0.tmp105.temperature", 20);
    simulation.runFor(1100); // samples at 250 .. 1000 ms: 20 C
    board.set("I2C0.tmp105.temperature", 30);
    simulation.runFor(900); // samples at 1250 .. 2000 ms: 30 C, then the summary
    expect(appLogs(events, "smooth")).toEqual([[2000, "min 20.00 max 30.00 median 25.00 C (stats 1.0.0)"]]);
    expect(trapsOf(events)).toEqual([]);
  });

  it("the explicit API loads a library that allocates: an app calling modules.load shares its allocator too", () => {
    expect(histexplicit.manifest.libraries ?? []).toEqual([]);
    expect(histexplicit.manifest.exports).toEqual(expect.arrayContaining(["__lq_alloc", "__lq_realloc", "__lq_free", "table"]));
    const { simulation, board, events } = sim();
    board.libraries.add(histogram.wasm, histogram.manifest);
    board.install(histexplicit.wasm, histexplicit.manifest);
    simulation.runFor(10);
    expect(appLogs(events, "histexplicit").map(([, msg]) => String(msg))).toEqual(["loaded 1", "buckets 3 1 0 4 0 0 0 0 0 0 0 0 0 0 0 8", "after ordered 1"]);
    expect(trapsOf(events)).toEqual([]);
  });

  it("a library's table entries go into the app's table: its static table, a reference it returns, the app's callback, its Array literal", () => {
    const { simulation, board, events } = sim();
    board.libraries.add(ops.wasm, ops.manifest);
    const app = board.install(opsuser.wasm, opsuser.manifest);
    simulation.runFor(10);
    expect(appLogs(events, "opsuser").map(([, msg]) => msg)).toEqual(["apply 14 21 -7", "op 15", "callback 106", "prime 11 2"]);
    const table = app.wasmInstance!.exports.table as WebAssembly.Table;
    const slots = app.linker!.tableSlotsOf("ops")!;
    expect(slots.size).toBe(3);
    expect(slots.base).toBeGreaterThan(0); // after the app's own entry (plus100)
    expect(table.length).toBe(slots.base + 3);
    const slot = (i: number) => table.get(slots.base + i) as (x: number) => number;
    expect([slot(0)(7), slot(1)(7), slot(2)(7)]).toEqual([14, 21, -7]); // twice, thrice, negate
  });

  it("liquid sim --lib: the fixture pairs print the lines of test/linking/fixtures/README.md", async () => {
    const opsRun = await runCli(["sim", opsuser.path!, "--lib", ops.path!, "--for", "10ms"]);
    expect(opsRun.code).toBe(0);
    expect(opsRun.stdout).toContain("[sim] app 'opsuser': library ops@1.0.0 linked\n     0 ms  [opsuser] apply 14 21 -7\n     0 ms  [opsuser] op 15\n     0 ms  [opsuser] callback 106\n     0 ms  [opsuser] prime 11 2\n");
    const histRun = await runCli(["sim", histuser.path!, "--lib", histogram.path!, "--for", "10ms"]);
    expect(histRun.stdout).toMatch(/\[histuser\] data \d+ hist \d+ after \d+ ordered 1\n {5}0 ms {2}\[histuser\] buckets 3 1 0 4 0 0 0 0 0 0 0 0 0 0 0 8\n {5}0 ms {2}\[histuser\] label hist#1\n/);
  });

  it("debug builds (not optimised) of such libraries are relocated too and behave the same", async () => {
    const r = await buildApp(join(ROOT, "test/linking/fixtures/ops"), { out: join(tempDir(), "ops.wasm"), library: true, shared: true, debug: true, force: true });
    expect(r.errors).toEqual([]);
    const { simulation, board, events } = sim();
    board.libraries.add(r.wasm!, r.manifest as unknown as AppManifest);
    board.install(opsuser.wasm, opsuser.manifest);
    simulation.runFor(10);
    expect(appLogs(events, "opsuser").map(([, msg]) => msg)).toEqual(["apply 14 21 -7", "op 15", "callback 106", "prime 11 2"]);
  });

  it("slots are not given back by an unload (they are emptied): linking again appends new ones, and the calls still work", () => {
    const { simulation, board, events } = sim();
    board.libraries.add(ops.wasm, ops.manifest);
    const app = board.install(opsuser.wasm, opsuser.manifest);
    simulation.runFor(10);
    const table = app.wasmInstance!.exports.table as WebAssembly.Table;
    const first = app.linker!.tableSlotsOf("ops")!;
    expect(app.linker!.unload("ops")).toBe(true);
    expect([0, 1, 2].map((i) => table.get(first.base + i))).toEqual([null, null, null]); // emptied: a kept reference traps
    app.call("start"); // links ops again
    expect(app.linker!.tableSlotsOf("ops")).toEqual({ base: first.base + 3, size: 3 });
    expect(table.length).toBe(first.base + 6);
    expect(appLogs(events, "opsuser").map(([, msg]) => msg).slice(4)).toEqual(["apply 14 21 -7", "op 15", "callback 106", "prime 11 2"]);
  });

  it("a hot swap to another version takes new slots and empties the old ones; calls go to the new instance", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "app.ts"), readFileSync(join(ROOT, "test/linking/fixtures/ops/app.ts"), "utf8"));
    writeFileSync(join(dir, "liquid.json"), '{ "name": "ops", "version": "1.0.1" }');
    const r = await buildApp(dir, { out: join(dir, "ops.wasm"), library: true, shared: true, force: true });
    const { simulation, board, events } = sim();
    board.libraries.add(ops.wasm, ops.manifest);
    const app = board.install(opsuser.wasm, opsuser.manifest);
    simulation.runFor(10);
    const old = app.linker!.tableSlotsOf("ops")!;
    app.linker!.swap(board.libraries.add(r.wasm!, r.manifest as unknown as AppManifest));
    const table = app.wasmInstance!.exports.table as WebAssembly.Table;
    expect(app.linker!.tableSlotsOf("ops")).toEqual({ base: old.base + 3, size: 3 });
    expect(table.get(old.base)).toBeNull();
    app.call("start");
    expect(appLogs(events, "opsuser").map(([, msg]) => msg).slice(4)).toEqual(["apply 14 21 -7", "op 15", "callback 106", "prime 11 2"]);
    expect(app.linker!.loaded().map((l) => l.version)).toEqual(["1.0.1"]);
  });

  it("a library that only calls the app's callbacks imports the app's table but takes no slots", async () => {
    const lib = tempDir();
    writeFileSync(join(lib, "liquid.json"), '{ "name": "each", "version": "1.0.0" }');
    writeFileSync(join(lib, "app.ts"), "export function sum_of(fn: i32, n: i32): i32 {\n  let s = 0;\n  for (let i = 0; i < n; i++) s += call_indirect<i32>(<u32>fn, i);\n  return s;\n}\n");
    const app = tempDir();
    writeFileSync(join(app, "liquid.json"), '{ "name": "eachuser", "version": "0.1.0" }');
    writeFileSync(join(app, "app.ts"), [
      'import { Text, log } from "liquid";',
      '@external("each@^1", "sum_of") declare function sum_of(fn: i32, n: i32): i32;',
      "function square(x: i32): i32 { return x * x; }",
      "export function start(): void { log.info(Text.begin().int(sum_of(<i32>load<u32>(changetype<usize>(square)), 4))); }",
      "",
    ].join("\n"));
    const l = await buildApp(lib, { out: join(lib, "each.wasm"), library: true, shared: true, force: true });
    const a = await buildApp(app, { out: join(app, "eachuser.wasm"), force: true });
    const imports = WebAssembly.Module.imports(new WebAssembly.Module(l.wasm! as BufferSource)).map((i) => `${i.module}.${i.name}`);
    expect(imports).toContain("env.table");
    expect(imports).not.toContain("env.__table_base");
    const { simulation, board, events } = sim();
    board.libraries.add(l.wasm!, l.manifest as unknown as AppManifest);
    const installed = board.install(a.wasm!, a.manifest as unknown as AppManifest);
    simulation.runFor(10);
    expect(appLogs(events, "eachuser").map(([, msg]) => msg)).toEqual(["14"]); // 0 + 1 + 4 + 9
    expect(installed.linker!.tableSlotsOf("each")).toBeUndefined();
    expect(installed.snapshotRefusal()).toBeUndefined(); // nothing of the library's in the app's table
  });

  it("an app that exports no table or no allocator cannot link such a library: the message names the library and what is missing", () => {
    for (const [lib, fn, want] of [
      [ops, "apply", "cannot link ops@^1 for app 'bare': ops@1.0.0 needs the app's function table, which app 'bare' does not export (rebuild the app with this version of liquid build)"],
      [histogram, "histogram", "cannot link histogram@^1 for app 'bare': histogram@1.0.0 allocates with the app's allocator, which app 'bare' does not share (it exports no __lq_alloc; rebuild the app with this version of liquid build)"],
    ] as const) {
      const { simulation, board, events } = sim();
      board.libraries.add(lib.wasm, lib.manifest);
      const app = bareApp(lib.manifest.name, fn);
      board.install(app.wasm, app.manifest);
      simulation.runFor(10);
      expect(trapsOf(events)).toEqual([[0, want]]);
    }
  });

  it("an app whose table holds a linked library's entries cannot be snapshotted; one whose libraries have none can", () => {
    const { simulation, board } = sim();
    board.libraries.add(ops.wasm, ops.manifest);
    board.libraries.add(histogram.wasm, histogram.manifest);
    const withTable = board.install(opsuser.wasm, opsuser.manifest);
    const withoutTable = board.install(histuser.wasm, histuser.manifest);
    simulation.runFor(10);
    expect(withTable.snapshotRefusal()).toBe("cannot snapshot opsuser: its function table holds entries of shared library ops (function references cannot leave the device); unload the library first");
    expect(() => withTable.snapshot()).toThrow(/cannot snapshot opsuser: its function table holds entries of shared library ops/);
    expect(withTable.state).toBe("running");
    expect(withoutTable.snapshot().memory.length).toBe(65536);
    withTable.linker!.unload("ops");
    expect(withTable.snapshotRefusal()).toBeUndefined();
  });
});
