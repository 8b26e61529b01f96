// One counting app moved live around every kind of device, on the wall clock: a simulated
// devkit, the posix firmware (x86-64, ASan/UBSan), the firmware on QEMU's Cortex-M4F, and
// back to the simulator. Each target lacks the module and gets it along with the snapshot.
// The counts logged on all devices together must be 1, 2, 3, ... without a gap or a repeat.
import { join } from "node:path";
import { buildApp } from "../../compiler/src/app-build/index.js";
import { libraryFromRepository } from "../../compiler/src/migrate/module-source.js";
import type { ModuleManifest } from "../../hub/src/repository.js";
import { serveRepository } from "../../hub/src/server.js";
import { afterAll, describe, expect, it } from "vitest";
import { migrate, type MigrationReport } from "../../compiler/src/migrate/migrate.js";
import { app, appLog, appState, counts, install, withClient, WORK, POSIX_BINARY, ROOT, waitFor, QEMU_RUNNABLE, prepareQemuImage, simTcp, posixDevice, qemuDevice, stopAll, waitCounts, type TestDevice } from "./support.js";

afterAll(stopAll);

async function hop(from: TestDevice, to: TestDevice, keep = false): Promise<MigrationReport> {
  const ticker = await app("ticker");
  const before = (await counts(from, "ticker")).length;
  await waitCounts(from, "ticker", before + 3);
  return migrate({
    app: "ticker",
    from: { connector: from.connector, label: from.url },
    to: { connector: to.connector, label: to.url },
    keep,
    module: async () => ticker,
  });
}

/** Every device's counts, in the order the app visited them, must be 1..N exactly. */
function expectSeamless(perDevice: number[][]): void {
  const all = perDevice.flat();
  expect(all.length).toBeGreaterThan(8);
  expect(all).toEqual(all.map((_, i) => i + 1));
}

