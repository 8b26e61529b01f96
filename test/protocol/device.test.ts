// The protocol client against a simulated device over an in-memory stream: every request of
// docs/protocol.md, the replay rule, resumable uploads, and garbage on the line.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BodyWriter } from "../../compiler/src/protocol/body.js";
import { DeviceClient } from "../../compiler/src/protocol/client.js";
import { Cmd, FLAG_EVENT, FLAG_RESPONSE, Status } from "../../compiler/src/protocol/constants.js";
import { DeviceError } from "../../compiler/src/protocol/errors.js";
import { FrameParser, encodeFrame, type Frame } from "../../compiler/src/protocol/frame.js";
import { sha256, toHex } from "../../compiler/src/protocol/sha256.js";
import type { DeviceEvent } from "../../compiler/src/protocol/types.js";
import { createMemoryPair } from "../../compiler/src/transport/memory.js";
import type { Connector } from "../../compiler/src/transport/transport.js";
import { DirectoryStore, memoryConnector } from "../../host-sim/src/device/index.js";
import { type BuiltApp, fixtureApp, gpio, simDevice } from "./support.js";
import { wrapTransport } from "../helpers/wrap-transport.js";

const OUT = mkdtempSync(join(tmpdir(), "liquid-protocol-"));
let blinky: BuiltApp;
const cleanup: (() => Promise<void>)[] = [];

beforeAll(async () => {
  blinky = await fixtureApp("blinky", OUT);
});

afterAll(() => rmSync(OUT, { recursive: true, force: true }));

afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

async function connected(options: Parameters<typeof simDevice>[0] = {}) {
  const dev = await simDevice(options);
  const client = await DeviceClient.open(memoryConnector(dev.server), { timeoutMs: 500 });
  cleanup.push(async () => {
    await client.close();
    await dev.stop();
  });
  return { dev, client };
}

