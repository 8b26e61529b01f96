// The client's SNAPSHOT/SNAPSHOT_READ and RESTORE_* against the firmware: an app's state moved
// from one posix device to another continues where it was. Skipped when liquid-device is not built.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../compiler/src/commands/emulate.js";
import { DeviceClient } from "../../compiler/src/protocol/client.js";
import { findPosixDevice } from "../../compiler/src/transport/emulators.js";
import { connectTcp } from "../../compiler/src/transport/tcp.js";
import { memoryConnector } from "../../host-sim/src/device/index.js";
import { fixtureApp, simDevice, type BuiltApp } from "./support.js";

const BINARY = findPosixDevice();
const WORK = mkdtempSync(join(tmpdir(), "liquid-snapshot-"));
let counter: BuiltApp;
const devices: RunningEmulator[] = [];
let savedHome: string | undefined;

beforeAll(async () => {
  savedHome = process.env.LIQUID_HOME;
  process.env.LIQUID_HOME = join(WORK, "home");
  counter = await fixtureApp("counter", WORK);
});

afterAll(async () => {
  for (const d of devices) await d.stop();
  if (savedHome === undefined) delete process.env.LIQUID_HOME;
  else process.env.LIQUID_HOME = savedHome;
  rmSync(WORK, { recursive: true, force: true });
});

/** The highest "count N" the app has logged. */
async function lastCount(client: DeviceClient): Promise<number> {
  const counts = (await client.allLogs()).flatMap((r) => (r.app === "counter" && /^count \d+$/.test(r.msg) ? [Number(r.msg.slice(6))] : []));
  return counts.length ? Math.max(...counts) : 0;
}

async function waitCount(client: DeviceClient, atLeast: number): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const n = await lastCount(client);
    if (n >= atLeast) return n;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the counter never reached ${atLeast}`);
}

describe.skipIf(!BINARY)(`snapshot and restore through the client${BINARY ? "" : " (SKIPPED: liquid-device is not built)"}`, () => {
  it("moves a running app's state from one posix device to another", async () => {
    const a = await startEmulator({ board: "posix", port: 0, quiet: true, flash: join(WORK, "a.img") });
    const b = await startEmulator({ board: "posix", port: 0, quiet: true, flash: join(WORK, "b.img") });
    devices.push(a, b);
    const from = await DeviceClient.open(() => connectTcp(a.url));
    const to = await DeviceClient.open(() => connectTcp(b.url));
    try {
      await from.put("counter", counter.wasm, counter.manifest, { start: true });
      await to.put("counter", counter.wasm, counter.manifest);
      await waitCount(from, 3);
      const snapshot = await from.snapshot("counter", { stop: true });
      expect(new TextDecoder().decode(snapshot.subarray(0, 4))).toBe("LQSN");
      const frozenAt = await lastCount(from);
      expect((await from.list())[0]!.state).toBe("stopped");

      await to.restore("counter", snapshot, { start: true });
      expect((await to.list())[0]!.state).toBe("running");
      const next = await waitCount(to, frozenAt + 1);
      // The restored copy counts on from where the first stopped: it never logs "count 1".
      const logged = (await to.allLogs()).filter((r) => r.app === "counter").map((r) => r.msg);
      expect(logged[0]).toBe(`count ${frozenAt + 1}`);
      expect(next).toBeGreaterThan(frozenAt);
    } finally {
      await from.close();
      await to.close();
    }
  });

  it("reports a snapshot of an app that is not running as the device's error", async () => {
    const dev = devices[0]!;
    const client = await DeviceClient.open(() => connectTcp(dev.url));
    try {
      await expect(client.snapshot("nope")).rejects.toThrow(/SNAPSHOT failed: ENOTFOUND/);
    } finally {
      await client.close();
    }
  });
});

describe("snapshot on a simulated device", () => {
  it("answers that the simulated board cannot snapshot yet (a documented limit)", async () => {
    const dev = await simDevice();
    const client = await DeviceClient.open(memoryConnector(dev.server));
    try {
      await client.put("counter", counter.wasm, counter.manifest, { start: true });
      await expect(client.snapshot("counter")).rejects.toThrow("SNAPSHOT failed: EINVALID: this simulated board cannot snapshot apps yet");
    } finally {
      await client.close();
      await dev.stop();
    }
  });
});
