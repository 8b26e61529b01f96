// Events already queued for an app when it freezes travel in its snapshot (LQRT format 2,
// docs/snapshot.md) and are delivered on the target, once, in their order — not on the source:
// a button pressed and a message published while the app was inside a long call, and a message
// its on_migrate_out published. A format-1 snapshot (no events) still restores, and a section
// whose event list is damaged is refused with a clear reason on the firmware and the simulator.
import { afterAll, describe, expect, it } from "vitest";
import { migrate } from "../../compiler/src/migrate/migrate.js";
import { retryWhileBusy } from "../../compiler/src/migrate/busy-retry.js";
import { app, appLog, appState, install, POSIX_BINARY, posixDevice, QEMU_RUNNABLE, qemuDevice, simTcp, stopAll, side, waitFor, withClient, type TestDevice } from "./support.js";

afterAll(stopAll);

/** The simulator's watchdog budget for the fixture's long timer event (steps). */
const SIM_BUDGET = 200_000_000;

const delivered = (lines: string[]) => lines.filter((l) => /^(pin|message) /.test(l));

function waitLog(d: TestDevice, name: string, line: string, timeoutMs = 15_000): Promise<string[]> {
  return waitFor(
    async () => {
      const lines = await appLog(d, name);
      return lines.includes(line) ? lines : undefined;
    },
    async () => `"${line}" from ${name} on the ${d.kind} device (have: ${(await appLog(d, name)).join(" | ")})`,
    timeoutMs,
  );
}

/** Starts the fixture on a firmware device and presses BUTTON0 while its timer event computes. */
async function busyWithButtonPressed(source: TestDevice): Promise<void> {
  const inbox = await app("inbox");
  await install(source, inbox);
  await waitLog(source, "inbox", "busy");
  source.control!("set BUTTON0 0");
  // The firmware samples pins every few ms and debounces 5 ms: the edge is queued well before this.
  await new Promise((r) => setTimeout(r, 120));
}

// ---- the LQRT section, taken apart to write format 1 or damage the event list ----

interface Section {
  at: number; // offset of the payload in the snapshot
  len: number;
  eventsAt: number; // offset of the event count inside the payload
}

function lqrt(snap: Uint8Array): Section {
  const dv = new DataView(snap.buffer, snap.byteOffset, snap.byteLength);
  let at = 8;
  while (at + 8 <= snap.length) {
    const tag = new TextDecoder().decode(snap.subarray(at, at + 4));
    const len = dv.getUint32(at + 4, true);
    if (tag === "LQRT") {
      const p = snap.subarray(at + 8, at + 8 + len);
      let o = 1;
      const str8 = () => (o += 1 + p[o]!);
      for (let n = p[o++]!; n > 0; n--) (str8(), (o += 2)); // pins
      for (let n = p[o++]!; n > 0; n--) str8(); // buses
      for (let n = p[o++]!; n > 0; n--) o += 10; // timers
      for (let n = p[o++]!; n > 0; n--) o += 7; // watches
      for (let n = p[o++]!; n > 0; n--) (o++, str8()); // subscriptions
      return { at: at + 8, len, eventsAt: o };
    }
    at += 8 + len;
  }
  throw new Error("no LQRT section");
}

/** The snapshot with its LQRT payload replaced. */
function withSection(snap: Uint8Array, payload: Uint8Array): Uint8Array {
  const s = lqrt(snap);
  const out = new Uint8Array(snap.length - s.len + payload.length);
  out.set(snap.subarray(0, s.at));
  new DataView(out.buffer).setUint32(s.at - 4, payload.length, true);
  out.set(payload, s.at);
  out.set(snap.subarray(s.at + s.len), s.at + payload.length);
  return out;
}

const payloadOf = (snap: Uint8Array) => {
  const s = lqrt(snap);
  return snap.slice(s.at, s.at + s.len);
};

