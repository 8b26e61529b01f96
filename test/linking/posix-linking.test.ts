// Execution-time linking on the C runtime (posix port over TCP, ASan/UBSan build): a driver
// library in the store linked when its app starts, a missing one fetched by the host's relay
// from the module repository and linked at the first call, and the failures that trap the app
// with a message naming the library.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildApp } from "../../compiler/src/app-build/index.js";
import type { DeviceClient } from "../../compiler/src/protocol/client.js";
import { type FetchReport, relayFetches } from "../../compiler/src/protocol/fetch-relay.js";
import { type RunningRepository, serveRepository } from "../../hub/src/server.js";
import { ROOT } from "../helpers/native-build.js";
import { liquid } from "../cli/support.js";
import { FILTER_WAT, LOOKUP_APP_WAT, modelApp, SUM_APP_WAT, TENTHS_APP_WAT, TENTHS_MANIFEST, decimalDigitsWat, tabledAppWat, tabledLibrary, watLibraryManifest } from "./wat-apps.js";
import { wat } from "../helpers/wat.js";
import { migrate } from "../../compiler/src/migrate/migrate.js";
import type { ModuleCopy } from "../../compiler/src/migrate/module-source.js";
import { connectTcp } from "../../compiler/src/transport/tcp.js";
import { PosixDevice, tempDir } from "../firmware/device.js";

interface Built {
  wasm: Uint8Array;
  manifest: Record<string, unknown> & { name: string; version: string; sha256: string; size: number };
}

let tmp: { dir: string; cleanup: () => void };
let probe: Built, tmp105: Built, bme280: Built, explicit: Built;
let server: RunningRepository;
const devices: PosixDevice[] = [];

let probePath = "";

/** The tmp105 driver at another version, optionally with its reading rounded down to whole degrees. */
async function tmp105Variant(version: string, wholeDegrees: boolean): Promise<Built> {
  const dir = join(tmp.dir, `tmp105-${version}`);
  mkdirSync(dir, { recursive: true });
  let source = readFileSync(join(ROOT, "examples/probe/drivers/tmp105/app.ts"), "utf8");
  if (wholeDegrees) source = source.replace("return ((<i32>(<i16>raw)) >> 4) * 25 / 4;", "return ((<i32>(<i16>raw)) >> 4) * 25 / 4 / 100 * 100;");
  // distinct bytes per version (the device's store recognises a module by its hash)
  source = source.replace("return 105;", `return ${105 + 1000 * Number(version.split(".")[0]) + 100 * Number(version.split(".")[1])};`);
  writeFileSync(join(dir, "app.ts"), source);
  writeFileSync(join(dir, "liquid.json"), JSON.stringify({ name: "tmp105", version }));
  const r = await buildApp(dir, { library: true, force: true });
  if (!r.ok) throw new Error(`build of tmp105 ${version} failed: ${r.errors.join("; ")}`);
  return { wasm: r.wasm!, manifest: r.manifest as unknown as Built["manifest"] };
}

async function build(path: string, library: boolean, shared = false): Promise<Built> {
  const r = await buildApp(join(ROOT, path), { out: join(tmp.dir, `${path.replace(/\W/g, "_")}.wasm`), library, shared, force: true });
  if (!r.ok) throw new Error(`build of ${path} failed: ${r.errors.join("; ")}`);
  return { wasm: r.wasm!, manifest: r.manifest as unknown as Built["manifest"] };
}

async function device(name: string): Promise<{ dev: PosixDevice; c: DeviceClient }> {
  const dev = await PosixDevice.start(join(tmp.dir, `${name}.img`));
  devices.push(dev);
  return { dev, c: await dev.client() };
}

async function stopClean(dev: PosixDevice, c: DeviceClient): Promise<void> {
  await c.close();
  expect(await dev.stop()).toBe(0);
  expect(dev.stderr).not.toMatch(/Sanitizer|runtime error/);
}

beforeAll(async () => {
  tmp = tempDir("lq-link-");
  probe = await build("examples/probe", false);
  probePath = join(tmp.dir, "examples_probe.wasm");
  tmp105 = await build("examples/probe/drivers/tmp105", true);
  bme280 = await build("examples/probe/drivers/bme280", true);
  explicit = await build("test/linking/fixtures/explicit", false);
  server = await serveRepository(join(tmp.dir, "repo"), 0);
  await server.repo.publish(tmp105.wasm, tmp105.manifest);
  await server.repo.publish(bme280.wasm, bme280.manifest);
}, 60_000);

afterAll(async () => {
  for (const d of devices) await d.kill();
  await server?.close();
  tmp?.cleanup();
});

