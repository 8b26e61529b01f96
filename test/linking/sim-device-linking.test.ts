// Execution-time linking on a simulated device over the device protocol: the same FETCH
// exchange as the C firmware (docs/protocol.md), served by the host's relay from the module
// repository, then the library linked at its first call; a refused fetch reaches the trap.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../compiler/src/app-build/index.js";
import { DeviceClient } from "../../compiler/src/protocol/client.js";
import { type FetchReport, relayFetches } from "../../compiler/src/protocol/fetch-relay.js";
import { createSimDevice, memoryConnector, type SimDevice } from "../../host-sim/src/device/index.js";
import type { SimEvent } from "../../host-sim/src/index.js";
import { type RunningRepository, serveRepository } from "../../hub/src/server.js";
import { wat } from "../helpers/wat.js";
import { modelApp } from "./wat-apps.js";

const ROOT = join(import.meta.dirname, "..", "..");

interface Built {
  wasm: Uint8Array;
  manifest: Record<string, unknown> & { name: string; version: string; sha256: string; size: number };
}

let tmp = "";
let server: RunningRepository;
let probe: Built, tmp105: Built;
let ops: Built, opsuser: Built, histogram: Built, histuser: Built;

async function build(path: string, library: boolean, shared = false): Promise<Built> {
  const r = await buildApp(join(ROOT, path), { out: join(tmp, `${path.replace(/\W/g, "_")}.wasm`), library, shared, force: true });
  if (!r.ok) throw new Error(`build of ${path} failed: ${r.errors.join("; ")}`);
  return { wasm: r.wasm!, manifest: r.manifest as unknown as Built["manifest"] };
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "lq-simdev-link-"));
  probe = await build("examples/probe", false);
  tmp105 = await build("examples/probe/drivers/tmp105", true);
  ops = await build("test/linking/fixtures/ops", true, true);
  opsuser = await build("test/linking/fixtures/opsuser", false);
  histogram = await build("test/linking/fixtures/histogram", true, true);
  histuser = await build("test/linking/fixtures/histuser", false);
  server = await serveRepository(join(tmp, "repo"), 0);
  await server.repo.publish(tmp105.wasm, tmp105.manifest);
}, 90_000);

