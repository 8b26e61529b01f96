// The optional migration hooks (hal/hal.json entryPoints on_migrate_out / on_migrate_in) on
// both kinds of runtime: `liquid migrate` asks the source to run on_migrate_out before the
// freeze (the app turns its LED off: the board it leaves goes dark) and the target to run
// on_migrate_in as the first event after START (the app opens LED0 there and lights it).
// Also an app whose event queue never empties (fixtures/swamped): the firmware holds its next
// event once a freeze is asked and freezes it when the current call returns.
import { afterAll, describe, expect, it } from "vitest";
import { migrate } from "../../compiler/src/migrate/migrate.js";
import { BodyWriter } from "../../compiler/src/protocol/body.js";
import { DeviceClient } from "../../compiler/src/protocol/client.js";
import { Cmd, Status } from "../../compiler/src/protocol/constants.js";
import { crc32 } from "../../compiler/src/protocol/crc32.js";
import { DeviceError } from "../../compiler/src/protocol/errors.js";
import type { Connector } from "../../compiler/src/transport/transport.js";
import { createSimDevice, memoryConnector, type SimDevice } from "../../host-sim/src/device/index.js";
import type { SimEvent } from "../../host-sim/src/index.js";
import {
  app,
  appLog,
  appState,
  counts,
  install,
  POSIX_BINARY,
  posixDevice,
  prepareQemuImage,
  QEMU_RUNNABLE,
  qemuDevice,
  simTcp,
  stopAll,
  waitCounts,
  waitFor,
  withClient,
  side,
  type TestDevice,
  fixtureSums,
} from "./support.js";
import { wrapTransport } from "../helpers/wrap-transport.js";

afterAll(stopAll);

/** LED0's levels as the device drove them, oldest first. */
function led0(d: TestDevice): () => number[] {
  if (d.sim) {
    const levels: number[] = [];
    d.sim.simulation.onEvent((e) => {
      if (e.type === "gpio" && e.pin === "LED0") levels.push(e.value);
    });
    return () => levels.slice();
  }
  return () => d.lines.flatMap((l) => {
    const m = /^gpio \d+ LED0 (\d)$/.exec(l);
    return m ? [Number(m[1])] : [];
  });
}

/** Moves the handover fixture and checks what a user sees on both boards. */
async function handover(source: TestDevice, target: TestDevice): Promise<void> {
  const handoverApp = await app("handover");
  const onSource = led0(source);
  const onTarget = led0(target);
  await install(source, handoverApp);
  await waitCounts(source, "handover", 3);
  expect(onSource().at(-1)).toBe(1);
  await migrate({ app: "handover", from: side(source), to: side(target), module: async () => handoverApp });
  const last = (await counts(source, "handover")).at(-1)!;
  // The source ran on_migrate_out before it froze: LED0 went dark there, then nothing.
  expect((await appLog(source, "handover")).at(-1)).toBe(`leaving at ${last}`);
  expect(onSource().at(-1)).toBe(0);
  // The target ran on_migrate_in first (the LED lit again), then the counts go on.
  await waitCounts(target, "handover", 2);
  const log = await appLog(target, "handover");
  expect(log.slice(0, 3)).toEqual([`arrived at ${last}`, `count ${last + 1}`, `count ${last + 2}`]);
  await waitFor(async () => onTarget().at(-1) === 1, () => `LED0 lit on the target (levels ${onTarget().join(",")})`);
  expect(onSource().at(-1)).toBe(0);
}

/** The target's connector with one byte of each RESTORE_CHUNK's data changed (the frame CRC recomputed). */
function damageRestoreChunks(connector: Connector): Connector {
  return async () => {
    const inner = await connector();
    return wrapTransport(inner, {
      write(frame) {
        if (frame[3] !== Cmd.RESTORE_CHUNK) return inner.write(frame);
        const f = frame.slice();
        const len = f[7]! | (f[8]! << 8);
        f[9 + 4 + 40] ^= 0x01; // a byte of snapshot data after the chunk's offset field
        new DataView(f.buffer).setUint32(9 + len, crc32(f, 2, 9 + len), true);
        inner.write(f);
      },
    });
  };
}

