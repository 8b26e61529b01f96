// A migration that cannot finish never loses the app and never runs it twice: a target that
// lacks what the app needs is refused before anything is frozen; a target killed in the
// middle of the snapshot transfer, or a snapshot damaged on the way, ends with the app
// resumed on the source with its state — its counts go on without a gap or a repeat and
// its memory (checksummed every tick) is intact.
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { migrate, MigrationError } from "../../compiler/src/migrate/migrate.js";
import { resumeFromFile } from "../../compiler/src/migrate/recover.js";
import { Cmd } from "../../compiler/src/protocol/constants.js";
import { crc32 } from "../../compiler/src/protocol/crc32.js";
import type { Connector, Transport } from "../../compiler/src/transport/transport.js";
import {
  app,
  appLog,
  appState,
  counts,
  install,
  POSIX_BINARY,
  posixDevice,
  ROOT,
  simTcp,
  stopAll,
  waitCounts,
  withClient,
  WORK,
  side,
  type TestDevice,
  fixtureSums,
} from "./support.js";
import { wrapTransport } from "../helpers/wrap-transport.js";

afterAll(stopAll);

/** Runs `onFrame` on every request frame the host writes (one frame per write) before it leaves. */
function intercept(connector: Connector, onFrame: (frame: Uint8Array, stream: Transport) => Uint8Array | undefined): Connector {
  return async () => {
    const inner = await connector();
    return wrapTransport(inner, {
      write(data) {
        const out = onFrame(data, inner);
        if (out && !inner.closed) inner.write(out);
      },
    });
  };
}

/** The app's log goes on after the failed attempt: counts 1..N, one checksum throughout. */
async function expectKeptRunning(source: TestDevice, appName: string, countsBefore: number, checksummed = false): Promise<void> {
  expect(await appState(source, appName)).toBe("running");
  const after = await waitCounts(source, appName, countsBefore + 3);
  expect(after).toEqual(after.map((_, i) => i + 1));
  const sums = new Set((await appLog(source, appName)).map((m) => / checksum (\S+)$/.exec(m)?.[1]).filter(Boolean));
  expect(sums.size).toBe(checksummed ? 1 : 0);
}