describe.skipIf(!POSIX_BINARY)(`live migration across the simulator, the posix firmware and QEMU${POSIX_BINARY ? "" : " (SKIPPED: liquid-device is not built)"}`, () => {
  it.skipIf(!QEMU_RUNNABLE)(`simulator -> posix -> QEMU Cortex-M4 -> simulator without a gap or a repeat${QEMU_RUNNABLE ? "" : " (SKIPPED: qemu-system-arm is not installed, or no QEMU image and no arm-none-eabi-gcc to build it)"}`, { timeout: 600_000 }, async () => {
    await prepareQemuImage();
    const ticker = await app("ticker");
    const sim = await simTcp();
    const posix = await posixDevice();
    const qemu = await qemuDevice();
    await install(sim, ticker);

    const r1 = await hop(sim, posix);
    expect(r1).toMatchObject({ from: { board: "sim-devkit" }, to: { board: "posix" }, moduleBytesSent: ticker.wasm.length, source: "removed" });
    expect(r1.timersPending).toHaveLength(1);
    expect(r1.timersPending[0]!.remainingMs).toBeLessThanOrEqual(100);
    const onSim1 = await counts(sim, "ticker");

    const r2 = await hop(posix, qemu, true);
    expect(r2).toMatchObject({ to: { arch: "armv7e-m" }, source: "kept-stopped" });
    expect(await appState(posix, "ticker")).toBe("stopped");
    const onPosix = await counts(posix, "ticker");

    const r3 = await hop(qemu, sim);
    expect(r3).toMatchObject({ to: { board: "sim-devkit" }, moduleBytesSent: ticker.wasm.length });
    const onQemu = await counts(qemu, "ticker");
    const back = await waitCounts(sim, "ticker", onSim1.length + 3);
    expectSeamless([onSim1, onPosix, onQemu, back.slice(onSim1.length)]);
    for (const r of [r1, r2, r3]) console.log(`${r.from.board} -> ${r.to.board}: snapshot ${r.snapshotBytes} B, downtime ${r.downtimeMs.toFixed(1)} ms`);
  });

  it("simulator -> posix -> simulator, the module already on the way back", async () => {
    const ticker = await app("ticker");
    const sim = await simTcp();
    const posix = await posixDevice();
    await install(sim, ticker);
    await hop(sim, posix, true); // the simulator keeps the module
    const onSim = await counts(sim, "ticker");
    const r = await hop(posix, sim);
    expect(r.moduleBytesSent).toBe(0);
    const onPosix = await counts(posix, "ticker");
    const back = await waitCounts(sim, "ticker", onSim.length + 3);
    expectSeamless([onSim, onPosix, back.slice(onSim.length)]);
  });

  it("the thermometer moves from a simulated board at 30 C to the x86-64 firmware: LED2 stays lit, then the firmware's TMP105 (23.5 C) turns it off", async () => {
    const thermometer = await app(join(ROOT, "examples", "thermometer"));
    const sim = await simTcp();
    const posix = await posixDevice();
    sim.sim!.board.set("I2C0.tmp105.temperature", 30);
    await install(sim, thermometer);
    await waitFor(async () => (await appLog(sim, "thermometer")).includes("30.00 C"), () => "a first reading on the simulator");
    const r = await migrate({
      app: "thermometer",
      from: { connector: sim.connector, label: sim.url },
      to: { connector: posix.connector, label: posix.url },
      module: async () => thermometer,
    });
    expect(r.pins).toEqual([{ name: "LED2", level: 1 }]);
    expect(r.buses).toEqual(["I2C0"]);
    const onPosix = await waitFor(
      async () => {
        const log = await appLog(posix, "thermometer");
        return log.length >= 1 ? log : undefined;
      },
      () => `a reading on the firmware:\n${posix.lines.join("\n")}`,
    );
    expect(onPosix[0]).toBe("23.50 C");
    const led2 = () => posix.lines.flatMap((l) => (/^gpio \d+ LED2 (\d)$/.exec(l) ? [Number(/(\d)$/.exec(l)![1])] : []));
    await waitFor(async () => led2().length >= 2, () => `LED2 edges on the firmware: ${led2()}`);
    expect(led2()).toEqual([1, 0]);
  });

  it("device-local data stays behind on the way to the firmware: calibrated again there (TMP105 at 23.5 C), the count goes on", async () => {
    const calibrated = await app("calibrated");
    const sim = await simTcp();
    const posix = await posixDevice();
    sim.sim!.board.set("I2C0.tmp105.temperature", 30);
    await install(sim, calibrated);
    await waitCounts(sim, "calibrated", 2);
    const r = await migrate({
      app: "calibrated",
      from: { connector: sim.connector, label: sim.url },
      to: { connector: posix.connector, label: posix.url },
      module: async () => calibrated,
    });
    expect(r.deviceLocal).toEqual(["local_raw"]);
    const last = (await counts(sim, "calibrated")).at(-1)!;
    await waitCounts(posix, "calibrated", 2);
    const onPosix = await appLog(posix, "calibrated");
    expect(onPosix.slice(0, 3)).toEqual(["calibrated 6016", `count ${last + 1} raw 6016`, `count ${last + 2} raw 6016`]);
  });

  it.skipIf(!QEMU_RUNNABLE)("56 KiB of state moves to the 256 KiB Cortex-M4 and back intact; refused before freezing when another app holds the RAM it needs", { timeout: 600_000 }, async () => {
    await prepareQemuImage();
    const ballast = await app("ballast");
    const blinky = await app(join(ROOT, "examples", "blinky"));
    const posix = await posixDevice();
    const qemu = await qemuDevice();
    // The snapshot is held in the engine's free RAM only while it moves: the idle board can
    // restore more than the 56 KiB page plus the app's instance beside it.
    const idleMax = (await withClient(qemu, (c) => c.info())).memory.snapshotMax!;
    expect(idleMax).toBeGreaterThan(57 * 1024);
    await install(posix, ballast);
    await waitCounts(posix, "ballast", 2);
    const checksums = (d: TestDevice) => appLog(d, "ballast").then((l) => new Set(l.map((m) => m.split(" checksum ")[1])));
    const move = (from: TestDevice, to: TestDevice) =>
      migrate({ app: "ballast", from: { connector: from.connector, label: from.url }, to: { connector: to.connector, label: to.url }, module: async () => ballast });
    await move(posix, qemu);
    await waitCounts(qemu, "ballast", 2);
    await move(qemu, posix);
    const onPosixBefore = (await counts(posix, "ballast")).length;
    await waitCounts(posix, "ballast", onPosixBefore + 2);
    // No gap, no repeat, and every byte of the page arrived: one checksum on both boards.
    const all = [...(await counts(posix, "ballast")), ...(await counts(qemu, "ballast"))].sort((a, b) => a - b);
    expect(all).toEqual(all.map((_, i) => i + 1));
    const sums = new Set([...(await checksums(posix)), ...(await checksums(qemu))]);
    expect(sums.size).toBe(1);
    // The snapshot's RAM goes back to the board once the host is done with it (a UART has no
    // disconnect: after LQ_SNAPSHOT_KEEP_MS, 10 s, unread).
    await waitFor(
      async () => ((await withClient(qemu, (c) => c.info())).memory.snapshotMax === idleMax ? true : undefined),
      () => "the QEMU board kept the snapshot's RAM",
      20_000,
    );

    // With blinky's page taken, the board cannot hold the state and an instance beside it:
    // INFO says so, and the migration is refused before anything is frozen.
    await install(qemu, blinky);
    const busyMax = (await withClient(qemu, (c) => c.info())).memory.snapshotMax!;
    expect(busyMax).toBeLessThan(56 * 1024);
    const before = (await counts(posix, "ballast")).length;
    const err = await move(posix, qemu).catch((e: unknown) => e);
    expect(err).toMatchObject({ step: "check", appIs: "source" });
    expect((err as Error).message).toMatch(new RegExp(`cannot hold 'ballast''s state: snapshot of \\d+ bytes too large: this device takes at most ${busyMax}\\. Nothing was frozen`));
    expect(await appState(posix, "ballast")).toBe("running");
    await waitCounts(posix, "ballast", before + 2);
  });

  it("an app that links a driver library: the target gets the libraries it lacks from the repository before the freeze, and reads its sensor through them", async () => {
    const probe = await app(join(ROOT, "examples", "probe"));
    const built = async (dir: string) => {
      const r = await buildApp(join(ROOT, dir), { out: join(WORK, "libs", `${dir.split("/").at(-1)}.wasm`), library: true });
      if (!r.ok) throw new Error(`building ${dir} failed: ${r.errors.join("; ")}`);
      return { wasm: r.wasm!, manifest: r.manifest as unknown as ModuleManifest };
    };
    const tmp105 = await built("examples/probe/drivers/tmp105");
    const bme280 = await built("examples/probe/drivers/bme280");
    const repo = await serveRepository(join(WORK, "lib-repo"));
    try {
      await repo.repo.publish(tmp105.wasm, tmp105.manifest);
      await repo.repo.publish(bme280.wasm, bme280.manifest);
      const source = await posixDevice();
      const target = await posixDevice();
      await withClient(source, (c) => c.put("tmp105", tmp105.wasm, tmp105.manifest).then(() => undefined));
      await install(source, probe);
      await waitFor(async () => (await appLog(source, "probe")).includes("23.50 C"), () => `a reading on the source: ${source.lines.join("\n")}`);
      const r = await migrate({
        app: "probe",
        from: { connector: source.connector, label: source.url },
        to: { connector: target.connector, label: target.url },
        module: async () => probe,
        library: (name, range) => libraryFromRepository(repo.url, name, range),
      });
      // the target's store keys: one entry per major of a library (docs/linking.md)
      expect([...r.librariesSent].sort()).toEqual(["bme280@1", "tmp105@1"]);
      await waitFor(async () => (await appLog(target, "probe")).includes("23.50 C"), () => `a reading on the target: ${target.lines.join("\n")}`);
      // start() did not run again there: the driver was linked from the target's store at its first call.
      expect(await appLog(target, "probe")).not.toContain("found tmp105");
      expect((await withClient(target, (c) => c.list())).map((a) => a.name).sort()).toEqual(["bme280@1", "probe", "tmp105@1"]);
    } finally {
      await repo.close();
    }
  });
});
