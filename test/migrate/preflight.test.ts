// The capability check that runs before anything is frozen: every reason a target cannot run
// the app is named, from the manifest and from what a snapshot shows the app holds.
import { describe, expect, it } from "vitest";
import { needsOf, snapshotRoomProblem, targetProblems } from "../../compiler/src/migrate/preflight.js";
import type { AppManifest, CapabilityDocument } from "../../compiler/src/protocol/types.js";

const target: CapabilityDocument = {
  protocol: 1,
  firmware: "liquid",
  version: "0.1.0",
  id: "t-1",
  board: "small",
  arch: "armv7e-m",
  engine: "liquid-engine 0.1",
  memory: { ram: 65536, appMax: 65536 },
  store: { total: 32768, free: 2000 },
  pins: [
    { name: "LED0", caps: ["out"] },
    { name: "BUTTON0", caps: ["in", "pullup"] },
  ],
  buses: [],
  capabilities: ["gpio", "time", "log"],
  apps: [],
};

const manifest = (over: Partial<AppManifest>): AppManifest => ({
  liquid: 1,
  name: "x",
  version: "0.1.0",
  sha256: "00",
  size: 100,
  exports: [],
  imports: [],
  capabilities: ["gpio", "time"],
  resources: { pins: ["LED0"], buses: [] },
  memory: { initialPages: 1, maximumPages: 1 },
  ...over,
});

describe("can the target run the app?", () => {
  it("yes, when it offers everything", () => {
    expect(targetProblems(needsOf(manifest({}), undefined, undefined, 1000), target)).toEqual([]);
  });

  it("names each missing capability, pin and bus, and too little memory or store", () => {
    const m = manifest({ capabilities: ["gpio", "i2c", "msg"], resources: { pins: ["LED0", "LED2"], buses: ["I2C0"] } });
    expect(targetProblems(needsOf(m, undefined, 2, 5000), target)).toEqual([
      "it lacks the 'i2c' capability the app imports (it offers gpio, time, log)",
      "it lacks the 'msg' capability the app imports (it offers gpio, time, log)",
      "it has no pin LED2 (its pins: LED0, BUTTON0)",
      "it has no bus I2C0 (its buses: none)",
      "the app has 2 memory page(s) (128 KiB) and the target runs apps of at most 64 KiB",
      "its store has 2000 bytes free and the module needs 5000",
    ]);
  });

  it("checks the way a snapshot shows the pins used: an output needs 'out', a watched input 'irq'", () => {
    const runtime = {
      pins: [
        { name: "BUTTON0", mode: 2, level: 1 },
        { name: "LED0", mode: 0, level: 0 },
      ],
      buses: [],
      timers: [],
      watches: [{ pinHandle: 0, edges: 3, debounceMs: 20, stable: 1 }],
      subscriptions: [],
    };
    expect(targetProblems(needsOf(undefined, runtime, 1, 0), target)).toEqual([
      "its pin BUTTON0 cannot do irq as the app uses it (it can: in, pullup)",
      "its pin LED0 cannot do in as the app uses it (it can: out)",
    ]);
  });
});

describe("room for the snapshot", () => {
  it("is judged from INFO's memory.snapshotMax when the target gives it, and left to the RESTORE_BEGIN probe when not", () => {
    const qemu = { ...target, memory: { ...target.memory, snapshotMax: 16384 } };
    expect(snapshotRoomProblem(16384, qemu)).toBeUndefined();
    expect(snapshotRoomProblem(16385, qemu)).toBe("snapshot of 16385 bytes too large: this device takes at most 16384");
    expect(snapshotRoomProblem(1 << 20, target)).toBeNull();
  });
});
