import { describe, expect, it } from "vitest";
import { crc32 } from "../../compiler/src/protocol/crc32.js";
import { MAX_PAYLOAD } from "../../compiler/src/protocol/constants.js";
import { FrameParser, encodeFrame, type Frame } from "../../compiler/src/protocol/frame.js";

const enc = new TextEncoder();

/** A deterministic PRNG so a failing fuzz case can be replayed from its seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

function frame(seq: number, size: number, rand: () => number): Frame {
  const payload = new Uint8Array(size);
  for (let i = 0; i < size; i++) payload[i] = Math.floor(rand() * 256);
  return { version: 1, command: 0x10 + (seq % 8), flags: seq % 2, seq, payload };
}

describe("CRC-32", () => {
  it("matches the IEEE 802.3 check value", () => {
    expect(crc32(enc.encode("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(enc.encode("The quick brown fox jumps over the lazy dog"))).toBe(0x414fa339);
  });
});

describe("frame encoding", () => {
  it("lays out magic, version, command, flags, seq, length, payload and CRC as docs/protocol.md says", () => {
    const bytes = encodeFrame({ command: 0x01, flags: 0, seq: 0x1234, payload: Uint8Array.of(1) });
    expect([...bytes.subarray(0, 10)]).toEqual([0x4c, 0x51, 1, 0x01, 0, 0x34, 0x12, 1, 0, 1]);
    const crc = crc32(bytes, 2, 10);
    expect(new DataView(bytes.buffer).getUint32(10, true)).toBe(crc);
    expect(bytes.length).toBe(14);
  });

  it("refuses payloads over the maximum", () => {
    expect(() => encodeFrame({ command: 1, flags: 0, seq: 1, payload: new Uint8Array(MAX_PAYLOAD + 1) })).toThrow(/exceeds the protocol maximum of 4096/);
  });

  it("round-trips frames fed byte by byte", () => {
    const rand = prng(7);
    const frames = [frame(1, 0, rand), frame(2, 17, rand), frame(3, MAX_PAYLOAD, rand)];
    const p = new FrameParser(() => 0);
    const got: Frame[] = [];
    for (const f of frames) for (const b of encodeFrame(f)) got.push(...p.push(Uint8Array.of(b)));
    expect(got).toEqual(frames);
    expect(p.pending).toBe(0);
  });
});

describe("frame parser robustness", () => {
  it("finds a frame after garbage that contains the magic and fake headers", () => {
    const good = encodeFrame({ command: 2, flags: 1, seq: 9, payload: enc.encode("ok") });
    // "LQ" followed by an oversize length, then "LQ" with a plausible header but a bad CRC.
    const garbage = Uint8Array.of(0, 0x4c, 0x4c, 0x51, 1, 2, 0, 0, 0, 0xff, 0xff, 0x4c, 0x51, 1, 2, 1, 9, 0, 2, 0, 0x6f, 0x6b, 1, 2, 3, 4);
    const p = new FrameParser(() => 0);
    const got = p.push(Uint8Array.from([...garbage, ...good]));
    expect(got).toHaveLength(1);
    expect(new TextDecoder().decode(got[0]!.payload)).toBe("ok");
    expect(p.stats.oversize).toBe(1);
    expect(p.stats.badCrc).toBeGreaterThanOrEqual(1);
  });

  it("finds a frame that starts inside a truncated one", () => {
    const a = encodeFrame({ command: 3, flags: 0, seq: 1, payload: new Uint8Array(100).fill(7) });
    const b = encodeFrame({ command: 4, flags: 0, seq: 2, payload: enc.encode("second") });
    let now = 0;
    const p = new FrameParser(() => now);
    // `a` claims 100 payload bytes: `b` is swallowed as its remainder until the line goes quiet.
    expect(p.push(Uint8Array.from([...a.subarray(0, 40), ...b]))).toEqual([]);
    now = 600;
    expect(p.expire().map((f) => f.seq)).toEqual([2]);
    expect(p.pending).toBe(0);
  });

  it("drops a partial frame after 500 ms of silence", () => {
    let now = 0;
    const p = new FrameParser(() => now);
    const a = encodeFrame({ command: 3, flags: 0, seq: 1, payload: new Uint8Array(50) });
    p.push(a.subarray(0, 20));
    now = 400;
    expect(p.push(a.subarray(20, 30))).toEqual([]);
    now = 1000; // the sender died: the rest of `a` never comes
    const b = encodeFrame({ command: 4, flags: 0, seq: 2, payload: new Uint8Array(0) });
    // Without the timeout, b's bytes would be swallowed as the remainder of `a`.
    expect(p.push(b).map((f) => f.seq)).toEqual([2]);
    expect(p.pending).toBe(0);
    expect(p.stats.staleDrops).toBe(1);
  });

  it("returns frames with an unknown version so a device can answer EVERSION", () => {
    const p = new FrameParser(() => 0);
    const got = p.push(encodeFrame({ version: 2, command: 1, flags: 0, seq: 5, payload: Uint8Array.of(2) }));
    expect(got[0]!.version).toBe(2);
  });

  it("recovers every intact frame from fuzzed streams (garbage, bit flips, truncation, split reads)", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rand = prng(seed);
      const sent: Frame[] = [];
      const expected: number[] = [];
      const parts: number[] = [];
      for (let i = 1; i <= 60; i++) {
        const f = frame(i, Math.floor(rand() * 300), rand);
        const bytes = [...encodeFrame(f)];
        const r = rand();
        if (r < 0.15) {
          // corrupt one byte after the magic: the frame must be dropped
          const at = 2 + Math.floor(rand() * (bytes.length - 2));
          bytes[at] = bytes[at]! ^ (1 + Math.floor(rand() * 255));
        } else if (r < 0.25) {
          bytes.length = Math.floor(rand() * (bytes.length - 1)); // truncated
        } else {
          expected.push(i);
        }
        sent.push(f);
        if (rand() < 0.3) for (let g = Math.floor(rand() * 20); g > 0; g--) parts.push(rand() < 0.3 ? 0x4c : Math.floor(rand() * 256));
        parts.push(...bytes);
      }
      const stream = Uint8Array.from(parts);
      let now = 0;
      const p = new FrameParser(() => now);
      const got: Frame[] = [];
      for (let pos = 0; pos < stream.length; ) {
        const n = 1 + Math.floor(rand() * 700);
        got.push(...p.push(stream.subarray(pos, pos + n)));
        pos += n;
      }
      now += 1000; // the stream ends: a truncated frame near the end must not hold back the last ones
      got.push(...p.expire());
      const bySeq = new Map(sent.map((f) => [f.seq, f]));
      // Every intact frame comes out, identical; a corrupted one may not sneak through.
      const intact = got.filter((f) => expected.includes(f.seq));
      expect(intact.map((f) => f.seq), `seed ${seed}`).toEqual(expected);
      for (const f of intact) expect(f).toEqual(bySeq.get(f.seq));
      for (const f of got) expect(f, `seed ${seed}: corrupted frame accepted`).toEqual(bySeq.get(f.seq));
    }
  });
});