afterAll(async () => {
  await server?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

async function open(): Promise<{ dev: SimDevice; client: DeviceClient; logs: () => string[] }> {
  const dev = await createSimDevice();
  const events: SimEvent[] = [];
  dev.simulation.onEvent((e) => events.push(e));
  const client = await DeviceClient.open(memoryConnector(dev.server), { timeoutMs: 3000 });
  const logs = () => events.filter((e) => e.type === "log" || e.type === "trap").map((e) => `${e.t} ${"msg" in e ? e.msg : (e as { message: string }).message}`);
  return { dev, client, logs };
}

/** Relays `host`'s FETCHes (after `action`, if any) until served: the repository has tmp105,
 * not bme280; then the probe app reads 23.50 C through the driver. Returns the relay's off(). */
async function servesProbe(host: DeviceClient, dev: SimDevice, logs: () => string[], action?: () => Promise<unknown>): Promise<() => void> {
  const reports: FetchReport[] = [];
  const off = relayFetches(host, server.url, (r) => reports.push(r));
  await action?.();
  await off.idle();
  expect(reports.map((r) => [r.name, r.range, r.ok])).toEqual([
    ["tmp105", "^1", true],
    ["bme280", "^1", false],
  ]);
  dev.simulation.runFor(1000);
  expect(logs()).toContain("1000 23.50 C");
  return off;
}

describe("simulated device: libraries fetched through the host and linked at the first call", () => {
  it("the relay installs the driver the app asked for; the app reads the sensor through it", async () => {
    const { dev, client, logs } = await open();
    const off = await servesProbe(client, dev, logs, () => client.put("probe", probe.wasm, probe.manifest, { start: true }));
    expect((await client.list()).map((a) => a.name).sort()).toEqual(["probe", "tmp105@1"]);
    off();
    await client.close();
    await dev.stop();
  });

  it("started with no host to fetch from: the next host that says HELLO gets the FETCH, and the app reads its sensor", async () => {
    const { dev, client, logs } = await open();
    await client.put("probe", probe.wasm, probe.manifest, { start: true }); // this host relays nothing
    await client.close();
    // A host that relays connects later: its HELLO is answered, then it is asked.
    const relay = await DeviceClient.open(memoryConnector(dev.server), { timeoutMs: 3000 });
    const off = await servesProbe(relay, dev, logs);
    off();
    await relay.close();
    await dev.stop();
  });

  it("a fetch the host refuses: the first call traps with the host's reason", async () => {
    const { dev, client } = await open();
    const off = relayFetches(client, "http://127.0.0.1:9");
    const states: string[] = [];
    dev.device.onAppState((s) => states.push(`${s.name} ${s.state}${s.error ? `: ${s.error}` : ""}`));
    await client.put("probe", probe.wasm, probe.manifest, { start: true });
    await off.idle();
    dev.simulation.runFor(1000);
    expect(states.at(-1)).toMatch(/^probe trapped: .*cannot link tmp105@\^1 for app 'probe': the host could not fetch it: module repository at http:\/\/127\.0\.0\.1:9 is unreachable/);
    off();
    await client.close();
    await dev.stop();
  });
});

describe("simulated device: shared libraries ABI v2 (the app's table and allocator)", () => {
  it("runs both fixture pairs with the logs of test/linking/fixtures/README.md", async () => {
    const { dev, client, logs } = await open();
    await client.put("ops", ops.wasm, ops.manifest);
    await client.put("histogram", histogram.wasm, histogram.manifest);
    await client.put("opsuser", opsuser.wasm, opsuser.manifest, { start: true });
    await client.put("histuser", histuser.wasm, histuser.manifest, { start: true });
    dev.simulation.runFor(10);
    const lines = logs().map((l) => l.replace(/^\d+ /, ""));
    for (const want of ["apply 14 21 -7", "op 15", "callback 106", "prime 11 2", "buckets 3 1 0 4 0 0 0 0 0 0 0 0 0 0 0 8", "label hist#1"]) expect(lines).toContain(want);
    expect(lines.some((l) => /^data \d+ hist \d+ after \d+ ordered 1$/.test(l))).toBe(true);
    await client.close();
    await dev.stop();
  });

  it("SNAPSHOT of an app whose table holds a shared library's entries is refused naming it; the app keeps running; others snapshot", async () => {
    const { dev, client } = await open();
    await client.put("ops", ops.wasm, ops.manifest);
    await client.put("histogram", histogram.wasm, histogram.manifest);
    await client.put("opsuser", opsuser.wasm, opsuser.manifest, { start: true });
    await client.put("histuser", histuser.wasm, histuser.manifest, { start: true });
    dev.simulation.runFor(10);
    await expect(client.snapshot("opsuser", { stop: true, migrating: true })).rejects.toThrow(
      "cannot snapshot opsuser: its function table holds entries of shared library ops (function references cannot leave the device); unload the library first",
    );
    const states = new Map((await client.list()).map((a) => [a.name, a.state]));
    expect(states.get("opsuser")).toBe("running");
    expect((await client.snapshot("histuser", { stop: false })).length).toBeGreaterThan(0);
    await client.close();
    await dev.stop();
  });
});

/** The tmp105 driver at another version; its model() returns 105 + 1000 × major + 100 × minor. */
async function tmp105Version(version: string): Promise<Built> {
  const dir = join(tmp, `tmp105-${version}`);
  mkdirSync(dir, { recursive: true });
  const [major, minor] = version.split(".").map(Number) as [number, number];
  const source = readFileSync(join(ROOT, "examples/probe/drivers/tmp105/app.ts"), "utf8").replace("return 105;", `return ${105 + 1000 * major + 100 * minor};`);
  writeFileSync(join(dir, "app.ts"), source);
  writeFileSync(join(dir, "liquid.json"), JSON.stringify({ name: "tmp105", version }));
  const r = await buildApp(dir, { library: true, force: true });
  if (!r.ok) throw new Error(`build of tmp105 ${version} failed: ${r.errors.join("; ")}`);
  return { wasm: r.wasm!, manifest: r.manifest as unknown as Built["manifest"] };
}

describe("simulated device: one version of a library per major (NAME@MAJOR)", () => {
  it("two apps on tmp105@^1 and tmp105@^2 each link their own version, also after a restart from the same store", async () => {
    const [v1, v2] = [await tmp105Version("1.0.0"), await tmp105Version("2.0.0")];
    const [one, two, bad] = [modelApp("one", "^1"), modelApp("two", "^2"), modelApp("one@1", "^1")];
    const storeDir = join(tmp, "majors-store");
    const boot = async () => {
      const dev = await createSimDevice({ storeDir });
      const lines: string[] = [];
      dev.simulation.onEvent((e) => {
        if (e.type === "log") lines.push(`${e.app ?? "-"}: ${e.msg}`);
      });
      const client = await DeviceClient.open(memoryConnector(dev.server), { timeoutMs: 3000 });
      return { dev, client, lines };
    };
    const libraries = async (client: DeviceClient) =>
      (await client.list()).filter((a) => a.kind === "library").map((a) => `${a.name} ${a.version}`).sort();

    const first = await boot();
    const fetched: string[] = [];
    first.client.onFetch((name, range) => fetched.push(`${name}@${range}`));
    expect((await first.client.put("tmp105", v1.wasm, v1.manifest)).name).toBe("tmp105@1");
    expect((await first.client.put("tmp105", v2.wasm, v2.manifest)).name).toBe("tmp105@2");
    await first.client.put("one", one.wasm, one.manifest, { start: true, autostart: true });
    await first.client.put("two", two.wasm, two.manifest, { start: true, autostart: true });
    first.dev.simulation.runFor(700);
    expect(first.lines.filter((l) => /^(one|two): \d+$/.test(l)).sort()).toEqual(["one: 1105", "one: 1105", "two: 2105", "two: 2105"]);
    expect(await libraries(first.client)).toEqual(["tmp105@1 1.0.0", "tmp105@2 2.0.0"]);
    expect(fetched).toEqual([]);
    await first.client.close();
    await first.dev.stop();

    // a new device on the same store: the autostart apps link both versions from it
    const second = await boot();
    second.dev.simulation.runFor(700);
    expect(second.lines.filter((l) => /^(one|two): \d+$/.test(l)).sort()).toEqual(["one: 1105", "one: 1105", "two: 2105", "two: 2105"]);
    expect(await libraries(second.client)).toEqual(["tmp105@1 1.0.0", "tmp105@2 2.0.0"]);
    expect(second.lines.filter((l) => /fetching library|is not on this device/.test(l))).toEqual([]);

    // RM of a key removes that version; RM of the bare name every version; '@' is no app's
    await second.client.remove("tmp105@2");
    expect(await libraries(second.client)).toEqual(["tmp105@1 1.0.0"]);
    await second.client.remove("tmp105");
    expect(await libraries(second.client)).toEqual([]);
    await expect(second.client.put("one@1", bad.wasm, bad.manifest)).rejects.toThrow(/'@' only appears in a library's store key/);
    await second.client.close();
    await second.dev.stop();
  });
});

describe("simulated device: hot swap when a library is installed, as on the firmware", () => {
  it("a newer build of a major swaps in for the apps on it at their next event; another major, and an app whose range it misses, keep theirs", async () => {
    const [v1, v11, v2] = [await tmp105Version("1.0.0"), await tmp105Version("1.1.0"), await tmp105Version("2.0.0")];
    const dev = await createSimDevice();
    const lines: string[] = [];
    dev.simulation.onEvent((e) => {
      if (e.type === "log") lines.push(`${e.app ?? "-"}: ${e.msg}`);
    });
    const client = await DeviceClient.open(memoryConnector(dev.server), { timeoutMs: 3000 });
    await client.put("tmp105", v1.wasm, v1.manifest);
    await client.put("tmp105", v2.wasm, v2.manifest);
    for (const [name, range] of [["one", "^1"], ["two", "^2"], ["tilde", "~1.0"]] as const) {
      const app = modelApp(name, range);
      await client.put(name, app.wasm, app.manifest, { start: true });
    }
    dev.simulation.runFor(400);
    const readings = () => lines.filter((l) => /^(one|two|tilde): \d+$/.test(l));
    expect(new Set(readings())).toEqual(new Set(["one: 1105", "two: 2105", "tilde: 1105"]));
    const mark = lines.length;
    expect((await client.put("tmp105", v11.wasm, v11.manifest)).name).toBe("tmp105@1");
    dev.simulation.runFor(400);
    const after = lines.slice(mark);
    expect(after).toContain("one: hot-swapped library tmp105 1.0.0 -> 1.1.0");
    expect(after.find((l) => l.startsWith("tilde: kept library tmp105 1.0.0: "))).toMatch(/1\.1\.0/);
    expect(new Set(after.filter((l) => /^(one|two|tilde): \d+$/.test(l)))).toEqual(new Set(["one: 1205", "two: 2105", "tilde: 1105"]));
    await client.close();
    await dev.stop();
  });
});

describe("simulated device: start() waits for the host's answers to the FETCHes it caused", () => {
  it("holds start() until the host installed the library, then runs it and links that library", async () => {
    const { dev, client, logs } = await open();
    const fetched: string[] = [];
    const off = client.onFetch((name, range) => fetched.push(`${name}@${range}`));
    await client.put("opsuser", opsuser.wasm, opsuser.manifest, { start: true });
    await client.list(); // the FETCH event has arrived by now
    expect(fetched).toEqual(["ops@^1"]);
    dev.simulation.runFor(500);
    expect(logs().filter((l) => /apply|cannot link/.test(l))).toEqual([]); // start() has not run
    expect((await client.list()).find((a) => a.name === "opsuser")?.state).toBe("running");
    await client.put("ops", ops.wasm, ops.manifest); // the host's answer
    dev.simulation.runFor(10);
    expect(logs()).toContain("500 apply 14 21 -7");
    off();
    await client.close();
    await dev.stop();
  });

  it("gives up waiting after 3 s of board time: start() runs and the first call traps naming the library", async () => {
    const { dev, client, logs } = await open();
    const off = client.onFetch(() => {}); // a host that never answers
    await client.put("opsuser", opsuser.wasm, opsuser.manifest, { start: true });
    dev.simulation.runFor(2999);
    expect(logs().some((l) => l.includes("cannot link"))).toBe(false);
    dev.simulation.runFor(1);
    expect(logs().find((l) => l.includes("cannot link"))).toMatch(/^3000 cannot link ops@\^1 for app 'opsuser': /);
    off();
    await client.close();
    await dev.stop();
  });

  it("a STOP while start() waits cancels it", async () => {
    const { dev, client, logs } = await open();
    const off = client.onFetch(() => {});
    await client.put("opsuser", opsuser.wasm, opsuser.manifest, { start: true });
    await client.stop("opsuser");
    dev.simulation.runFor(5000);
    expect(logs().some((l) => l.includes("cannot link") || l.includes("apply"))).toBe(false);
    expect((await client.list()).find((a) => a.name === "opsuser")?.state).toBe("stopped");
    off();
    await client.close();
    await dev.stop();
  });
});