describe.skipIf(!POSIX_BINARY)(`migration hooks on the simulator and the posix firmware${POSIX_BINARY ? "" : " (SKIPPED: liquid-device is not built)"}`, () => {
  it("simulator -> posix: on_migrate_out darkens LED0 on the simulator, on_migrate_in lights it on the firmware", async () => {
    await handover(await simTcp(), await posixDevice());
  });

  it("posix -> simulator: on_migrate_out darkens LED0 on the firmware, on_migrate_in lights it on the simulator", async () => {
    await handover(await posixDevice(), await simTcp());
  });

  it.skipIf(!QEMU_RUNNABLE)(`posix -> QEMU Cortex-M4: the hooks run on the ARM firmware too${QEMU_RUNNABLE ? "" : " (SKIPPED: qemu-system-arm is not installed, or no QEMU image and no arm-none-eabi-gcc to build it)"}`, { timeout: 600_000 }, async () => {
    await prepareQemuImage();
    await handover(await posixDevice(), await qemuDevice());
  });

  it("a move rolled back after the freeze: the firmware source runs on_migrate_in again and LED0 is lit there", async () => {
    const handoverApp = await app("handover");
    const source = await posixDevice();
    const target = await simTcp();
    const onSource = led0(source);
    await install(source, handoverApp);
    await waitCounts(source, "handover", 2);
    // One byte of the snapshot changed on the way to the target, under a valid frame CRC.
    const corrupting = damageRestoreChunks(target.connector);
    const err = await migrate({ app: "handover", from: side(source), to: { connector: corrupting, label: target.url }, module: async () => handoverApp }).catch((e: unknown) => e);
    expect(err).toMatchObject({ step: "restore", appIs: "source" });
    const log = await appLog(source, "handover");
    const leaving = log.findIndex((l) => l.startsWith("leaving at "));
    const n = Number(log[leaving]!.slice("leaving at ".length));
    await waitCounts(source, "handover", n + 1);
    expect((await appLog(source, "handover")).slice(leaving, leaving + 3)).toEqual([`leaving at ${n}`, `arrived at ${n}`, `count ${n + 1}`]);
    await waitFor(async () => onSource().at(-1) === 1, () => `LED0 lit again on the source (levels ${onSource().join(",")})`);
    expect(onSource().slice(-3)).toEqual([1, 0, 1]);
    expect(await withClient(target, (c) => c.list())).toEqual([]); // the module installed for the move removed again
  });

  it("a host that gives up after on_migrate_out: the firmware's hold lapses, on_migrate_in runs there and the app goes on", async () => {
    const handoverApp = await app("handover");
    const source = await posixDevice();
    const onSource = led0(source);
    await install(source, handoverApp);
    await waitCounts(source, "handover", 2);
    const answer = await withClient(source, (c) =>
      c.request(Cmd.SNAPSHOT, new BodyWriter().str8("handover").u8(3).done()).then(() => undefined, (e: unknown) => e),
    );
    // An idle app with the hook is never frozen at once: the hook runs first.
    expect(answer).toBeInstanceOf(DeviceError);
    expect(answer).toMatchObject({ status: Status.EBUSY });
    expect((answer as Error).message).toMatch(/runs on_migrate_out; it freezes when that returns: ask again/);
    const n = await waitFor(async () => {
      const line = (await appLog(source, "handover")).find((l) => l.startsWith("leaving at "));
      return line ? Number(line.slice("leaving at ".length)) : undefined;
    }, () => "on_migrate_out on the firmware");
    await waitCounts(source, "handover", n + 1);
    const log = await appLog(source, "handover");
    const at = log.indexOf(`leaving at ${n}`);
    expect(log.slice(at, at + 3)).toEqual([`leaving at ${n}`, `arrived at ${n}`, `count ${n + 1}`]);
    expect(onSource().slice(-3)).toEqual([1, 0, 1]);
    expect(await appState(source, "handover")).toBe("running");
  });

  for (const [from, to] of [["posix", "sim"], ["sim", "posix"]] as const) {
    it(`an on_migrate_out that traps (${from} -> ${to}): the move fails at the freeze with the app's error, nothing moved`, async () => {
      const clumsy = await app("clumsy");
      const source = from === "posix" ? await posixDevice() : await simTcp();
      const target = to === "posix" ? await posixDevice() : await simTcp();
      await install(source, clumsy);
      await waitCounts(source, "clumsy", 2);
      const err = await migrate({ app: "clumsy", from: side(source), to: side(target), module: async () => clumsy }).catch((e: unknown) => e);
      expect(err).toMatchObject({ step: "freeze", appIs: "nowhere" });
      expect((err as Error).message).toMatch(/freezing 'clumsy' on the source failed: it trapped there \(.*on_migrate_out.*unreachable.*\); nothing was moved/);
      expect((await appLog(source, "clumsy")).some((l) => l.startsWith("releasing at "))).toBe(true);
      expect(await appState(source, "clumsy")).toBe("trapped");
      // the module sent to the target before the freeze was removed again
      expect(await withClient(target, (c) => c.list())).toEqual([]);
      expect(await counts(target, "clumsy")).toEqual([]);
    });
  }

  it("an app whose event queue never empties is frozen when its current call returns, and its computation goes on exactly", async () => {
    const swamped = await app("swamped");
    const source = await posixDevice();
    const target = await simTcp();
    await install(source, swamped);
    await waitCounts(source, "swamped", 4);
    // The premise: its 2 ms timer fires faster than the handler returns.
    await waitFor(async () => source.lines.some((l) => l.includes("event queue full")), () => `'event queue full' on the firmware:\n${source.lines.slice(-20).join("\n")}`);
    const r = await migrate({ app: "swamped", from: side(source), to: side(target), module: async () => swamped });
    await waitCounts(target, "swamped", 3);
    // (the firmware also logs its dropped timer events under the app's name)
    const lines = [...(await appLog(source, "swamped")), ...(await appLog(target, "swamped"))].filter((l) => l.startsWith("count "));
    const parsed = lines.map((l) => /^count (\d+) sum ([0-9a-f]+)$/.exec(l)!).map((m) => [Number(m[1]), m[2]]);
    expect(parsed).toEqual(fixtureSums(parsed.length, 600000).map((sum, i) => [i + 1, sum]));
    console.log(`swamped app: ${r.warnings.join("; ") || "frozen at the first try"}; downtime ${r.downtimeMs.toFixed(1)} ms`);
  });

  it("the same app inspected without a manifest (the target already holds the module): the inspecting snapshot waits for the call too", async () => {
    const swamped = await app("swamped");
    const source = await posixDevice();
    const target = await simTcp();
    await install(source, swamped);
    await install(target, swamped, false);
    await waitCounts(source, "swamped", 3);
    const r = await migrate({ app: "swamped", from: side(source), to: side(target) });
    expect(r.moduleBytesSent).toBe(0);
    const last = (await counts(source, "swamped")).at(-1)!;
    expect((await waitCounts(target, "swamped", 2))[0]).toBe(last + 1);
  });
});