describe("refused before freezing", () => {
  it("a target board without the app's pin: refused with the reason, the app never stopped", async () => {
    const thermometer = await app(join(ROOT, "examples", "thermometer"));
    const source = await simTcp();
    const target = await simTcp(join(ROOT, "test", "protocol", "fixtures", "board.json")); // LED0, LED1, BUTTON0, I2C0
    await install(source, thermometer);
    const err = await migrate({ app: "thermometer", from: side(source), to: side(target), module: async () => thermometer }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect(err).toMatchObject({ step: "check", appIs: "source" });
    expect((err as Error).message).toMatch(/cannot run 'thermometer': it has no pin LED2 \(its pins: LED0, LED1, BUTTON0\)\. Nothing was frozen/);
    expect(await appState(source, "thermometer")).toBe("running");
    // Nothing touched either device: no snapshot taken, no module left on the target.
    const runtimeLog = await withClient(source, async (c) => (await c.allLogs()).filter((r) => r.app === null).map((r) => r.msg));
    expect(runtimeLog.filter((m) => m.startsWith("snapshot"))).toEqual([]);
    expect(await withClient(target, (c) => c.list())).toEqual([]);
  });

  it("without a manifest the running app is inspected (not stopped) and the missing pin still found", async () => {
    const thermometer = await app(join(ROOT, "examples", "thermometer"));
    const source = await simTcp();
    const target = await simTcp(join(ROOT, "test", "protocol", "fixtures", "board.json"));
    await install(source, thermometer);
    await install(target, thermometer, false);
    const err = await migrate({ app: "thermometer", from: side(source), to: side(target) }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/it has no pin LED2/);
    expect(await appState(source, "thermometer")).toBe("running");
    expect(await appState(target, "thermometer")).toBe("stopped");
  });

  it("a target without the module and no copy on the host: says where to get it", async () => {
    const ticker = await app("ticker");
    const source = await simTcp();
    const target = await simTcp();
    await install(source, ticker);
    const err = await migrate({ app: "ticker", from: side(source), to: side(target) }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/does not hold 'ticker' \(sha256 [0-9a-f]{12}\) and this host has no copy of it: pass --module/);
    expect(await appState(source, "ticker")).toBe("running");
  });

  it("a different build given as the module is refused: the snapshot would not fit it", async () => {
    const ticker = await app("ticker");
    const ballast = await app("ballast");
    const source = await simTcp();
    const target = await simTcp();
    await install(source, ticker);
    const err = await migrate({ app: "ticker", from: side(source), to: side(target), module: async () => ballast }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/is not the one running on the source/);
    expect(await appState(source, "ticker")).toBe("running");
  });
});

describe.skipIf(!POSIX_BINARY)(`failures after the freeze: the app is never lost${POSIX_BINARY ? "" : " (SKIPPED: liquid-device is not built)"}`, () => {
  it("the target is killed in the middle of the snapshot transfer (56 KiB of state)", async () => {
    const ballast = await app("ballast");
    const source = await simTcp();
    const target = await posixDevice();
    await install(source, ballast);
    const before = (await waitCounts(source, "ballast", 3)).length;
    let chunks = 0;
    const killing = intercept(target.connector, (frame) => {
      if (frame[3] === Cmd.RESTORE_CHUNK && ++chunks === 4) {
        target.kill();
        return undefined;
      }
      return frame;
    });
    const steps: string[] = [];
    const err = await migrate({
      app: "ballast",
      from: side(source),
      to: side(target, killing),
      module: async () => ballast,
      clientOptions: { reconnectWindowMs: 500, timeoutMs: 1000, retries: 1 },
      onStep: (s) => steps.push(s),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect(err).toMatchObject({ step: "restore", appIs: "source" });
    expect((err as Error).message).toMatch(/resumed on the source with its state/);
    expect(chunks).toBe(4);
    expect(steps).toEqual(["check", "module", "freeze", "verify", "rollback"]);
    await expectKeptRunning(source, "ballast", before, true);
  });

  it("a snapshot damaged on the way (bytes changed under a valid frame CRC) is refused by the target", async () => {
    const ticker = await app("ticker");
    const source = await posixDevice();
    const target = await posixDevice();
    await install(source, ticker, true, true);
    const before = (await waitCounts(source, "ticker", 3)).length;
    const corrupting = intercept(target.connector, (frame) => {
      if (frame[3] !== Cmd.RESTORE_CHUNK) return frame;
      const f = frame.slice();
      const len = f[7]! | (f[8]! << 8);
      f[9 + 4 + 40] ^= 0x01; // a byte of snapshot data after the chunk's offset field
      const crc = crc32(f, 2, 9 + len);
      new DataView(f.buffer).setUint32(9 + len, crc, true);
      return f;
    });
    const err = await migrate({ app: "ticker", from: side(source), to: side(target, corrupting), module: async () => ticker }).catch((e: unknown) => e);
    expect(err).toMatchObject({ step: "restore", appIs: "source" });
    expect((err as Error).message).toMatch(/snapshot sha256 mismatch/);
    await expectKeptRunning(source, "ticker", before);
    // Autostart was off while the app was frozen (a reboot then must not start a fresh copy)
    // and is back on.
    expect((await withClient(source, (c) => c.list()))[0]).toMatchObject({ name: "ticker", state: "running", autostart: true });
    // The target was left as it was before: no module, nothing running.
    expect(await withClient(target, (c) => c.list())).toEqual([]);
    expect(await counts(target, "ticker")).toEqual([]);
  });

  it("the target dies as START is sent: the app resumes on the source, and the message says what cannot be known", async () => {
    const ticker = await app("ticker");
    const source = await simTcp();
    const target = await posixDevice();
    await install(source, ticker);
    const before = (await waitCounts(source, "ticker", 3)).length;
    const dying = intercept(target.connector, (frame) => {
      if (frame[3] !== Cmd.START) return frame;
      target.kill();
      return undefined;
    });
    const err = await migrate({
      app: "ticker",
      from: side(source),
      to: side(target, dying),
      module: async () => ticker,
      clientOptions: { reconnectWindowMs: 300, timeoutMs: 1000, retries: 1 },
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ step: "resume", appIs: "source" });
    expect((err as Error).message).toMatch(/the target stopped answering after START was sent .*may run 'ticker' too.*resumed on the source with its state/);
    await expectKeptRunning(source, "ticker", before);
  });

  it("both devices fail after the freeze: the state waits in the journal file and resumes on a third device", async () => {
    const ticker = await app("ticker");
    const source = await posixDevice();
    const target = await simTcp();
    const third = await simTcp();
    await install(source, ticker);
    await waitCounts(source, "ticker", 3);
    // The target damages what it receives (refused at RESTORE_END); the source dies as soon as
    // the snapshot's bytes go to the target, so the rollback has nowhere to go.
    const failing = intercept(target.connector, (frame) => {
      if (frame[3] !== Cmd.RESTORE_CHUNK) return frame;
      source.kill();
      const f = frame.slice();
      const len = f[7]! | (f[8]! << 8);
      f[9 + 4 + 40] ^= 0x01;
      new DataView(f.buffer).setUint32(9 + len, crc32(f, 2, 9 + len), true);
      return f;
    });
    const journalDir = join(WORK, "journal");
    const err = await migrate({
      app: "ticker",
      from: side(source),
      to: side(target, failing),
      module: async () => ticker,
      journalDir,
      clientOptions: { reconnectWindowMs: 300, timeoutMs: 1000, retries: 1 },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    const failure = err as MigrationError;
    expect(failure).toMatchObject({ step: "restore", appIs: "nowhere" });
    expect(failure.message).toMatch(/resuming it on the source failed too: .*Its state is saved in .*\.lqsn: resume it with 'liquid migrate ticker --snapshot /);
    expect(failure.journal).toMatch(/ticker-.*\.lqsn$/);
    const frozenAt = (await counts(source, "ticker")).at(-1)!;

    await resumeFromFile({ app: "ticker", file: failure.journal!, to: side(third), module: async () => ticker });
    const onThird = await waitCounts(third, "ticker", 2);
    expect(onThird.slice(0, 2)).toEqual([frozenAt + 1, frozenAt + 2]);
  });

  it("the answers to SNAPSHOT are lost until the client gives up: the state the source holds is read and the move completes", async () => {
    const ticker = await app("ticker");
    const source = await posixDevice();
    const target = await simTcp();
    await install(source, ticker);
    await waitCounts(source, "ticker", 3);
    // From the freeze request on, the host hears nothing and its resends go nowhere, until it
    // sends another request (having given up on SNAPSHOT).
    let freezeFrame: Uint8Array | undefined;
    let deaf = false;
    const blackout: Connector = async () => {
      const inner = await source.connector();
      let listener: (d: Uint8Array) => void = () => {};
      inner.onData((d) => {
        if (!deaf) listener(d);
      });
      return wrapTransport(inner, {
        write(frame: Uint8Array) {
          const isFreeze = frame[3] === Cmd.SNAPSHOT && (frame[9 + (frame[7]! | (frame[8]! << 8)) - 1]! & 1) === 1; // the stop bit
          if (isFreeze && !freezeFrame) {
            freezeFrame = frame;
            deaf = true;
            inner.write(frame);
            return;
          }
          if (deaf && freezeFrame && Buffer.from(frame).equals(Buffer.from(freezeFrame))) return;
          if (frame.length > 1) deaf = false;
          inner.write(frame);
        },
        onData: (l) => void (listener = l),
      });
    };
    const r = await migrate({
      app: "ticker",
      from: side(source, blackout),
      to: side(target),
      module: async () => ticker,
      clientOptions: { timeoutMs: 1000, retries: 1 },
    });
    expect(freezeFrame).toBeDefined();
    expect(r.warnings.join("\n")).toMatch(/the answer to SNAPSHOT was lost \(no answer .*\); the snapshot the source held was read instead/);
    const onSource = await counts(source, "ticker");
    const onTarget = await waitCounts(target, "ticker", 3);
    const all = [...onSource, ...onTarget];
    expect(all).toEqual(all.map((_, i) => i + 1));
  });
});

describe.skipIf(!POSIX_BINARY)(`an app that is busy most of the time${POSIX_BINARY ? "" : " (SKIPPED: liquid-device is not built)"}`, () => {
  /** The fixture's sum after each of `upTo` events (fixtures/busy: 150,000 steps per event). */
  const expectedSums = (upTo: number): string[] => fixtureSums(upTo, 150000);

  it("is frozen between two of its events (the firmware answers EBUSY inside one) and its computation goes on exactly", async () => {
    const busy = await app("busy");
    const source = await posixDevice();
    const target = await simTcp();
    await install(source, busy);
    await waitCounts(source, "busy", 5);
    const r = await migrate({ app: "busy", from: side(source), to: side(target), module: async () => busy });
    const onTarget = await waitCounts(target, "busy", 3);
    const lines = [...(await appLog(source, "busy")), ...(await appLog(target, "busy"))];
    const parsed = lines.map((l) => /^count (\d+) sum ([0-9a-f]+)$/.exec(l)!).map((m) => [Number(m[1]), m[2]]);
    const expected = expectedSums(parsed.length);
    expect(parsed).toEqual(expected.map((sum, i) => [i + 1, sum]));
    expect(onTarget[0]).toBe((await counts(source, "busy")).at(-1)! + 1);
    console.log(`busy app: ${r.warnings.join("; ") || "frozen at the first try"}; downtime ${r.downtimeMs.toFixed(1)} ms`);
  });
});