/** Sends raw frames to a device and collects its answers (for what the client never sends). */
function rawLink(dev: Awaited<ReturnType<typeof simDevice>>) {
  const [host, device] = createMemoryPair();
  dev.server.serve(device);
  const parser = new FrameParser();
  const frames: Frame[] = [];
  host.onData((d) => frames.push(...parser.push(d)));
  const next = async (n: number) => {
    for (let i = 0; i < 200 && frames.length < n; i++) await new Promise((r) => setImmediate(r));
    return frames.slice(0, n);
  };
  return { host, frames, next };
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("client and simulated device", () => {
  it("says hello and describes the board", async () => {
    const { client, dev } = await connected({ id: "sim-test-1" });
    expect(client.helloInfo).toEqual({ protocol: 1, maxPayload: 4096, firmware: "liquid-sim", firmwareVersion: "0.1.0", deviceId: "sim-test-1" });
    const info = await client.info();
    expect(info.id).toBe("sim-test-1");
    expect(info.board).toBe(dev.board.def.name);
    expect(info.pins.map((p) => p.name)).toContain("LED0");
    expect(info.buses.find((b) => b.name === "I2C0")?.devices.map((d) => d.driver)).toContain("tmp105");
    expect(info.apps).toEqual([]);
    expect(info.store.free).toBe(info.store.total);
  });

  it("deploys, lists, runs, stops, restarts and removes an app", async () => {
    const { client, dev } = await connected();
    const put = await client.put("blinky", blinky.wasm, blinky.manifest);
    expect(put).toMatchObject({ name: "blinky", size: blinky.wasm.length, resumedFrom: 0, bytesSent: blinky.wasm.length });
    expect(await client.list()).toEqual([
      { name: "blinky", version: "1.2.0", sha256: put.sha256, size: blinky.wasm.length, state: "stopped", autostart: false },
    ]);
    expect(gpio(dev.events, "LED0")).toEqual([]);

    await client.start("blinky");
    expect((await client.list())[0]!.state).toBe("running");
    const t0 = dev.simulation.now;
    dev.simulation.runFor(1600);
    expect(gpio(dev.events, "LED0")).toEqual([
      [t0 + 500, 1],
      [t0 + 1000, 0],
      [t0 + 1500, 1],
    ]);
    const logs = await client.logs();
    expect(logs.filter((r) => r.app === "blinky").map((r) => r.msg)).toEqual(["blinky started", "LED on", "LED off", "LED on"]);
    expect(logs.find((r) => r.msg === "LED off")!.t).toBe(t0 + 1000);

    await expect(client.start("blinky")).rejects.toThrow(/EEXISTS: app 'blinky' is already running/);
    await client.stop("blinky");
    const edges = gpio(dev.events, "LED0").length;
    dev.simulation.runFor(2000);
    expect(gpio(dev.events, "LED0")).toHaveLength(edges); // stopped: the LED is left alone
    expect((await client.list())[0]!.state).toBe("stopped");

    await client.start("blinky");
    dev.simulation.runFor(500);
    expect(gpio(dev.events, "LED0").length).toBeGreaterThan(edges);

    await client.remove("blinky");
    expect(await client.list()).toEqual([]);
    const err = await client.start("blinky").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceError);
    expect((err as DeviceError).status).toBe(Status.ENOTFOUND);
  });

  it("starts after install when asked and marks autostart", async () => {
    const { client } = await connected();
    await client.put("blinky", blinky.wasm, blinky.manifest, { start: true, autostart: true });
    expect((await client.list())[0]).toMatchObject({ state: "running", autostart: true });
    await client.autostart("blinky", false);
    expect((await client.list())[0]!.autostart).toBe(false);
  });

  it("installs under another name than the manifest's", async () => {
    const { client, dev } = await connected();
    await client.put("blinky2", blinky.wasm, blinky.manifest, { start: true });
    dev.simulation.runFor(600);
    expect((await client.list()).map((a) => [a.name, a.state])).toEqual([["blinky2", "running"]]);
    expect((await client.logs()).some((r) => r.app === "blinky2" && r.msg === "LED on")).toBe(true);
  });

  it("streams log records and app state changes while following", async () => {
    const { client, dev } = await connected();
    await client.put("blinky", blinky.wasm, blinky.manifest, { start: true });
    const seen: DeviceEvent[] = [];
    const follow = client.follow();
    const take = async (until: (e: DeviceEvent) => boolean) => {
      for (;;) {
        const n = await follow.next();
        if (n.done) throw new Error("follow ended");
        seen.push(n.value);
        if (until(n.value)) return;
      }
    };
    await take((e) => e.kind === "log" && e.record.msg === "blinky started");
    dev.simulation.runFor(1000); // two timer ticks happen after the follow began
    await take((e) => e.kind === "log" && e.record.msg === "LED off");
    const stopping = client.stop("blinky");
    await take((e) => e.kind === "app" && e.state.state === "stopped");
    await stopping;
    await follow.return(undefined);
    const lines = seen.filter((e) => e.kind === "log" && e.record.app === "blinky").map((e) => (e.kind === "log" ? e.record.msg : ""));
    expect(lines).toEqual(["blinky started", "LED on", "LED off"]);
    const seqs = seen.flatMap((e) => (e.kind === "log" ? [e.record.seq] : []));
    expect(new Set(seqs).size).toBe(seqs.length); // nothing twice
  });

  it("pages through a log longer than one frame, oldest first, nothing missing", async () => {
    const { client, dev } = await connected();
    await client.put("blinky", blinky.wasm, blinky.manifest, { start: true });
    dev.simulation.runFor(150_000); // 300 LED lines, ~25 KiB of JSON
    const firstFrame = await client.logs();
    const all = await client.allLogs();
    expect(new TextEncoder().encode(JSON.stringify(firstFrame)).length).toBeLessThanOrEqual(4095);
    expect(firstFrame.length).toBeLessThan(all.length);
    expect(all.map((r) => r.seq)).toEqual(all.map((_, i) => all[0]!.seq + i));
    expect(all.filter((r) => r.app === "blinky" && r.msg.startsWith("LED"))).toHaveLength(300);
  });

  it("reports a trap with its message when the manifest does not grant the pin", async () => {
    const { client } = await connected();
    const manifest = JSON.parse(blinky.manifest);
    manifest.resources.pins = [];
    await client.put("blinky", blinky.wasm, manifest, { start: true });
    const [app] = await client.list();
    expect(app!.state).toBe("trapped");
    expect(app!.error).toMatch(/app 'blinky' may not use pin LED0: not granted by its manifest/);
    expect((await client.logs()).some((r) => r.level === "error" && r.app === "blinky" && /LED0/.test(r.msg))).toBe(true);
  });

  it("refuses a module whose bytes do not match the announced sha256, and an invalid module", async () => {
    const { client } = await connected();
    const good = blinky.wasm;
    // Announce one module and send another of the same size: the device checks at PUT_END.
    const hash = sha256(good);
    await client.request(Cmd.PUT_BEGIN, new BodyWriter().str8("x").u32(good.length).bytes(hash).str16(blinky.manifest).done());
    const other = good.slice();
    other[good.length - 1] ^= 0xff;
    await client.request(Cmd.PUT_CHUNK, new BodyWriter().bytes(hash).u32(0).bytes(other).done());
    await expect(client.request(Cmd.PUT_END, new BodyWriter().bytes(hash).u8(0).done())).rejects.toThrow(/EHASH: module sha256 is [0-9a-f]{64}, expected/);

    const junk = new TextEncoder().encode("this is not wasm at all");
    await expect(client.put("junk", junk, blinky.manifest)).rejects.toThrow(/EINVALID: 'junk' is not a valid WebAssembly module/);
    await expect(client.put("bad name!", good, blinky.manifest)).rejects.toThrow(/EINVALID: bad app name 'bad name!'/);
    expect(await client.list()).toEqual([]);
  });

  it("refuses a module larger than the free store", async () => {
    const { client } = await connected({ storeCapacity: 1000 });
    await expect(client.put("blinky", blinky.wasm, blinky.manifest)).rejects.toThrow(/ENOSPACE: module needs \d+ bytes, the store has 1000 free/);
  });
});