describe("posix device: libraries linked at run time", () => {
  test("a driver in the store is linked when the app starts; the missing one is only asked for", async () => {
    const { dev, c } = await device("local");
    const fetches: string[] = [];
    c.onFetch((name, range) => fetches.push(`${name}@${range}`));
    await c.put("tmp105", tmp105.wasm, tmp105.manifest);
    const heapBefore = (await c.info()).memory as { heapUsed: number };
    await c.put("probe", probe.wasm, probe.manifest, { start: true });
    const linked = await dev.waitFor((l) => / info probe: linked library tmp105 1\.0\.0 in \d+ us \(engine heap \+\d+ bytes\)$/.test(l));
    await dev.waitFor((l) => / info probe: 23\.50 C$/.test(l));
    const mark = dev.lines.length;
    dev.control("temp 26.5");
    await dev.waitFor((l) => / info probe: 26\.50 C$/.test(l), 10_000, mark);
    // bme280 is imported too but not in the store: the device asked the host for it
    expect(fetches).toEqual(["bme280@^1"]);
    const libHeap = Number(/heap \+(\d+) bytes/.exec(linked)![1]);
    expect(libHeap).toBeGreaterThan(0);
    // Stopping the app frees its library instances: the engine heap returns to where it was.
    await c.stop("probe");
    const heapAfter = (await c.info()).memory as { heapUsed: number };
    expect(heapAfter.heapUsed).toBe(heapBefore.heapUsed);
    await stopClean(dev, c);
  });

  test("a driver absent from the device is fetched through the host's relay and linked at the first call", async () => {
    const { dev, c } = await device("relay");
    const reports: FetchReport[] = [];
    const off = relayFetches(c, server.url, (r) => reports.push(r));
    expect((await c.list()).map((a) => a.name)).toEqual([]);
    await c.put("probe", probe.wasm, probe.manifest, { start: true });
    const linked = await dev.waitFor((l) => / info probe: linked library tmp105 1\.0\.0 in \d+ us/.test(l));
    await dev.waitFor((l) => / info probe: 23\.50 C$/.test(l));
    const m = /in (\d+) us \(engine heap \+(\d+) bytes\)/.exec(linked)!;
    console.log(
      `posix/TCP (ASan build): FETCH -> library installed: tmp105 ${reports[0]?.ms.toFixed(0)} ms, bme280 ${reports[1]?.ms.toFixed(0)} ms; ` +
        `link at the first call ${m[1]} us; engine heap per loaded library ${m[2]} bytes`,
    );
    expect(reports.map((r) => [r.name, r.range, r.ok, r.version])).toEqual([
      ["tmp105", "^1", true, "1.0.0"],
      ["bme280", "^1", true, "1.0.0"],
    ]);
    expect((await c.list()).map((a) => a.name).sort()).toEqual(["bme280@1", "probe", "tmp105@1"]);
    off();
    await stopClean(dev, c);
  });

  test("an autostarted app whose driver is missing at a boot with no host: the first host to say HELLO is asked, and the app reads its sensor", async () => {
    const { dev, c } = await device("boot-nohost");
    await c.put("probe", probe.wasm, probe.manifest, { autostart: true });
    await stopClean(dev, c);
    const next = await PosixDevice.start(join(tmp.dir, "boot-nohost.img"));
    devices.push(next);
    await next.waitFor((l) => / info -: library tmp105@\^1 is not on this device: asking the next host that connects$/.test(l));
    const c2 = await next.client();
    const reports: FetchReport[] = [];
    const off = relayFetches(c2, server.url, (r) => reports.push(r));
    await next.waitFor((l) => / info probe: 23\.50 C$/.test(l));
    expect(reports.map((r) => [r.name, r.ok])).toEqual([
      ["tmp105", true],
      ["bme280", true],
    ]);
    off();
    await stopClean(next, c2);
  });

  test("no relay: the first call traps the app with a message naming the library", async () => {
    const { dev, c } = await device("none");
    await c.put("probe", probe.wasm, probe.manifest, { start: true });
    const trap = await dev.waitFor((l) => /probe.*trapped|trapped.*probe/.test(l));
    expect(trap).toMatch(/cannot link tmp105@\^1: tmp105 is not in this device's store \(fetch requested from the host, no answer yet\)/);
    const list = await c.list();
    expect(list.find((a) => a.name === "probe")).toMatchObject({ state: "trapped" });
    await stopClean(dev, c);
  });

  test("a repository without a matching version: the host's reason reaches the trap message", async () => {
    const { dev, c } = await device("norange");
    const reports: FetchReport[] = [];
    const off = relayFetches(c, server.url, (r) => reports.push(r));
    // a probe variant that wants tmp105@^2, which the repository does not have
    const wasm = Uint8Array.from(Buffer.from(probe.wasm).toString("latin1").replace("tmp105@^1", "tmp105@^2"), (ch) => ch.charCodeAt(0));
    const { createHash } = await import("node:crypto");
    const manifest = { ...probe.manifest, sha256: createHash("sha256").update(wasm).digest("hex") };
    await c.put("probe", wasm, manifest, { start: true });
    const trap = await dev.waitFor((l) => /probe.*trapped|trapped.*probe/.test(l));
    expect(trap).toMatch(/cannot link tmp105@\^2: the host could not fetch it: no version of 'tmp105' matches '\^2' \(available: 1\.0\.0\)/);
    expect(reports.find((r) => r.name === "tmp105")).toMatchObject({ ok: false });
    off();
    await stopClean(dev, c);
  });

  test("a library that needs a capability the app lacks traps the app at the first call", async () => {
    const { dev, c } = await device("caps");
    await c.put("tmp105", tmp105.wasm, tmp105.manifest);
    // An app granted log and time but not i2c, calling the tmp105 driver from start().
    const wasm = wat(`(module
      (import "tmp105@^1" "read_centi" (func $read (param i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "start") (drop (call $read (i32.const 0) (i32.const 72)))))`);
    await c.put("nocap", wasm, { liquid: 1, name: "nocap", version: "0.1.0", capabilities: ["log"], resources: { pins: [], buses: [] } }, { start: true });
    const trap = await dev.waitFor((l) => /nocap.*trapped|trapped.*nocap/.test(l));
    expect(trap).toMatch(/cannot link tmp105@\^1: tmp105 1\.0\.0 imports i2c\.write_read, a capability app 'nocap' is not granted/);
    await stopClean(dev, c);
  });

  test("a module tampered with in the repository is rejected by its hash; the app's trap says so", async () => {
    const { dev, c } = await device("tamper");
    const reports: FetchReport[] = [];
    const off = relayFetches(c, server.url, (r) => reports.push(r));
    const blob = join(server.repo.dir, "blobs", `${tmp105.manifest.sha256}.wasm`);
    const good = readFileSync(blob);
    const bad = Buffer.from(good);
    bad[bad.length - 1] ^= 1;
    writeFileSync(blob, bad);
    try {
      await c.put("probe", probe.wasm, probe.manifest, { start: true });
      const trap = await dev.waitFor((l) => /probe.*trapped|trapped.*probe/.test(l));
      expect(trap).toMatch(/cannot link tmp105@\^1: the host could not fetch it: module tmp105@1\.0\.0 from .* rejected: its bytes hash to/);
      expect((await c.list()).map((a) => a.name).filter((n) => n.startsWith("tmp105"))).toEqual([]);
    } finally {
      writeFileSync(blob, good);
      off();
    }
    await stopClean(dev, c);
  });
  test("hot swap: a new driver version installed while the app runs takes over at the next event, without a restart", async () => {
    const v11 = await tmp105Variant("1.1.0", true);
    const v2 = await tmp105Variant("2.0.0", true);
    const { dev, c } = await device("swap");
    await c.put("tmp105", tmp105.wasm, tmp105.manifest);
    await c.put("probe", probe.wasm, probe.manifest, { start: true });
    await dev.waitForCount((l) => / info probe: 23\.50 C$/.test(l), 2);
    // 2.0.0 is another major: stored beside 1.0.0 (tmp105@2), the running app is not disturbed
    let mark = dev.lines.length;
    expect((await c.put("tmp105", v2.wasm, v2.manifest)).name).toBe("tmp105@2");
    await dev.waitForCount((l) => / info probe: 23\.50 C$/.test(l), 2, 10_000, mark);
    expect(dev.lines.slice(mark).filter((l) => /probe: (kept|hot-swapped) library/.test(l))).toEqual([]);
    // 1.1.0 fits: the next event uses it (whole degrees)
    mark = dev.lines.length;
    await c.put("tmp105", v11.wasm, v11.manifest);
    const swapped = await dev.waitFor((l) => / info probe: hot-swapped library tmp105 1\.0\.0 -> 1\.1\.0$/.test(l), 10_000, mark);
    const after = dev.lines.indexOf(swapped);
    await dev.waitForCount((l) => / info probe: 23\.00 C$/.test(l), 2, 10_000, after);
    // (an event that began while the upload was still going on may log with 1.0.0; none after the swap)
    expect(dev.lines.slice(after).filter((l) => / info probe: 23\.50 C$/.test(l))).toEqual([]);
    // the app was never restarted: one "running" state line in the whole run
    expect(dev.lines.filter((l) => /^app \d+ probe running$/.test(l))).toHaveLength(1);
    expect((await c.list()).find((a) => a.name === "probe")).toMatchObject({ state: "running" });
    await stopClean(dev, c);
  });

  test("two apps on two majors of one library: each links its own, both link again after a reboot, a hot swap touches only its major", async () => {
    const [v1, v11, v2] = [await tmp105Variant("1.0.0", false), await tmp105Variant("1.1.0", false), await tmp105Variant("2.0.0", false)];
    const [one, two, tilde, bad] = [modelApp("one", "^1"), modelApp("two", "^2"), modelApp("tilde", "~1.0"), modelApp("one@1", "^1")];
    const { dev, c } = await device("majors");
    expect((await c.put("tmp105", v1.wasm, v1.manifest)).name).toBe("tmp105@1");
    expect((await c.put("tmp105", v2.wasm, v2.manifest)).name).toBe("tmp105@2");
    await c.put("one", one.wasm, one.manifest, { start: true, autostart: true });
    await c.put("two", two.wasm, two.manifest, { start: true, autostart: true });
    await c.put("tilde", tilde.wasm, tilde.manifest, { start: true, autostart: true });
    await dev.waitForCount((l) => / info one: 1105$/.test(l), 2);
    await dev.waitForCount((l) => / info tilde: 1105$/.test(l), 2);
    await dev.waitForCount((l) => / info two: 2105$/.test(l), 2);
    const libraries = async (client: DeviceClient) =>
      (await client.list()).filter((a) => a.kind === "library").map((a) => `${a.name} ${a.version}`).sort();
    expect(await libraries(c)).toEqual(["tmp105@1 1.0.0", "tmp105@2 2.0.0"]);
    await stopClean(dev, c);

    // after a reboot both autostart apps link from the store: nothing is asked of a host
    const next = await PosixDevice.start(join(tmp.dir, "majors.img"));
    devices.push(next);
    await next.waitForCount((l) => / info one: 1105$/.test(l), 2);
    await next.waitForCount((l) => / info two: 2105$/.test(l), 2);
    expect(next.lines.filter((l) => /fetching library|is not on this device/.test(l))).toEqual([]);
    const c2 = await next.client();

    // 1.1.0 replaces 1.0.0 under tmp105@1: app one switches at its next event, app two stays on 2.0.0
    const mark = next.lines.length;
    expect((await c2.put("tmp105", v11.wasm, v11.manifest)).name).toBe("tmp105@1");
    await next.waitFor((l) => / info one: hot-swapped library tmp105 1\.0\.0 -> 1\.1\.0$/.test(l), 10_000, mark);
    await next.waitForCount((l) => / info one: 1205$/.test(l), 2, 10_000, mark);
    await next.waitForCount((l) => / info two: 2105$/.test(l), 2, 10_000, mark);
    expect(next.lines.slice(mark).filter((l) => /two: (kept|hot-swapped|linked) library/.test(l))).toEqual([]);
    // the same key, but 1.1.0 is outside ~1.0: that app keeps 1.0.0 in RAM and says why
    await next.waitFor((l) => / warn tilde: kept library tmp105 1\.0\.0: cannot link tmp105@~1\.0: tmp105 1\.1\.0 is in the store, which does not match$/.test(l), 10_000, mark);
    await next.waitForCount((l) => / info tilde: 1105$/.test(l), 2, 10_000, mark);
    await c2.stop("tilde");
    expect(await libraries(c2)).toEqual(["tmp105@1 1.1.0", "tmp105@2 2.0.0"]);

    // RM of a key removes that version; RM of the bare name removes every version left
    await c2.remove("tmp105@2");
    expect(await libraries(c2)).toEqual(["tmp105@1 1.1.0"]);
    await c2.remove("tmp105");
    expect(await libraries(c2)).toEqual([]);
    await next.waitFor((l) => / info -: removed every version of library tmp105 \(1\)$/.test(l));
    await expect(c2.remove("tmp105")).rejects.toThrow(/no app named 'tmp105'/);

    // '@' is for library keys only: an app so named is refused, and so is a key that contradicts the manifest
    await expect(c2.put("one@1", bad.wasm, bad.manifest)).rejects.toThrow(/'@' only appears in a library's store key/);
    await expect(c2.put("tmp105@3", v2.wasm, v2.manifest)).rejects.toThrow(/manifest says version 2\.0\.0 \(store key tmp105@2\)/);
    expect((await c2.put("tmp105@2", v2.wasm, v2.manifest)).name).toBe("tmp105@2");
    await stopClean(next, c2);
  });

  test("an app that calls a library in start() waits for the host to fetch it (and traps if no host answers)", async () => {
    // start(): open I2C0, read the TMP105 through the driver, log "read 2350" (the value as digits)
    const wasm = wat(`(module
      (import "i2c" "open" (func $open (param i32 i32) (result i32)))
      (import "log" "write" (func $log (param i32 i32 i32)))
      (import "tmp105@^1" "read_centi" (func $read (param i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 0) "I2C0read ")
      (func (export "start") (local $v i32) (local $p i32)
        (local.set $v (call $read (call $open (i32.const 0) (i32.const 4)) (i32.const 72)))
        ${decimalDigitsWat(64)}
        (memory.copy (i32.sub (local.get $p) (i32.const 5)) (i32.const 4) (i32.const 5))
        (call $log (i32.const 1) (i32.sub (local.get $p) (i32.const 5)) (i32.sub (i32.const 69) (local.get $p)))))`);
    const manifest = { liquid: 1, name: "eager", version: "0.1.0", capabilities: ["i2c", "log"], resources: { pins: [], buses: ["I2C0"] } };
    const { dev, c } = await device("eager");
    const off = relayFetches(c, server.url);
    await c.put("eager", wasm, manifest, { start: true });
    await dev.waitFor((l) => / info eager: read 2350$/.test(l));
    off();
    await c.stop("eager");
    await c.remove("tmp105");
    // no host serving FETCH: start() waits a bounded time, then the call traps naming the library
    const mark = dev.lines.length;
    await c.start("eager");
    const asked = await dev.waitFor((l) => / info -: fetching library tmp105@\^1 from the host$/.test(l), 10_000, mark);
    const trap = await dev.waitFor((l) => /eager.*trapped|trapped.*eager/.test(l), 10_000, mark);
    expect(trap).toMatch(/cannot link tmp105@\^1: tmp105 is not in this device's store \(fetch requested from the host, no answer yet\)/);
    const time = (line: string) => Number(/^\S+ (\d+) /.exec(line)![1]);
    expect(time(trap) - time(asked)).toBeGreaterThanOrEqual(3000);
    await stopClean(dev, c);
  });

  test("the explicit API: ENOENT asks the host, a later load succeeds; misuse gives error values; unload frees the heap", async () => {
    const { dev, c } = await device("explicit");
    const reports: FetchReport[] = [];
    const off = relayFetches(c, server.url, (r) => reports.push(r));
    await c.put("explicit", explicit.wasm, explicit.manifest, { start: true });
    await dev.waitFor((l) => / info explicit: bad range -1, missing -3, stale call 0\/-1$/.test(l));
    await dev.waitFor((l) => / warn explicit: load: -3$/.test(l)); // first timer: not there yet, FETCH sent
    await dev.waitForCount((l) => / info explicit: lookup absent -3, status 0, 23\.50 C$/.test(l), 2);
    expect(reports.map((r) => [r.name, r.range, r.ok])).toContainEqual(["tmp105", "^1", true]);
    expect(reports.map((r) => r.name)).toContain("nosuch");
    off();
    // each event loads and unloads: between events the engine heap holds the app alone
    await c.stop("explicit");
    const idle = ((await c.info()).memory as { heapUsed: number }).heapUsed;
    await c.start("explicit");
    const mark = dev.lines.length;
    await dev.waitForCount((l) => / info explicit: lookup absent -3, status 0, 23\.50 C$/.test(l), 1, 10_000, mark);
    await c.stop("explicit");
    expect(((await c.info()).memory as { heapUsed: number }).heapUsed).toBe(idle);
    await stopClean(dev, c);
  });

  test("a shared-everything library reads the app's memory in place (no memory of its own)", async () => {
    const bytesum = await build("test/linking/fixtures/bytesum", true, true);
    const { dev, c } = await device("shared");
    await c.put("bytesum", bytesum.wasm, bytesum.manifest);
    const wasm = wat(SUM_APP_WAT);
    await c.put("summer", wasm, { liquid: 1, name: "summer", version: "0.1.0", capabilities: ["time", "log"], resources: { pins: [], buses: [] } }, { start: true });
    const linked = await dev.waitFor((l) => / info summer: linked library bytesum 1\.0\.0 in \d+ us \(engine heap \+\d+ bytes\)$/.test(l));
    await dev.waitForCount((l) => / info summer: 55$/.test(l), 2);
    const heap = Number(/heap \+(\d+) bytes/.exec(linked)![1]);
    console.log(`posix: engine heap per loaded shared-everything library ${heap} bytes (module, instance, engine stacks; no linear memory)`);
    await stopClean(dev, c);
  });

  test("a shared library's own static data is placed in the app's memory and read there; its global stays its own", async () => {
    const lookup = await build("test/linking/fixtures/lookup", true, true);
    const { dev, c } = await device("lookup");
    await c.put("lookup", lookup.wasm, lookup.manifest);
    const wasm = wat(LOOKUP_APP_WAT);
    await c.put("tabler", wasm, { liquid: 1, name: "tabler", version: "0.1.0", capabilities: ["time", "log"], resources: { pins: [], buses: [] } }, { start: true });
    await dev.waitFor((l) => / info tabler: linked library lookup 1\.0\.0 in \d+ us \(engine heap \+\d+ bytes\)$/.test(l));
    // square(7), 'h' of its string and the table's byte 12 read by the app itself (see wat-apps.ts),
    // then the library's own call count: 2 after the first event, 4 after the second.
    await dev.waitForCount((l) => / info tabler: 49104144$/.test(l), 2);
    await dev.waitFor((l) => / info tabler: 4$/.test(l));
    await stopClean(dev, c);
  });

  test("an app that names its heap pointer gives the library's data from its heap: what it allocates afterwards lies above", async () => {
    const lookup = await build("test/linking/fixtures/lookup", true, true);
    const app = await build("test/linking/fixtures/heapuser", false);
    expect(app.manifest.heapPointer).toMatch(/^__lq_g\d+$/);
    const { dev, c } = await device("heap");
    await c.put("lookup", lookup.wasm, lookup.manifest);
    await c.put("heapuser", app.wasm, app.manifest, { start: true });
    // "BEFORE TABLE AFTER": an allocation before the link, the library's table, one after it.
    // At the top of the memory the table would lie above both allocations.
    const line = await dev.waitFor((l) => / info heapuser: \d+ \d+ \d+$/.test(l));
    const [before, table, after] = line.split(": ").pop()!.split(" ").map(Number) as [number, number, number];
    expect(table).toBeGreaterThan(before);
    expect(after).toBeGreaterThan(table);
    await dev.waitFor((l) => / info heapuser: 49$/.test(l)); // the table survived the app filling its array
    await stopClean(dev, c);
  });

  test("a library call that never returns traps its app with the fuel limit; the device carries on", async () => {
    const { dev, c } = await device("spin");
    const wasm = wat(`(module (memory (export "memory") 1)
      (func (export "read_centi") (param i32 i32) (result i32) (loop $l (br $l)) (i32.const 0)))`);
    const { createHash } = await import("node:crypto");
    const manifest = { liquid: 1, name: "tmp105", version: "1.0.0", sha256: createHash("sha256").update(wasm).digest("hex"), size: wasm.length, kind: "library", capabilities: [], resources: { pins: [], buses: [] } };
    await c.put("tmp105", wasm, manifest);
    await c.put("probe", probe.wasm, probe.manifest, { start: true });
    const trap = await dev.waitFor((l) => /probe.*trapped|trapped.*probe/.test(l));
    expect(trap).toMatch(/library tmp105@\^1: call of read_centi did not finish within 1000000 fuel units/);
    expect((await c.hello()).firmware).toBe("liquid");
    await stopClean(dev, c);
  });

  test("liquid deploy --repo serves the FETCHes of the app it starts, then exits", async () => {
    const { dev, c } = await device("cli");
    await c.close(); // the device serves one host at a time: the CLI takes over
    const run = await liquid("deploy", probePath, "--start", "--repo", server.url, "--port", dev.url);
    expect(run.err).toBe("");
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/^fetched tmp105@\^1: 1\.0\.0 \(\d+ bytes, sha256 [0-9a-f]{12}\) in \d+ ms$/m);
    expect(run.out).toMatch(/^fetched bme280@\^1: 1\.0\.0 /m);
    await dev.waitFor((l) => / info probe: 23\.50 C$/.test(l));
    const c2 = await dev.client();
    await stopClean(dev, c2);
  });

  // ---- ABI v2: a shared library shares the app's table and allocator (hand-written WAT that
  // follows docs/linking.md's contract; wat-apps.ts says what each number proves).
  const appManifest = (name: string) => ({ liquid: 1, name, version: "0.1.0", capabilities: ["time", "log"], resources: { pins: [], buses: [] } });
  async function libraryManifest(wasm: Uint8Array, name: string) {
    const { createHash } = await import("node:crypto");
    return { liquid: 1, name, version: "1.0.0", sha256: createHash("sha256").update(wasm).digest("hex"), size: wasm.length, kind: "library", shared: true, capabilities: [], resources: { pins: [], buses: [] } };
  }

  test("ABI v2: the library calls back into the app through the shared table and allocates with the app's allocator", async () => {
    const lib = tabledLibrary();
    const { dev, c } = await device("tabled");
    await c.put("tabled", lib, await libraryManifest(lib, "tabled"));
    const heap0 = ((await c.info()).memory as { heapUsed: number }).heapUsed;
    await c.put("tabapp", wat(tabledAppWat()), appManifest("tabapp"), { start: true });
    const linked = await dev.waitFor((l) => / info tabapp: linked library tabled 1\.0\.0 in \d+ us \(engine heap \+\d+ bytes\)$/.test(l));
    // the app's callback ran inside the library call (its HAL log and its global)
    await dev.waitFor((l) => / info tabapp: callback 7$/.test(l));
    await dev.waitFor((l) => / info tabapp: 21100421$/.test(l));
    await dev.waitFor((l) => / info tabapp: calls 1$/.test(l));
    await dev.waitFor((l) => / info tabapp: char 65$/.test(l));
    await dev.waitFor((l) => / info tabapp: calls 2$/.test(l));
    expect(dev.lines.filter((l) => / info tabapp: 21100421$/.test(l)).length).toBeGreaterThanOrEqual(2);
    const m = /in (\d+) us \(engine heap \+(\d+) bytes\)/.exec(linked)!;
    console.log(`posix (ASan build): ABI v2 shared library (table + allocator): link at the first call ${m[1]} us; engine heap ${m[2]} bytes`);

    // contract 8: its table holds the library's functions, so no snapshot; it keeps running
    await expect(c.snapshot("tabapp")).rejects.toThrow(
      /cannot snapshot tabapp: its function table holds entries of shared library tabled \(function references cannot leave the device\); unload the library first/,
    );
    await expect(c.snapshot("tabapp", { stop: true, migrating: true })).rejects.toThrow(/holds entries of shared library tabled/);
    const mark = dev.lines.length;
    await dev.waitFor((l) => / info tabapp: 21100421$/.test(l), 10_000, mark);
    expect((await c.list()).find((a) => a.name === "tabapp")).toMatchObject({ state: "running" });
    await c.stop("tabapp");
    expect(((await c.info()).memory as { heapUsed: number }).heapUsed).toBe(heap0);
    await stopClean(dev, c);
  });

  test("ABI v2: a hot swap that happens while the old version's code is on the app's stack keeps it until a later event; the app goes on with the new one", async () => {
    const lib = tabledLibrary();
    const v11 = tabledLibrary("TXBLED");
    const { dev, c } = await device("tabled-swap");
    await c.put("tabled", lib, await libraryManifest(lib, "tabled"));
    // each event also runs app -> (table) tabled's $bounce -> the app -> tabled.apply (trampoline):
    // after the install, that trampoline call swaps the library while $bounce's frame is on the
    // app's stack; the old version is kept until a later event (ASan would see a use after free)
    await c.put("tabapp", wat(tabledAppWat({ bounce: true })), appManifest("tabapp"), { start: true });
    await dev.waitFor((l) => / info tabapp: char 65$/.test(l));
    await dev.waitFor((l) => / info tabapp: 9$/.test(l));
    const mark = dev.lines.length;
    await c.put("tabled", v11, { ...(await libraryManifest(v11, "tabled")), version: "1.1.0" });
    const swapped = await dev.waitFor((l) => / info tabapp: hot-swapped library tabled 1\.0\.0 -> 1\.1\.0$/.test(l), 10_000, mark);
    const after = dev.lines.indexOf(swapped);
    // the swap happened in $bounce's trampoline call: its callback ran right after it, then 9
    // (the engine's arena is poisoned under ASan: running freed code would end the device)
    await dev.waitFor((l) => / info tabapp: 9$/.test(l), 10_000, after);
    expect(dev.lines[after + 1]).toMatch(/ info tabapp: callback 3$/);
    // the app keeps calling through the table (the new base from double_index) and reads the new data
    await dev.waitForCount((l) => / info tabapp: char 88$/.test(l), 2, 10_000, after);
    expect(dev.lines.slice(after).filter((l) => / info tabapp: 21100421$/.test(l)).length).toBeGreaterThanOrEqual(2);
    expect(dev.lines.slice(after).filter((l) => / info tabapp: char 65$/.test(l))).toEqual([]);
    expect(dev.lines.slice(after).filter((l) => / info tabapp: 9$/.test(l)).length).toBeGreaterThanOrEqual(2);
    await stopClean(dev, c);
  });

  test("ABI v2: migrating an app whose table holds a shared library's entries is refused before the freeze; it keeps running", async () => {
    const lib = tabledLibrary();
    const src = await device("tabled-from");
    const dst = await device("tabled-to");
    await src.c.put("tabled", lib, await libraryManifest(lib, "tabled"));
    const appWasm = wat(tabledAppWat());
    const { createHash } = await import("node:crypto");
    const manifest = { ...appManifest("tabapp"), sha256: createHash("sha256").update(appWasm).digest("hex"), size: appWasm.length };
    await src.c.put("tabapp", appWasm, manifest, { start: true });
    await src.dev.waitFor((l) => / info tabapp: 21100421$/.test(l));
    await src.c.close(); // the devices serve one host at a time: migrate takes both over
    await dst.c.close();
    const sideOf = (d: PosixDevice) => ({ connector: () => connectTcp(d.url), label: d.url });
    const copy: ModuleCopy = { wasm: appWasm, manifest: manifest as unknown as ModuleCopy["manifest"], manifestText: JSON.stringify(manifest), sha256: manifest.sha256, origin: "test" };
    await expect(migrate({ app: "tabapp", from: sideOf(src.dev), to: sideOf(dst.dev), module: async () => copy })).rejects.toThrow(
      /cannot snapshot tabapp: its function table holds entries of shared library tabled/,
    );
    const mark = src.dev.lines.length;
    await src.dev.waitFor((l) => / info tabapp: 21100421$/.test(l), 10_000, mark);
    const c1 = await src.dev.client();
    expect((await c1.list()).find((a) => a.name === "tabapp")).toMatchObject({ state: "running" });
    const c2 = await dst.dev.client();
    expect((await c2.list()).map((a) => a.name)).not.toContain("tabapp");
    await stopClean(src.dev, c1);
    await stopClean(dst.dev, c2);
  });

  test("ABI v2: an app that exports no table, or no allocator, cannot link the library; a cycle of library calls traps", async () => {
    const lib = tabledLibrary();
    const { dev, c } = await device("tabled-missing");
    await c.put("tabled", lib, await libraryManifest(lib, "tabled"));
    await c.put("notable", wat(tabledAppWat({ table: false })), appManifest("notable"), { start: true });
    const trap = await dev.waitFor((l) => /notable.*trapped|trapped.*notable/.test(l));
    expect(trap).toMatch(/cannot link tabled@\^1: it needs the app's function table, which app 'notable' does not export \(rebuild the app with this version of liquid build\)/);
    await c.put("noalloc", wat(tabledAppWat({ allocator: false })), appManifest("noalloc"), { start: true });
    const trap2 = await dev.waitFor((l) => /noalloc.*trapped|trapped.*noalloc/.test(l));
    expect(trap2).toMatch(/cannot link tabled@\^1: app 'noalloc' does not share its allocator \(no __lq_alloc export; rebuild the app/);
    // app -> tabled.apply -> the app's $reenter -> tabled.apply again: refused, not recursed into
    await c.put("cycler", wat(tabledAppWat({ reenter: true })), appManifest("cycler"), { start: true });
    const trap3 = await dev.waitFor((l) => /cycler.*trapped|trapped.*cycler/.test(l));
    expect(trap3).toMatch(/library tabled@\^1: call of apply while the library is already running further up this call/);
    await stopClean(dev, c);
  });

  // ---- ABI v2 with the AssemblyScript fixtures built by liquid build (test/linking/fixtures/README.md);
  // the same lines the simulator tests assert.
  test("ABI v2, AssemblyScript: histogram allocates its result with the app's allocator (histuser)", async () => {
    const histogram = await build("test/linking/fixtures/histogram", true, true);
    const histuser = await build("test/linking/fixtures/histuser", false);
    const { dev, c } = await device("histogram");
    await c.put("histogram", histogram.wasm, histogram.manifest);
    await c.put("histuser", histuser.wasm, histuser.manifest, { start: true });
    await dev.waitFor((l) => / info histuser: linked library histogram 1\.0\.0 in \d+ us/.test(l));
    const order = await dev.waitFor((l) => / info histuser: data \d+ hist \d+ after \d+ ordered \d+$/.test(l));
    const [d, h, a, ordered] = /data (\d+) hist (\d+) after (\d+) ordered (\d+)$/.exec(order)!.slice(1).map(Number) as [number, number, number, number];
    expect(d).toBeLessThan(h);
    expect(h).toBeLessThan(a);
    expect(ordered).toBe(1);
    await dev.waitFor((l) => / info histuser: buckets 3 1 0 4 0 0 0 0 0 0 0 0 0 0 0 8$/.test(l));
    await dev.waitFor((l) => / info histuser: label hist#1$/.test(l));
    await stopClean(dev, c);
  });

  test("examples/smooth on the C runtime: the shared stats library summarises the app's samples and allocates its answer in the app's heap", async () => {
    const stats = await build("examples/smooth/lib/stats", true, true);
    const smooth = await build("examples/smooth", false);
    const { dev, c } = await device("smooth");
    await c.put("stats", stats.wasm, stats.manifest);
    await c.put("smooth", smooth.wasm, smooth.manifest, { start: true });
    await dev.waitFor((l) => / info smooth: min 23\.50 max 23\.50 median 23\.50 C \(stats 1\.0\.0\)$/.test(l));
    const mark = dev.lines.length;
    dev.control("temp 30");
    // the next summaries mix the old and the new temperature, then hold only the new one
    await dev.waitFor((l) => / info smooth: min 30\.00 max 30\.00 median 30\.00 C \(stats 1\.0\.0\)$/.test(l), 15_000, mark);
    await stopClean(dev, c);
  });

  test("ABI v2, explicit API: modules.load links histogram with the app's allocator too (histexplicit)", async () => {
    const histogram = await build("test/linking/fixtures/histogram", true, true);
    const histexplicit = await build("test/linking/fixtures/histexplicit", false);
    const { dev, c } = await device("histexplicit");
    await c.put("histogram", histogram.wasm, histogram.manifest);
    await c.put("histexplicit", histexplicit.wasm, histexplicit.manifest, { start: true });
    await dev.waitFor((l) => / info histexplicit: loaded 1$/.test(l));
    await dev.waitFor((l) => / info histexplicit: buckets 3 1 0 4 0 0 0 0 0 0 0 0 0 0 0 8$/.test(l));
    await dev.waitFor((l) => / info histexplicit: after ordered 1$/.test(l));
    await stopClean(dev, c);
  });

  test("ABI v2, AssemblyScript: ops puts its functions in the app's table and calls the app's callbacks (opsuser); no snapshot", async () => {
    const ops = await build("test/linking/fixtures/ops", true, true);
    const opsuser = await build("test/linking/fixtures/opsuser", false);
    const { dev, c } = await device("ops");
    await c.put("ops", ops.wasm, ops.manifest);
    const heap0 = ((await c.info()).memory as { heapUsed: number }).heapUsed;
    await c.put("opsuser", opsuser.wasm, opsuser.manifest, { start: true });
    const linked = await dev.waitFor((l) => / info opsuser: linked library ops 1\.0\.0 in \d+ us \(engine heap \+\d+ bytes\)$/.test(l));
    await dev.waitFor((l) => / info opsuser: apply 14 21 -7$/.test(l));
    await dev.waitFor((l) => / info opsuser: op 15$/.test(l));
    await dev.waitFor((l) => / info opsuser: callback 106$/.test(l));
    await dev.waitFor((l) => / info opsuser: prime 11 2$/.test(l));
    const m = /in (\d+) us \(engine heap \+(\d+) bytes\)/.exec(linked)!;
    console.log(`posix (ASan build): ABI v2 AssemblyScript library ops: link at the first call ${m[1]} us; engine heap ${m[2]} bytes`);
    await expect(c.snapshot("opsuser")).rejects.toThrow(
      /cannot snapshot opsuser: its function table holds entries of shared library ops \(function references cannot leave the device\); unload the library first/,
    );
    expect((await c.list()).find((a) => a.name === "opsuser")).toMatchObject({ state: "running" });
    await c.stop("opsuser");
    expect(((await c.info()).memory as { heapUsed: number }).heapUsed).toBe(heap0);
    await stopClean(dev, c);
  });

  // ---- A library importing a library (linker.c resolves a library's NAME@RANGE imports like an app's)
  /** An isolated library NAME 1.0.0 from WAT, whose manifest lists the libraries it imports. */
  async function watLibrary(name: string, text: string, libraries: { name: string; range: string }[]) {
    const wasm = wat(text);
    return { wasm, manifest: watLibraryManifest(name, wasm, libraries, text.includes('"env" "memory"')) };
  }

  test("a library importing a library: both linked at the first call, on the app's grants; the heap returns at stop", async () => {
    const filter = await watLibrary("filter", FILTER_WAT, [{ name: "tmp105", range: "^1" }]);
    const { dev, c } = await device("libfilter");
    await c.put("tmp105", tmp105.wasm, tmp105.manifest);
    await c.put("filter", filter.wasm, filter.manifest);
    const heap0 = ((await c.info()).memory as { heapUsed: number }).heapUsed;
    await c.put("tenths", wat(TENTHS_APP_WAT), TENTHS_MANIFEST, { start: true });
    await dev.waitFor((l) => / info tenths: linked library filter 1\.0\.0 in \d+ us/.test(l));
    await dev.waitFor((l) => / info tenths: linked library tmp105 1\.0\.0 in \d+ us/.test(l));
    await dev.waitForCount((l) => / info tenths: tenths 235$/.test(l), 2);
    await c.stop("tenths");
    expect(((await c.info()).memory as { heapUsed: number }).heapUsed).toBe(heap0);
    await stopClean(dev, c);
  });

  test("a library's own library import is fetched when the app starts; without a host the call traps naming both", async () => {
    const filter = await watLibrary("filter", FILTER_WAT, [{ name: "tmp105", range: "^1" }]);
    const { dev, c } = await device("libfetch");
    await c.put("filter", filter.wasm, filter.manifest);
    const reports: FetchReport[] = [];
    const off = relayFetches(c, server.url, (r) => reports.push(r));
    await c.put("tenths", wat(TENTHS_APP_WAT), TENTHS_MANIFEST, { start: true });
    await dev.waitFor((l) => / info tenths: tenths 235$/.test(l));
    expect(reports.map((r) => [r.name, r.range, r.ok])).toEqual([["tmp105", "^1", true]]);
    off();
    await c.stop("tenths");
    await c.remove("tmp105");
    const mark = dev.lines.length;
    await c.start("tenths");
    const trap = await dev.waitFor((l) => /tenths.*trapped|trapped.*tenths/.test(l), 10_000, mark);
    expect(trap).toMatch(/in library filter@\^1: cannot link tmp105@\^1: tmp105 is not in this device's store \(fetch requested from the host, no answer yet\)/);
    await stopClean(dev, c);
  });

  test("libraries importing each other: a call cycle traps with a message instead of recursing", async () => {
    const ping = await watLibrary("ping", `(module
      (import "pong@^1" "back" (func $back (param i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "read_centi") (param i32 i32) (result i32) (call $back (local.get 0) (local.get 1)))
      (func (export "again") (param i32 i32) (result i32) (i32.const 1)))`, [{ name: "pong", range: "^1" }]);
    const pong = await watLibrary("pong", `(module
      (import "ping@^1" "again" (func $again (param i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "back") (param i32 i32) (result i32) (call $again (local.get 0) (local.get 1))))`, [{ name: "ping", range: "^1" }]);
    const { dev, c } = await device("libcycle");
    await c.put("ping", ping.wasm, ping.manifest);
    await c.put("pong", pong.wasm, pong.manifest);
    const app = wat(`(module
      (import "ping@^1" "read_centi" (func $read (param i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "start") (drop (call $read (i32.const 0) (i32.const 0)))))`);
    await c.put("cyc", app, { liquid: 1, name: "cyc", version: "0.1.0", capabilities: ["log"], resources: { pins: [], buses: [] } }, { start: true });
    const trap = await dev.waitFor((l) => /cyc.*trapped|trapped.*cyc/.test(l));
    expect(trap).toMatch(/in library ping@\^1: in library pong@\^1: library ping@\^1: call of again while the library is already running further up this call/);
    expect((await c.hello()).firmware).toBe("liquid");
    await stopClean(dev, c);
  });

  test("library calls nest at most 4 deep: a chain of five libraries traps at the fifth", async () => {
    // chain0.f calls chain1.f ... chain4.f, which returns 7; each adds 1 (shared: no memory each)
    const { dev, c } = await device("libchain");
    for (let i = 0; i < 5; i++) {
      const next = i < 4 ? `(import "chain${i + 1}@^1" "f" (func $next (param i32 i32) (result i32)))` : "";
      const body = i < 4 ? `(i32.add (call $next (local.get 0) (local.get 1)) (i32.const 1))` : `(i32.const 7)`;
      const lib = await watLibrary(`chain${i}`, `(module (import "env" "memory" (memory 0)) ${next}
        (func (export "f") (param i32 i32) (result i32) ${body}))`, i < 4 ? [{ name: `chain${i + 1}`, range: "^1" }] : []);
      await c.put(`chain${i}`, lib.wasm, lib.manifest);
    }
    const app = wat(`(module
      (import "chain0@^1" "f" (func $f (param i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "start") (drop (call $f (i32.const 0) (i32.const 0)))))`);
    await c.put("deep", app, { liquid: 1, name: "deep", version: "0.1.0", capabilities: ["log"], resources: { pins: [], buses: [] } }, { start: true });
    const trap = await dev.waitFor((l) => /deep.*trapped|trapped.*deep/.test(l));
    expect(trap).toMatch(/in library chain0@\^1: in library chain1@\^1: in library chain2@\^1: in library chain3@\^1: library chain4@\^1: calls through libraries nested more than 4 deep/);
    await stopClean(dev, c);
  });

  test("liquid relay: usage errors", async () => {
    expect(await liquid("relay")).toMatchObject({ code: 2, err: expect.stringContaining("--repo URL is required") });
    expect(await liquid("relay", "--repo", "ftp://x")).toMatchObject({ code: 2, err: expect.stringContaining("--repo must be an http:// or https:// URL") });
  });
});
