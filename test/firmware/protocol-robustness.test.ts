// Throws thousands of random, truncated, oversized, corrupted, replayed and wrong-version
// frames and mid-frame disconnects at a real liquid-device running under ASan/UBSan. The
// device must not crash (or report a sanitizer error), must keep its store intact (flash image
// byte for byte, app list), and must still answer HELLO.
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BodyWriter } from "../../compiler/src/protocol/body.js";
import { encodeFrame, FrameParser, type Frame } from "../../compiler/src/protocol/frame.js";
import { sha256 } from "../../compiler/src/protocol/sha256.js";
import { PosixDevice, tempDir } from "./device.js";

/** Deterministic PRNG so a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

class RawLink {
  readonly frames: Frame[] = [];
  private parser = new FrameParser();
  static answered = 0;
  private constructor(readonly socket: Socket) {
    socket.on("data", (d: Buffer) => {
      const got = this.parser.push(new Uint8Array(d));
      RawLink.answered += got.filter((f) => (f.flags & 1) === 1).length;
      this.frames.push(...got);
      if (this.frames.length > 100) this.frames.splice(0, this.frames.length - 100);
    });
  }
  static open(url: string): Promise<RawLink> {
    const m = /^tcp:\/\/([^:]+):(\d+)$/.exec(url)!;
    return new Promise((resolve, reject) => {
      const s = connect(Number(m[2]), m[1]!, () => resolve(new RawLink(s)));
      s.on("error", reject);
    });
  }
  write(b: Uint8Array): Promise<void> {
    return new Promise((resolve) => this.socket.write(b, () => resolve()));
  }
  async response(command: number, seq: number, timeoutMs = 5000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex((f) => f.command === command && f.seq === seq && (f.flags & 1) === 1);
      if (i >= 0) return this.frames.splice(i, 1)[0]!;
      if (Date.now() > deadline) throw new Error(`no response to command ${command} seq ${seq}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.socket.once("close", () => resolve());
      this.socket.destroy();
    });
  }
}

const COMMANDS = [0x01, 0x02, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x20, 0x30, 0x40, 0x41, 0x42, 0x43, 0x44, 0x50, 0x51, 0x52, 0x7f, 0xff];

/**
 * Waits until the device has answered everything sent so far on this link: answers come in
 * order, so a fresh HELLO's answer is the last. A preceding partial frame may swallow the HELLO
 * until the 500 ms partial-frame timeout, hence the retries.
 */
let syncSeq = 60000;
async function sync(link: RawLink): Promise<void> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const seq = ++syncSeq;
    await link.write(encodeFrame({ command: 0x01, flags: 0, seq, payload: Uint8Array.of(1) }));
    try {
      await link.response(0x01, seq, 1500);
      return;
    } catch {
      // swallowed by a partial frame: try again once it has timed out
    }
  }
  throw new Error("the device stopped answering");
}

let dev: PosixDevice;
let tmp: { dir: string; cleanup: () => void };

beforeAll(async () => {
  tmp = tempDir("lq-robust-");
  dev = await PosixDevice.start(join(tmp.dir, "flash.img"));
});

afterAll(async () => {
  await dev?.stop();
  tmp?.cleanup();
});