describe.skipIf(!POSIX_BINARY)(`events queued at the freeze${POSIX_BINARY ? "" : " (SKIPPED: liquid-device is not built)"}`, () => {
  /**
   * The freeze and the restore as liquid migrate does them (SNAPSHOT stop+migrating, asked again
   * while EBUSY; RESTORE migrating with START). Done step by step here because migrate() first
   * takes a size probe (a snapshot without stop), which lets the app run on between the probe
   * and the freeze: the events queued during the long call would be delivered on the source
   * before the freeze, exactly once too, but then nothing would be left to carry.
   */
  async function moveFrozen(source: TestDevice, target: TestDevice): Promise<number> {
    const inbox = await app("inbox");
    let busy = 0;
    const snap = await withClient(source, (c) => retryWhileBusy(() => c.snapshot("inbox", { stop: true, migrating: true }), () => busy++));
    await install(target, inbox, false);
    await withClient(target, (c) => c.restore("inbox", snap, { start: true, migrating: true }));
    return busy;
  }

  const carried = ["message inbox/note: queued while busy", "pin 0", "message inbox/bye: sent in on_migrate_out"];

  it("posix → simulator: the button press and both messages queued at the freeze are delivered on the target, once, in order, not on the source", async () => {
    const source = await posixDevice();
    const target = await simTcp("sim-devkit", { budget: SIM_BUDGET });
    await busyWithButtonPressed(source);
    expect(await moveFrozen(source, target)).toBeGreaterThan(0); // frozen while the long call ran
    await waitLog(target, "inbox", "message inbox/bye: sent in on_migrate_out");
    await new Promise((res) => setTimeout(res, 200)); // nothing else arrives later
    const sourceLines = await appLog(source, "inbox");
    expect(sourceLines).toContain("leaving");
    expect(delivered(sourceLines)).toEqual([]);
    expect(delivered(await appLog(target, "inbox"))).toEqual(carried);
  });

  it("posix → posix: the same events arrive on the other firmware", async () => {
    const source = await posixDevice();
    const target = await posixDevice();
    // The target's own button is pressed too, so the restored watch (last level 0) sees no edge
    // there: every pin event on the target is one that travelled.
    target.control!("set BUTTON0 0");
    await busyWithButtonPressed(source);
    await moveFrozen(source, target);
    await waitLog(target, "inbox", "message inbox/bye: sent in on_migrate_out");
    await new Promise((res) => setTimeout(res, 200));
    expect(delivered(await appLog(source, "inbox"))).toEqual([]);
    expect(delivered(await appLog(target, "inbox"))).toEqual(carried);
  });

  it.skipIf(!QEMU_RUNNABLE)(`posix → QEMU Cortex-M4: the Cortex-M firmware reads the events and delivers them${QEMU_RUNNABLE ? "" : " (SKIPPED: no qemu-system-arm or image)"}`, async () => {
    const source = await posixDevice();
    const target = await qemuDevice();
    target.control!("set BUTTON0 0");
    await busyWithButtonPressed(source);
    await moveFrozen(source, target);
    await waitLog(target, "inbox", "message inbox/bye: sent in on_migrate_out", 30_000);
    await new Promise((res) => setTimeout(res, 300));
    expect(delivered(await appLog(source, "inbox"))).toEqual([]);
    expect(delivered(await appLog(target, "inbox"))).toEqual(carried);
  }, 90_000);

  it.skipIf(!QEMU_RUNNABLE)(`QEMU Cortex-M4 → simulator: the Cortex-M firmware writes them${QEMU_RUNNABLE ? "" : " (SKIPPED: no qemu-system-arm or image)"}`, async () => {
    const source = await qemuDevice();
    const target = await simTcp("sim-devkit", { budget: SIM_BUDGET });
    await busyWithButtonPressed(source);
    expect(await moveFrozen(source, target)).toBeGreaterThan(0);
    await waitLog(target, "inbox", "message inbox/bye: sent in on_migrate_out");
    await new Promise((res) => setTimeout(res, 200));
    expect(delivered(await appLog(source, "inbox"))).toEqual([]);
    expect(delivered(await appLog(target, "inbox"))).toEqual(carried);
  }, 90_000);

  it("simulator → posix: messages queued during the freeze (from on_migrate_out and from outside) are delivered on the firmware", async () => {
    const source = await simTcp("sim-devkit", { budget: SIM_BUDGET });
    const target = await posixDevice();
    const inbox = await app("inbox");
    await install(source, inbox);
    await waitFor(async () => (await appLog(source, "inbox")).some((l) => l.startsWith("idle")), () => "the fixture's timer event on the simulator");
    // A message arriving from another device while the app leaves: queued behind the freeze.
    const board = source.sim!.board;
    const off = source.sim!.simulation.onEvent((e) => {
      if (e.type === "log" && e.app === "inbox" && e.msg === "leaving") board.inject("inbox/outside", new TextEncoder().encode("from another device"));
    });
    const r = await migrate({ app: "inbox", from: side(source), to: side(target), module: async () => inbox });
    off();
    expect(r.eventsCarried).toBe(2); // the report says what travelled
    await waitLog(target, "inbox", "message inbox/outside: from another device");
    await new Promise((res) => setTimeout(res, 200));
    // On the source only the note of its own timer event (delivered long before the freeze).
    expect(delivered(await appLog(source, "inbox"))).toEqual(["message inbox/note: queued while busy"]);
    expect(delivered(await appLog(target, "inbox"))).toEqual(["message inbox/bye: sent in on_migrate_out", "message inbox/outside: from another device"]);
  });

  describe("format 1 and damaged event lists", () => {
    let snap: Uint8Array;
    let posix: TestDevice;
    let sim: TestDevice;

    /** A firmware snapshot (taken with stop) of the fixture holding a message and a pin event. */
    async function snapshotWithEvents(): Promise<Uint8Array> {
      const source = await posixDevice();
      await busyWithButtonPressed(source);
      let busy = 0;
      const data = await withClient(source, (c) => retryWhileBusy(() => c.snapshot("inbox", { stop: true }), () => busy++));
      expect(busy).toBeGreaterThan(0); // taken while the long call ran, with the events still queued
      return data;
    }

    async function restoreOn(d: TestDevice, data: Uint8Array): Promise<void> {
      await withClient(d, async (c) => {
        if ((await c.list()).some((a) => a.name === "inbox" && a.state === "running")) await c.stop("inbox");
        await c.restore("inbox", data, { start: true });
      });
    }

    it("the firmware's snapshot carries its two queued events", async () => {
      snap = await snapshotWithEvents();
      posix = await posixDevice();
      posix.control!("set BUTTON0 0"); // as on the source: the restored watch sees no new edge
      sim = await simTcp("sim-devkit", { budget: SIM_BUDGET });
      const inbox = await app("inbox");
      await install(posix, inbox, false);
      await install(sim, inbox, false);
      const p = payloadOf(snap);
      const s = lqrt(snap);
      expect(p[0]).toBe(2);
      expect(p[s.eventsAt]).toBe(2); // the note (published first), then the button
      expect(p[s.eventsAt + 1]).toBe(3);
    });

    it("a format-1 section (no events) restores on both sides and delivers nothing from the freeze", async () => {
      const p = payloadOf(snap);
      const s = lqrt(snap);
      const f1 = p.slice(0, s.eventsAt);
      f1[0] = 1;
      for (const d of [posix, sim]) {
        await restoreOn(d, withSection(snap, f1));
        expect(await appState(d, "inbox")).toBe("running");
        await new Promise((res) => setTimeout(res, 150));
        expect(delivered(await appLog(d, "inbox"))).toEqual([]);
      }
    });

    it("a timer event for a timer the target does not have is dropped with a warning; the restore goes on", async () => {
      const p = payloadOf(snap);
      const { eventsAt } = lqrt(snap);
      // two events: on_timer(9) (no such timer: 8 per app), then start(), which logs "ready"
      const list = Uint8Array.from([...p.subarray(0, eventsAt), 2, 1, 9, 0]);
      for (const d of [posix, sim]) {
        await restoreOn(d, withSection(snap, list));
        await waitLog(d, "inbox", "ready");
        expect(await appLog(d, "inbox")).toContain("queued on_timer(9) dropped: this device has no timer 9");
        await withClient(d, (c) => c.stop("inbox"));
      }
    });

    it("damaged event lists are refused with their reason on the firmware and the simulator", async () => {
      const p = payloadOf(snap);
      const { eventsAt } = lqrt(snap);
      const truncated = p.slice(0, p.length - 3);
      const badKind = p.slice();
      badKind[eventsAt + 1] = 9;
      // the first event is the note: kind, handle, str8 topic, u16 length, bytes
      const tooLong = p.slice();
      const lenAt = eventsAt + 3 + 1 + tooLong[eventsAt + 3]!;
      tooLong[lenAt] = 300 & 0xff;
      tooLong[lenAt + 1] = 300 >> 8;
      const tooMany = p.slice();
      tooMany[eventsAt] = 17;
      // the second event is the button: kind 2, pin handle, level
      const pinAt = lenAt + 2 + (p[lenAt]! | (p[lenAt + 1]! << 8));
      const noPin = p.slice();
      expect(noPin[pinAt]).toBe(2);
      noPin[pinAt + 1] = 7;
      const cases: [Uint8Array, RegExp][] = [
        [truncated, /queued events are truncated/],
        [tooMany, /carries 17 queued events; at most 16/],
        [noPin, /queued event 1: on_pin\(7, 0\) names no pin of the snapshot/],
        [badKind, /queued event 0 has an unknown kind 9/],
        [tooLong, /queued event 0: message payload longer than 256 bytes/],
      ];
      for (const d of [posix, sim]) {
        for (const [payload, reason] of cases) {
          await withClient(d, async (c) => {
            if ((await c.list()).some((a) => a.name === "inbox" && a.state === "running")) await c.stop("inbox");
          });
          await expect(restoreOn(d, withSection(snap, payload)), `${d.kind}: ${reason}`).rejects.toThrow(reason);
          expect(await appState(d, "inbox")).not.toBe("running");
        }
      }
      // and the undamaged snapshot delivers both events where it is restored
      await restoreOn(posix, snap);
      await waitLog(posix, "inbox", "pin 0");
      expect(delivered(await appLog(posix, "inbox"))).toEqual(["message inbox/note: queued while busy", "pin 0"]);
    });
  });
});