describe("a simulated device with a directory store", () => {
  it("keeps its apps across a restart and starts the autostart ones at boot", async () => {
    const dir = join(OUT, "store");
    const first = await connected({ storeDir: dir });
    await first.client.put("blinky", blinky.wasm, blinky.manifest, { start: true, autostart: true });
    await first.client.put("quiet", blinky.wasm, blinky.manifest);
    await first.client.close();
    await first.dev.stop();

    const second = await connected({ storeDir: dir });
    const apps = await second.client.list();
    expect(apps.map((a) => [a.name, a.state, a.autostart])).toEqual([
      ["blinky", "running", true],
      ["quiet", "stopped", false],
    ]);
    second.dev.simulation.runFor(500);
    expect(gpio(second.dev.events, "LED0")).toEqual([[500, 1]]);
    expect((await second.client.info()).store.free).toBeLessThan((await second.client.info()).store.total);
  });
});

describe("directory store commits", () => {
  const mod = (version: string, fill: number) => {
    const wasm = new Uint8Array(100).fill(fill);
    return { name: "app", version, sha256: toHex(sha256(wasm)), wasm, manifest: `{"version":"${version}"}`, autostart: false };
  };

  it("keeps the old version whole when a put is cut before its meta file is replaced", () => {
    const dir = join(OUT, "commit-store");
    const store = new DirectoryStore(dir);
    store.put(mod("1.0.0", 1));
    // What a put of 2.0.0 has written when the power goes: its module file and a temp file.
    const v2 = mod("2.0.0", 2);
    writeFileSync(join(dir, `app.${v2.sha256.slice(0, 12)}.wasm`), v2.wasm);
    writeFileSync(join(dir, "app.meta.json.tmp"), "{ half a fi");
    const after = new DirectoryStore(dir);
    expect(after.get("app")).toMatchObject({ version: "1.0.0", sha256: mod("1.0.0", 1).sha256 });
    expect(readdirSync(dir).sort()).toEqual([`app.${mod("1.0.0", 1).sha256.slice(0, 12)}.wasm`, "app.meta.json"]);
    after.put(v2);
    expect(after.get("app")!.version).toBe("2.0.0");
    expect(readdirSync(dir).filter((f) => f.endsWith(".wasm"))).toEqual([`app.${v2.sha256.slice(0, 12)}.wasm`]);
    after.remove("app");
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("resumable upload", () => {
  /** A connector whose first stream dies after `cutAfter` bytes written by the client. */
  function flaky(inner: Connector, cutAfter: number, writes: Frame[]): Connector {
    let first = true;
    return async () => {
      const t = await inner();
      const cut = first;
      first = false;
      let written = 0;
      const parser = new FrameParser();
      const wrapped = wrapTransport(t, {
        write(data) {
          if (cut && written + data.length > cutAfter) {
            t.write(data.subarray(0, cutAfter - written)); // half a frame, then the line drops
            written = cutAfter;
            void t.close();
            return;
          }
          written += data.length;
          writes.push(...parser.push(data));
          t.write(data);
        },
      });
      return wrapped;
    };
  }

  it("continues after a disconnect from the offset the device holds, without resending it", async () => {
    const dev = await simDevice();
    const writes: Frame[] = [];
    const chunk = Math.floor(blinky.wasm.length / 8);
    // Cut inside the 5th PUT_CHUNK: 4 chunks (1024 bytes) have arrived.
    const hello = 14;
    const begin = 9 + 1 + 6 + 4 + 32 + 2 + new TextEncoder().encode(blinky.manifest).length + 4;
    const chunkFrame = 9 + 32 + 4 + chunk + 4;
    const cutAfter = hello + begin + 4 * chunkFrame + 100;
    const client = await DeviceClient.open(flaky(memoryConnector(dev.server), cutAfter, writes), { timeoutMs: 300 });
    cleanup.push(async () => {
      await client.close();
      await dev.stop();
    });
    const progress: number[] = [];
    const result = await client.put("blinky", blinky.wasm, blinky.manifest, { chunkSize: chunk, start: true, onProgress: (p) => progress.push(p.offset) });
    expect(result.reconnects).toBe(1);
    const chunkOffsets = writes.filter((f) => f.command === Cmd.PUT_CHUNK).map((f) => new DataView(f.payload.buffer, f.payload.byteOffset).getUint32(32, true));
    const expected: number[] = [];
    for (let o = 0; o < blinky.wasm.length; o += chunk) expected.push(o);
    // Every offset exactly once: the 5th chunk (cut mid-frame) is sent again after the
    // reconnect, and nothing the device already held is.
    expect(chunkOffsets).toEqual(expected);
    expect(writes.filter((f) => f.command === Cmd.PUT_BEGIN)).toHaveLength(2);
    expect(progress).toContain(4 * chunk);
    expect(result.bytesSent).toBe(blinky.wasm.length);
    dev.simulation.runFor(600);
    expect(gpio(dev.events, "LED0")).toEqual([[dev.simulation.now - 100, 1]]);
  });

  it("resumes an upload begun by an earlier connection (PUT_BEGIN reports the offset)", async () => {
    const dev = await simDevice();
    cleanup.push(() => dev.stop());
    const first = await DeviceClient.open(memoryConnector(dev.server));
    const hash = sha256(blinky.wasm);
    await first.request(Cmd.PUT_BEGIN, new BodyWriter().str8("blinky").u32(blinky.wasm.length).bytes(hash).str16(blinky.manifest).done());
    await first.request(Cmd.PUT_CHUNK, new BodyWriter().bytes(hash).u32(0).bytes(blinky.wasm.subarray(0, 300)).done());
    await first.close();
    const second = await DeviceClient.open(memoryConnector(dev.server));
    const result = await second.put("blinky", blinky.wasm, blinky.manifest);
    await second.close();
    expect(result.resumedFrom).toBe(300);
    expect(result.bytesSent).toBe(blinky.wasm.length - 300);
  });

  it("tells a second uploader the device is busy while the first is connected", async () => {
    const dev = await simDevice();
    cleanup.push(() => dev.stop());
    const a = await DeviceClient.open(memoryConnector(dev.server));
    const b = await DeviceClient.open(memoryConnector(dev.server));
    const hash = sha256(blinky.wasm);
    await a.request(Cmd.PUT_BEGIN, new BodyWriter().str8("blinky").u32(blinky.wasm.length).bytes(hash).str16(blinky.manifest).done());
    const other = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
    await expect(b.put("other", other, blinky.manifest)).rejects.toThrow(/EBUSY: another upload \('blinky', 0\/\d+ bytes\) is in progress/);
    await a.close();
    await b.close();
  });
});

describe("device robustness", () => {
  it("replays the remembered response to a repeated seq instead of executing twice", async () => {
    const dev = await simDevice();
    cleanup.push(() => dev.stop());
    const setup = await DeviceClient.open(memoryConnector(dev.server));
    await setup.put("blinky", blinky.wasm, blinky.manifest);
    await setup.close();
    const link = rawLink(dev);
    const start = encodeFrame({ command: Cmd.START, flags: 0, seq: 77, payload: new BodyWriter().str8("blinky").done() });
    link.host.write(start);
    link.host.write(start); // the "retry after a lost response"
    link.host.write(encodeFrame({ command: Cmd.START, flags: 0, seq: 78, payload: new BodyWriter().str8("blinky").done() }));
    const [a, b, c] = await link.next(3);
    expect([a!.seq, a!.flags, a!.payload[0]]).toEqual([77, FLAG_RESPONSE, Status.OK]);
    expect([b!.seq, b!.payload[0]]).toEqual([77, Status.OK]); // not EEXISTS: not executed again
    expect([c!.seq, c!.payload[0], text(c!.payload.subarray(1))]).toEqual([78, Status.EEXISTS, "app 'blinky' is already running"]);
    await link.host.close();
  });

  it("survives garbage, bad bodies, unknown commands and versions, and keeps answering", async () => {
    const dev = await simDevice();
    cleanup.push(() => dev.stop());
    const link = rawLink(dev);
    const junk = new Uint8Array(3000);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919) & 0xff;
    junk[100] = 0x4c;
    junk[101] = 0x51;
    link.host.write(junk);
    link.host.write(encodeFrame({ command: Cmd.PUT_BEGIN, flags: 0, seq: 1, payload: Uint8Array.of(5, 65) }));
    link.host.write(encodeFrame({ command: 0x7e, flags: 0, seq: 2, payload: new Uint8Array(0) }));
    link.host.write(encodeFrame({ version: 9, command: Cmd.HELLO, flags: 0, seq: 3, payload: Uint8Array.of(9) }));
    link.host.write(encodeFrame({ command: Cmd.HELLO, flags: 0, seq: 4, payload: Uint8Array.of(1) }));
    const got = await link.next(4);
    expect(got.map((f) => [f.seq, f.version, f.payload[0]])).toEqual([
      [1, 1, Status.EBADREQ],
      [2, 1, Status.EUNKNOWN],
      [3, 1, Status.EVERSION],
      [4, 1, Status.OK],
    ]);
    expect(text(got[0]!.payload.subarray(1))).toMatch(/body too short: name needs 5 bytes/);
    expect(text(got[1]!.payload.subarray(1))).toBe("unknown command 0x7e");
    await link.host.close();
  });

  it("answers every well-framed request with random bodies, and its store stays intact", async () => {
    const dev = await simDevice();
    cleanup.push(() => dev.stop());
    const setup = await DeviceClient.open(memoryConnector(dev.server));
    await setup.put("blinky", blinky.wasm, blinky.manifest, { start: true });
    await setup.close();
    const link = rawLink(dev);
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 0x100000000);
    const commands = [...Object.values(Cmd)].filter((c) => c !== Cmd.RESET && c !== Cmd.REMOVE);
    const n = 300;
    for (let i = 1; i <= n; i++) {
      const body = new Uint8Array(Math.floor(rand() * 64));
      for (let j = 0; j < body.length; j++) body[j] = Math.floor(rand() * 256);
      // Sometimes a plausible short name so requests reach deeper than the body parser.
      if (body.length > 8 && rand() < 0.5) body.set([6, ...new TextEncoder().encode("blinky")]);
      link.host.write(encodeFrame({ command: commands[Math.floor(rand() * commands.length)]!, flags: 0, seq: i, payload: body }));
    }
    // Random LOGS requests may turn following on: LOG/APP_STATE events mix with the answers.
    const responses = () => link.frames.filter((f) => f.flags === FLAG_RESPONSE);
    for (let i = 0; i < 500 && responses().length < n; i++) await new Promise((r) => setImmediate(r));
    expect(responses().map((f) => f.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(link.frames.every((f) => f.flags === FLAG_RESPONSE || (f.flags === FLAG_EVENT && f.seq === 0))).toBe(true);
    await link.host.close();
    const check = await DeviceClient.open(memoryConnector(dev.server));
    const apps = await check.list();
    // Whatever the noise did (stop, start, autostart), blinky is still there, unaltered.
    expect(apps.find((a) => a.name === "blinky")).toMatchObject({ sha256: toHex(sha256(blinky.wasm)), size: blinky.wasm.length });
    await check.close();
  });

  it("retries a request whose response was lost, with the same seq, and gets one execution", async () => {
    const dev = await simDevice();
    cleanup.push(() => dev.stop());
    const setup = await DeviceClient.open(memoryConnector(dev.server));
    await setup.put("blinky", blinky.wasm, blinky.manifest);
    await setup.close();
    // A link that loses the first response to START.
    let dropped = false;
    const lossy: Connector = async () => {
      const t = await memoryConnector(dev.server)();
      const parser = new FrameParser();
      return wrapTransport(t, {
        onData: (l) =>
          t.onData((d) => {
            for (const f of parser.push(d)) {
              if (!dropped && f.command === Cmd.START) {
                dropped = true;
                continue;
              }
              l(encodeFrame(f));
            }
          }),
      });
    };
    const client = await DeviceClient.open(lossy, { timeoutMs: 200, retries: 2 });
    await client.start("blinky"); // resolves OK thanks to the replay, not EEXISTS
    expect(dropped).toBe(true);
    expect((await client.list())[0]!.state).toBe("running");
    expect((await client.logs()).filter((r) => r.msg === "starting blinky")).toHaveLength(1);
    await client.close();
  });
});
