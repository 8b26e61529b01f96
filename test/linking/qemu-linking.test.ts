// Execution-time linking on the ARM firmware under QEMU (mps2-an386, Cortex-M4F), over its
// UART: the probe example's TMP105 driver is not on the device; the device sends FETCH, the
// host relays it from the module repository, and the first call links the driver. Prints the
// figures docs/linking.md quotes (fetch over the UART, link time, engine heap per library).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../compiler/src/app-build/index.js";
import { DeviceClient } from "../../compiler/src/protocol/client.js";
import { type FetchReport, relayFetches } from "../../compiler/src/protocol/fetch-relay.js";
import { socketTransport } from "../../compiler/src/transport/tcp.js";
import { type RunningRepository, serveRepository } from "../../hub/src/server.js";
import { wat } from "../helpers/wat.js";
import { FILTER_WAT, LOOKUP_APP_WAT, TENTHS_APP_WAT, TENTHS_MANIFEST, tabledAppWat, tabledLibrary, watLibraryManifest } from "./wat-apps.js";
import { HAVE_ARM_GCC, HAVE_QEMU, Qemu, ROOT, armImage, buildArmPort } from "../qemu/qemu-harness.js";

const runnable = HAVE_QEMU && HAVE_ARM_GCC;

interface Built {
  wasm: Uint8Array;
  manifest: Record<string, unknown> & { name: string; version: string; sha256: string; size: number };
}