describe("migration hooks and paused restores on simulated devices (virtual time)", () => {
  const opened: SimDevice[] = [];
  afterAll(async () => {
    for (const d of opened) await d.stop();
  });
  async function sim(id: string): Promise<{ d: SimDevice; events: SimEvent[] }> {
    const d = await createSimDevice({ id, board: "sim-devkit" });
    opened.push(d);
    const events: SimEvent[] = [];
    d.simulation.onEvent((e) => events.push(e));
    return { d, events };
  }
  const at = (d: SimDevice) => ({ connector: memoryConnector(d.server), label: d.board.id });
  const led = (events: SimEvent[]) => events.flatMap((e) => (e.type === "gpio" && e.pin === "LED0" ? [[e.t, e.value]] : []));
  const logged = (events: SimEvent[]) => events.flatMap((e) => (e.type === "log" && e.app ? [[e.t, e.msg]] : []));

  it("on_migrate_out runs at the freeze and on_migrate_in at the resume, each at its exact virtual time", async () => {
    const handoverApp = await app("handover");
    const a = await sim("hooks-a");
    const b = await sim("hooks-b");
    const c = await DeviceClient.open(memoryConnector(a.d.server));
    await c.put("handover", handoverApp.wasm, handoverApp.manifestText, { start: true });
    await c.close();
    a.d.simulation.runFor(350); // counts at 100, 200, 300
    await migrate({ app: "handover", from: at(a.d), to: at(b.d), module: async () => handoverApp });
    expect(led(a.events)).toEqual([[0, 1], [350, 0]]);
    expect(logged(a.events).slice(-1)).toEqual([[350, "leaving at 3"]]);
    b.d.simulation.runFor(200);
    // b's clock: the app resumed at b's time 0 with 50 ms left on its timer
    expect(led(b.events)).toEqual([[0, 1]]);
    expect(logged(b.events)).toEqual([[0, "arrived at 3"], [50, "count 4"], [150, "count 5"]]);
  });

  it("STOP drops a paused restore, as the firmware does: a later START starts the app afresh", async () => {
    const ticker = await app("ticker");
    const a = await sim("paused-a");
    const c = await DeviceClient.open(memoryConnector(a.d.server));
    try {
      await c.put("ticker", ticker.wasm, ticker.manifestText, { start: true });
      a.d.simulation.runFor(550); // count 5
      const snap = await c.snapshot("ticker", { stop: true });
      await c.restore("ticker", snap, { start: false });
      expect((await c.list()).find((x) => x.name === "ticker")?.state).toBe("stopped");
      await c.stop("ticker"); // a rollback's STOP on a target that already held the module
      await expect(c.stop("ticker")).rejects.toThrow(/not running/);
      const before = logged(a.events).length;
      await c.start("ticker");
      a.d.simulation.runFor(250);
      expect(logged(a.events).slice(before).map(([, m]) => m)).toEqual(["count 1", "count 2"]);
    } finally {
      await c.close();
    }
  });
});
