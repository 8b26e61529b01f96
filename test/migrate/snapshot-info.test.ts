// The host's reading of a snapshot between freeze and restore: a real snapshot from a
// simulated device is understood (module, memory, timers, pins), and every kind of damage is
// refused with the reason before any target sees it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSnapshot, SnapshotFormatError } from "../../compiler/src/migrate/snapshot-info.js";
import { DeviceClient } from "../../compiler/src/protocol/client.js";
import { createSimDevice, memoryConnector } from "../../host-sim/src/device/index.js";
import { app, stopAll } from "./support.js";

afterAll(stopAll);

let snapshot: Uint8Array;
let moduleSha = "";

beforeAll(async () => {
  const ticker = await app("ticker");
  moduleSha = ticker.sha256;
  const dev = await createSimDevice();
  const c = await DeviceClient.open(memoryConnector(dev.server));
  await c.put("ticker", ticker.wasm, ticker.manifestText, { start: true });
  dev.simulation.runFor(330);
  snapshot = await c.snapshot("ticker");
  await c.close();
  await dev.stop();
});

/** The offset of a section's payload. */
function section(data: Uint8Array, tag: string): { offset: number; length: number } {
  const info = readSnapshot(data);
  const s = info.sections.find((x) => x.tag === tag);
  if (!s) throw new Error(`no ${tag}`);
  return s;
}

describe("reading a snapshot on the host", () => {
  it("finds the module, the memory, the pending timer and the pin", () => {
    const info = readSnapshot(snapshot);
    expect(info.moduleSha256).toBe(moduleSha);
    expect(info.sections.map((s) => s.tag)).toEqual(["MODL", "GLOB", "MEMY", "SEGS", "LQRT"]);
    expect(info.memoryPages).toBe(1);
    expect(info.memoryNonZero).toBeGreaterThan(0);
    expect(info.memoryNonZero).toBeLessThan(4096);
    expect(info.runtime).toEqual({
      pins: [{ name: "LED0", mode: expect.any(Number), level: 1 }],
      buses: [],
      timers: [{ handle: 0, periodic: true, periodMs: 100, remainingMs: 70 }],
      watches: [],
      subscriptions: [],
      events: [],
    });
  });

  const damaged: [string, (s: Uint8Array) => Uint8Array, RegExp][] = [
    ["too short", (s) => s.subarray(0, 5), /too short/],
    ["wrong magic", (s) => Uint8Array.from(s, (b, i) => (i === 0 ? 0x58 : b)), /not a Liquid snapshot \(magic 'XQSN'/],
    ["unknown version", (s) => Uint8Array.from(s, (b, i) => (i === 4 ? 9 : b)), /snapshot version 9 is not supported/],
    ["cut in a section", (s) => s.subarray(0, s.length - 3), /claims \d+ bytes, only \d+ remain \(truncated\)/],
    ["cut in a header", (s) => Uint8Array.from([...s, 0x4c, 0x51]), /ends inside a section header/],
    [
      "memory tokens past the declared pages",
      (s) => {
        const m = section(s, "MEMY");
        const out = s.slice();
        out[m.offset + 4] = 0; // 0 pages declared, tokens still there
        return out;
      },
      /memory tokens cover more than the 0 page\(s\)/,
    ],
    [
      "reserved memory token",
      (s) => {
        const m = section(s, "MEMY");
        const out = s.slice();
        out[m.offset + 8] = 0x03; // first token: length 0, kind 3
        return out;
      },
      /reserved token kind 3/,
    ],
    [
      "runtime section of an unknown format",
      (s) => {
        const r = section(s, "LQRT");
        const out = s.slice();
        out[r.offset] = 3;
        return out;
      },
      /LQRT\) has format 3; this liquid reads formats 1 and 2/,
    ],
    [
      "no module identity",
      (s) => {
        const out = s.slice();
        out.set(new TextEncoder().encode("XODL"), 8);
        return out;
      },
      /no valid module identity/,
    ],
  ];
  for (const [what, damage, message] of damaged) {
    it(`refuses a snapshot with ${what}`, () => {
      expect(() => readSnapshot(damage(snapshot))).toThrow(SnapshotFormatError);
      expect(() => readSnapshot(damage(snapshot))).toThrow(message);
    });
  }
});