describe("device protocol robustness (posix device under ASan/UBSan)", () => {
  test("survives garbage, truncation, oversize, corruption, replays and disconnects", async () => {
    const rand = rng(20261126);
    const byte = () => Math.floor(rand() * 256);
    const bytes = (n: number) => Uint8Array.from({ length: n }, byte);

    const client = await dev.client();
    const appsBefore = JSON.stringify(await client.list());
    await client.close();
    const flashBefore = readFileSync(dev.flash);

    let link = await RawLink.open(dev.url);
    let sent = 0;
    let seq = 1;
    for (let i = 0; i < 3000; i++) {
      const kind = Math.floor(rand() * 7);
      const command = COMMANDS[Math.floor(rand() * COMMANDS.length)]!;
      const payload = bytes(Math.floor(rand() * (rand() < 0.1 ? 4096 : 64)));
      const frame = encodeFrame({ command, flags: 0, seq: (seq = (seq % 65535) + 1), payload });
      let out: Uint8Array;
      switch (kind) {
        case 0: // pure garbage, sometimes full of magic bytes
          out = rand() < 0.5 ? bytes(1 + Math.floor(rand() * 300)) : Uint8Array.from({ length: 200 }, () => (rand() < 0.5 ? 0x4c : 0x51));
          break;
        case 1: // a valid frame (random body) for every command
          out = frame;
          break;
        case 2: // truncated frame
          out = frame.subarray(0, Math.floor(rand() * frame.length));
          break;
        case 3: {
          // oversized length field
          out = frame.slice();
          new DataView(out.buffer).setUint16(7, 4097 + Math.floor(rand() * 60000), true);
          break;
        }
        case 4: {
          // one bit flipped somewhere
          out = frame.slice();
          out[Math.floor(rand() * out.length)]! ^= 1 << Math.floor(rand() * 8);
          break;
        }
        case 5: // replay of the same frame
          out = new Uint8Array([...frame, ...frame]);
          break;
        default: // an unknown protocol version with a good CRC
          out = encodeFrame({ command, flags: 0, seq, payload, version: 2 + Math.floor(rand() * 250) });
      }
      await link.write(out);
      sent += out.length;
      if (i % 250 === 249) {
        await sync(link); // every answer of this connection has arrived
        // a disconnect in the middle of a frame, then a new connection
        await link.write(frame.subarray(0, 5));
        await link.close();
        link = await RawLink.open(dev.url);
      }
    }
    // A clean frame after the storm gets its answer (after the partial-frame timeout at most).
    await new Promise((r) => setTimeout(r, 600));
    await link.write(encodeFrame({ command: 0x01, flags: 0, seq: 4242, payload: Uint8Array.of(1) }));
    const hello = await link.response(0x01, 4242);
    expect(hello.payload[0]).toBe(0);

    // A replay (same seq, command and bytes) gets the identical response without re-execution.
    const list1 = encodeFrame({ command: 0x13, flags: 0, seq: 777, payload: new Uint8Array(0) });
    await link.write(list1);
    const r1 = await link.response(0x13, 777);
    await link.write(list1);
    const r2 = await link.response(0x13, 777);
    expect(Buffer.from(r2.payload).equals(Buffer.from(r1.payload))).toBe(true);

    // An unknown version with a good CRC is answered with EVERSION in a version-1 frame.
    await link.write(encodeFrame({ command: 0x01, flags: 0, seq: 999, payload: Uint8Array.of(9), version: 9 }));
    const ev = await link.response(0x01, 999);
    expect(ev.version).toBe(1);
    expect(ev.payload[0]).toBe(9);
    expect(Buffer.from(ev.payload.subarray(1)).toString()).toMatch(/version 9/);
    await link.close();
    console.log(`protocol robustness: 3000 frames, ${sent} bytes, ${RawLink.answered} responses, 12 mid-frame disconnects`);
    // most well-formed requests were answered (some are swallowed by a preceding fake length)
    expect(RawLink.answered).toBeGreaterThan(500);

    const after = await dev.client();
    const info = await after.hello();
    expect(info.firmware).toBe("liquid");
    expect(JSON.stringify(await after.list())).toBe(appsBefore);
    await after.close();
    expect(Buffer.from(readFileSync(dev.flash)).equals(flashBefore)).toBe(true);
    expect(dev.exitCode).toBeNull();
    expect(await dev.stop()).toBe(0);
    expect(dev.stderr).not.toMatch(/Sanitizer|runtime error/);
  });
});