describe.skipIf(!runnable)("qemu mps2-an386: a driver library fetched over the UART and linked at its first call", () => {
  let kernel = "";
  let tmp = "";
  let server: RunningRepository;
  let probe: Built, tmp105: Built, bme280: Built;
  let qemu: Qemu | undefined;
  let client: DeviceClient | undefined;

  async function build(path: string, library: boolean, shared = false): Promise<Built> {
    const r = await buildApp(join(ROOT, path), { out: join(tmp, `${path.replace(/\W/g, "_")}.wasm`), library, shared, force: true });
    if (!r.ok) throw new Error(`build of ${path} failed: ${r.errors.join("; ")}`);
    return { wasm: r.wasm!, manifest: r.manifest as unknown as Built["manifest"] };
  }

  beforeAll(async () => {
    const { dir } = await buildArmPort("qemu", ["liquid-qemu"]);
    kernel = armImage(dir, "liquid-qemu");
    tmp = mkdtempSync(join(tmpdir(), "lq-qemu-link-"));
    probe = await build("examples/probe", false);
    tmp105 = await build("examples/probe/drivers/tmp105", true);
    bme280 = await build("examples/probe/drivers/bme280", true);
    server = await serveRepository(join(tmp, "repo"), 0);
    await server.repo.publish(tmp105.wasm, tmp105.manifest);
    await server.repo.publish(bme280.wasm, bme280.manifest);
  }, 300_000);

  afterAll(async () => {
    await client?.close().catch(() => undefined);
    qemu?.kill();
    await server?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("the probe app reads the TMP105 through a driver the device did not have", async () => {
    qemu = await Qemu.start({ kernel, tmp105: true, qmp: true, semihosting: true });
    await qemu.waitConsole(/^ready\r?$/m, 30_000);
    await qemu.setTemperature(23500);
    client = await DeviceClient.open(async () => socketTransport("tcp://qemu-uart0", qemu!.uart), { timeoutMs: 3000 });
    expect((await client.list()).map((a) => a.name)).toEqual([]);
    const reports: FetchReport[] = [];
    const off = relayFetches(client, server.url, (r) => reports.push(r));
    const heap0 = ((await client.info()).memory as { heapUsed: number }).heapUsed;
    await client.put("probe", probe.wasm, probe.manifest, { start: true });
    const linked = await qemu.waitConsole(/^log \d+ info probe: linked library tmp105 1\.0\.0 in (\d+) us \(engine heap \+(\d+) bytes\)\r?$/m, 30_000);
    await qemu.waitConsole(/^log \d+ info probe: 23\.50 C\r?$/m, 30_000);
    await off.idle();
    expect(reports.map((r) => [r.name, r.ok, r.version])).toEqual([
      ["tmp105", true, "1.0.0"],
      ["bme280", true, "1.0.0"],
    ]);
    const m = linked;
    console.log(
      `qemu/UART: FETCH -> library installed: tmp105 ${reports[0]!.ms.toFixed(0)} ms (${tmp105.wasm.length} bytes), bme280 ${reports[1]!.ms.toFixed(0)} ms (${bme280.wasm.length} bytes); ` +
        `link at the first call ${m[1]} us; engine heap per loaded library ${m[2]} bytes`,
    );
    await qemu.setTemperature(26500);
    await qemu.waitConsole(/^log \d+ info probe: 26\.50 C\r?$/m, 30_000);
    await client.stop("probe");
    expect(((await client.info()).memory as { heapUsed: number }).heapUsed).toBe(heap0);
    off();
  }, 120_000);

  it("a shared library's own static data is placed in the app's memory and read there", async () => {
    if (!client || !qemu) throw new Error("the previous test did not start the device");
    const lookup = await build("test/linking/fixtures/lookup", true, true);
    const heap0 = ((await client.info()).memory as { heapUsed: number }).heapUsed;
    await client.put("lookup", lookup.wasm, lookup.manifest);
    const app = wat(LOOKUP_APP_WAT);
    await client.put("tabler", app, { liquid: 1, name: "tabler", version: "0.1.0", capabilities: ["time", "log"], resources: { pins: [], buses: [] } }, { start: true });
    // square(7), 'h' of its string and the table's byte 12 read by the app itself (wat-apps.ts);
    // then the library's own call count after the second event.
    await qemu.waitConsole(/^log \d+ info tabler: 49104144\r?$/m, 30_000);
    await qemu.waitConsole(/^log \d+ info tabler: 4\r?$/m, 30_000);
    await client.stop("tabler");
    expect(((await client.info()).memory as { heapUsed: number }).heapUsed).toBe(heap0);
  }, 60_000);

  it("ABI v2: the library shares the app's table and allocator; the app cannot be snapshotted", async () => {
    if (!client || !qemu) throw new Error("the previous test did not start the device");
    const { createHash } = await import("node:crypto");
    const lib = tabledLibrary();
    const heap0 = ((await client.info()).memory as { heapUsed: number }).heapUsed;
    await client.put("tabled", lib, {
      liquid: 1, name: "tabled", version: "1.0.0", sha256: createHash("sha256").update(lib).digest("hex"), size: lib.length,
      kind: "library", shared: true, capabilities: [], resources: { pins: [], buses: [] },
    });
    const heapLib = ((await client.info()).memory as { heapUsed: number }).heapUsed;
    await client.put("tabapp", wat(tabledAppWat()), { liquid: 1, name: "tabapp", version: "0.1.0", capabilities: ["time", "log"], resources: { pins: [], buses: [] } }, { start: true });
    const linked = await qemu.waitConsole(/^log \d+ info tabapp: linked library tabled 1\.0\.0 in (\d+) us \(engine heap \+(\d+) bytes\)\r?$/m, 30_000);
    // wat-apps.ts: callback through the shared table, the app's allocator, the library's table entry
    await qemu.waitConsole(/^log \d+ info tabapp: callback 7\r?$/m, 30_000);
    await qemu.waitConsole(/^log \d+ info tabapp: 21100421\r?$/m, 30_000);
    await qemu.waitConsole(/^log \d+ info tabapp: calls 2\r?$/m, 30_000);
    console.log(`qemu: ABI v2 shared library (table + allocator): link at the first call ${linked[1]} us; engine heap per loaded shared library ${linked[2]} bytes`);
    await expect(client.snapshot("tabapp")).rejects.toThrow(/cannot snapshot tabapp: its function table holds entries of shared library tabled/);
    await qemu.waitConsole(/^log \d+ info tabapp: calls 3\r?$/m, 30_000);
    await client.stop("tabapp");
    expect(((await client.info()).memory as { heapUsed: number }).heapUsed).toBe(heapLib);
    expect(heapLib).toBeGreaterThanOrEqual(heap0);
  }, 60_000);

  it("ABI v2, AssemblyScript: ops/opsuser and histogram/histuser built by liquid build log what the simulator logs", async () => {
    if (!client || !qemu) throw new Error("the previous test did not start the device");
    const ops = await build("test/linking/fixtures/ops", true, true);
    const opsuser = await build("test/linking/fixtures/opsuser", false);
    await client.put("ops", ops.wasm, ops.manifest);
    const heap0 = ((await client.info()).memory as { heapUsed: number }).heapUsed;
    await client.put("opsuser", opsuser.wasm, opsuser.manifest, { start: true });
    const linked = await qemu.waitConsole(/^log \d+ info opsuser: linked library ops 1\.0\.0 in (\d+) us \(engine heap \+(\d+) bytes\)\r?$/m, 30_000);
    await qemu.waitConsole(/^log \d+ info opsuser: apply 14 21 -7\r?$/m, 30_000);
    await qemu.waitConsole(/^log \d+ info opsuser: op 15\r?$/m, 30_000);
    await qemu.waitConsole(/^log \d+ info opsuser: callback 106\r?$/m, 30_000);
    await qemu.waitConsole(/^log \d+ info opsuser: prime 11 2\r?$/m, 30_000);
    console.log(`qemu: ABI v2 AssemblyScript library ops: link at the first call ${linked[1]} us; engine heap ${linked[2]} bytes`);
    await expect(client.snapshot("opsuser")).rejects.toThrow(/cannot snapshot opsuser: its function table holds entries of shared library ops/);
    await client.stop("opsuser");
    expect(((await client.info()).memory as { heapUsed: number }).heapUsed).toBe(heap0);
    await client.remove("opsuser");
    await client.remove("ops");

    const histogram = await build("test/linking/fixtures/histogram", true, true);
    const histuser = await build("test/linking/fixtures/histuser", false);
    await client.put("histogram", histogram.wasm, histogram.manifest);
    await client.put("histuser", histuser.wasm, histuser.manifest, { start: true });
    const order = await qemu.waitConsole(/^log \d+ info histuser: data (\d+) hist (\d+) after (\d+) ordered 1\r?$/m, 30_000);
    expect(Number(order[1])).toBeLessThan(Number(order[2]));
    expect(Number(order[2])).toBeLessThan(Number(order[3]));
    await qemu.waitConsole(/^log \d+ info histuser: buckets 3 1 0 4 0 0 0 0 0 0 0 0 0 0 0 8\r?$/m, 30_000);
    await qemu.waitConsole(/^log \d+ info histuser: label hist#1\r?$/m, 30_000);
    await client.stop("histuser");
  }, 90_000);

  it("a library importing a library: filter@^1 reads the TMP105 through tmp105@^1 for the app", async () => {
    if (!client || !qemu) throw new Error("the previous test did not start the device");
    const filter = wat(FILTER_WAT);
    await client.put("filter", filter, watLibraryManifest("filter", filter, [{ name: "tmp105", range: "^1" }], true));
    const heap0 = ((await client.info()).memory as { heapUsed: number }).heapUsed;
    await qemu.setTemperature(23500);
    await client.put("tenths", wat(TENTHS_APP_WAT), TENTHS_MANIFEST, { start: true });
    const linked = await qemu.waitConsole(/^log \d+ info tenths: linked library tmp105 1\.0\.0 in (\d+) us \(engine heap \+(\d+) bytes\)\r?$/m, 30_000);
    await qemu.waitConsole(/^log \d+ info tenths: tenths 235\r?$/m, 30_000);
    console.log(`qemu: tmp105 linked for filter (a library's import): ${linked[1]} us, engine heap +${linked[2]} bytes`);
    // the C stack after every nesting above (app -> trampoline -> library -> app or library -> ...)
    qemu.consoleInput("stats\n");
    const stats = await qemu.waitConsole(/stats: stack (\d+) of (\d+) bytes used/);
    console.log(`qemu: C stack high-water after the linking tests: ${stats[1]} of ${stats[2]} bytes`);
    await client.stop("tenths");
    expect(((await client.info()).memory as { heapUsed: number }).heapUsed).toBe(heap0);
  }, 60_000);
});