describe("uploads over a flaky link (raw frames)", () => {
  test("resume after a disconnect, duplicates acknowledged, gaps refused, a wrong hash installs nothing", async () => {
    // a valid module: () -> () start that returns
    const wasm = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 7, 9, 1, 5, 0x73, 0x74, 0x61, 0x72, 0x74, 0, 0, 0x0a, 4, 1, 2, 0, 0x0b]);
    const hash = sha256(wasm);
    const manifest = JSON.stringify({ liquid: 1, name: "tiny", version: "1.0.0", capabilities: [], resources: { pins: [], buses: [] } });
    let seq = 100;
    const ask = async (link: RawLink, command: number, body: Uint8Array) => {
      const s = ++seq;
      await link.write(encodeFrame({ command, flags: 0, seq: s, payload: body }));
      const r = await link.response(command, s);
      return { status: r.payload[0]!, body: r.payload.subarray(1), text: Buffer.from(r.payload.subarray(1)).toString() };
    };
    const u32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getUint32(0, true);
    const begin = new BodyWriter().str8("tiny").u32(wasm.length).bytes(hash).str16(manifest).done();
    const chunk = (off: number, end: number) => new BodyWriter().bytes(hash).u32(off).bytes(wasm.subarray(off, end)).done();

    const dev = await PosixDevice.start(join(tmp.dir, "uploads.img"));
    let link = await RawLink.open(dev.url);
    let r = await ask(link, 0x10, begin);
    expect([r.status, u32(r.body)]).toEqual([0, 0]);
    r = await ask(link, 0x11, chunk(0, 10));
    expect([r.status, u32(r.body)]).toEqual([0, 10]);
    await link.close();

    link = await RawLink.open(dev.url);
    r = await ask(link, 0x10, begin); // the device still holds the first 10 bytes
    expect([r.status, u32(r.body)]).toEqual([0, 10]);
    r = await ask(link, 0x11, chunk(0, 10)); // duplicate: acknowledged, not written again
    expect([r.status, u32(r.body)]).toEqual([0, 10]);
    r = await ask(link, 0x11, chunk(20, 30)); // a gap
    expect(r.status).toBe(8);
    expect(r.text).toMatch(/expected offset 10/);
    r = await ask(link, 0x12, new BodyWriter().bytes(hash).u8(1).done()); // too early
    expect(r.status).toBe(8);
    expect(r.text).toMatch(/10 of 35 bytes/);
    r = await ask(link, 0x11, chunk(5, wasm.length)); // overlapping tail
    expect([r.status, u32(r.body)]).toEqual([0, wasm.length]);
    r = await ask(link, 0x12, new BodyWriter().bytes(hash).u8(1).done());
    expect(r.status).toBe(0);

    // the same bytes announced under another hash: EHASH at PUT_END, nothing installed
    const wrong = sha256(Uint8Array.of(1, 2, 3));
    r = await ask(link, 0x10, new BodyWriter().str8("other").u32(wasm.length).bytes(wrong).str16(manifest).done());
    expect(r.status).toBe(0);
    r = await ask(link, 0x11, new BodyWriter().bytes(wrong).u32(0).bytes(wasm).done());
    r = await ask(link, 0x12, new BodyWriter().bytes(wrong).u8(0).done());
    expect(r.status).toBe(6);
    r = await ask(link, 0x13, new Uint8Array(0));
    expect((JSON.parse(r.text) as { name: string; state: string }[]).map((a) => [a.name, a.state])).toEqual([["tiny", "running"]]);
    // a manifest that is not JSON, a truncated body
    r = await ask(link, 0x10, new BodyWriter().str8("x").u32(5).bytes(hash).str16("{nope").done());
    expect([r.status, r.text]).toEqual([2, "the manifest is not a JSON object"]);
    r = await ask(link, 0x10, Uint8Array.of(4, 0x61));
    expect([r.status, r.text]).toEqual([2, "malformed PUT_BEGIN request (truncated body)"]);
    await link.close();
    expect(await dev.stop()).toBe(0);
    expect(dev.stderr).not.toMatch(/Sanitizer|runtime error/);
  });
});

describe("the posix device over a pseudo-terminal (--pty)", () => {
  test("speaks the protocol on the pty it prints, through the serial transport", async () => {
    const { connectorFor } = await import("../../compiler/src/transport/select.js");
    const { DeviceClient } = await import("../../compiler/src/protocol/client.js");
    const dev = await PosixDevice.start(join(tmp.dir, "pty.img"), ["--pty"]);
    const line = dev.lines.find((l) => l.startsWith("pty "));
    expect(line).toMatch(/^pty \/dev\/pts\/\d+$/);
    const client = await DeviceClient.open(connectorFor(line!.slice(4)), { timeoutMs: 3000, retries: 1, reconnectWindowMs: 0 });
    expect(client.helloInfo!.firmware).toBe("liquid");
    expect((await client.info()).board).toBe("posix");
    await client.close();
    expect(await dev.stop()).toBe(0);
    expect(dev.stderr).not.toMatch(/Sanitizer|runtime error/);
  });
});
