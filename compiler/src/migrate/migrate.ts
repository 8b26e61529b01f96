/**
 * Live migration of one app between two devices over the device protocol (docs/migration.md):
 *
 *   check   both devices answer; the app runs on the source; the target can run it (INFO)
 *   module  the target gets the module's code if it does not hold exactly this module
 *   freeze  SNAPSHOT with stop on the source (the app's last event has returned)
 *   verify  the snapshot is read whole (sha256), parsed, and is of the module the target holds
 *   restore RESTORE_* on the target, paused
 *   resume  START on the target: the app continues where it was frozen
 *   commit  the source forgets the app (or keeps it stopped: --keep)
 *
 * Everything that can be refused is refused before the freeze. After the freeze the snapshot
 * lives in the host's memory and in a journal file until the app runs again somewhere: if any
 * step on the target fails, the target is cleaned up and the snapshot is restored on the
 * source, so the app is never lost; it is started on the target only after the source stopped
 * it, and resumed on the source only when the target did not confirm START, so it never runs
 * on both.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DeviceClient, type ClientOptions } from "../protocol/client.js";
import { BodyWriter } from "../protocol/body.js";
import { Cmd, Status } from "../protocol/constants.js";
import { DeviceError } from "../protocol/errors.js";
import { retryWhileBusy } from "./busy-retry.js";
import { resetLocalGlobals } from "./device-local.js";
import { MigrationError, why, type DeviceSummary, type MigrationStep } from "./failure.js";
import type { ModuleCopy } from "./module-source.js";
import { planMigration, type DeviceSide } from "./plan.js";
import { snapshotRoomProblem } from "./preflight.js";
import { readSnapshot, SnapshotFormatError, type SnapshotInfo } from "./snapshot-info.js";
import { countingConnector, type WireCount } from "./wire-counter.js";

export { MigrationError, type DeviceSummary, type MigrationStep } from "./failure.js";
export type { DeviceSide } from "./plan.js";

export interface MigrateOptions {
  app: string;
  from: DeviceSide;
  to: DeviceSide;
  /** Leave the app installed (stopped, autostart off) on the source instead of removing it. */
  keep?: boolean;
  /**
   * The module's code when the target lacks it (and its manifest, for the capability check).
   * Called at most once, only when needed or useful; given the sha256 running on the source.
   */
  module?: (sha256: string) => Promise<ModuleCopy | undefined>;
  /** A library NAME@RANGE the app links, for a target that lacks it (e.g. from the repository). */
  library?: (name: string, range: string) => Promise<ModuleCopy | undefined>;
  /** Where the snapshot is kept while the app runs nowhere (default: no journal file). */
  journalDir?: string;
  clientOptions?: ClientOptions;
  /** Progress, one line per step. */
  onStep?: (step: MigrationStep, detail: string) => void;
}

export interface MigrationReport {
  app: string;
  version: string;
  sha256: string;
  from: DeviceSummary;
  to: DeviceSummary;
  /** Module bytes uploaded to the target (0 when it held the module), libraries included. */
  moduleBytesSent: number;
  /** Libraries the app links that were installed on the target first, by the target's store key (NAME@MAJOR). */
  librariesSent: string[];
  moduleOrigin?: string;
  snapshotBytes: number;
  memoryPages: number;
  memoryNonZeroBytes: number;
  timersPending: { periodic: boolean; periodMs: number; remainingMs: number }[];
  /** Events that were queued for the app at the freeze and travelled to be delivered on the target (LQRT format 2). */
  eventsCarried: number;
  pins: { name: string; level: number }[];
  buses: string[];
  /**
   * Device-local globals (exported as local_*) reset to their initial values on the target;
   * undefined when the host had no copy of the module to find them in.
   */
  deviceLocal?: string[];
  /** From sending SNAPSHOT to the answer of START on the target: the app ran nowhere. */
  downtimeMs: number;
  phasesMs: { freeze: number; restore: number; resume: number };
  /** Bytes on both links (frames included) between freeze and resume. */
  downtimeWireBytes: number;
  /** The same, per link: with the source, with the target. */
  downtimeWire: { source: number; target: number };
  /** Bytes on each link for the whole migration. */
  wire: { source: WireCount; target: WireCount };
  source: "removed" | "kept-stopped";
  autostart: boolean;
  warnings: string[];
}

/** What `checkMigration` (a dry run) found: the checks passed, the move could start. */
export interface MigrationCheck {
  app: string;
  from: DeviceSummary;
  to: DeviceSummary;
  /** Module bytes the move would upload first (0: the target holds the module). */
  moduleBytes: number;
  needs: { capabilities: string[]; pins: string[]; buses: string[]; memoryPages: number };
  deviceLocal: string[] | undefined;
}

/** Waits for a best-effort request at most `ms`; its outcome does not matter. */
async function bounded(request: Promise<unknown>, ms = 1500): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([request.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/**
 * Reads the snapshot a device holds without taking a new one: after a SNAPSHOT whose answer was
 * lost, the device froze the app and keeps its state for SNAPSHOT_READ. No sha256 came with it
 * (that was in the lost answer); frames are CRC-checked and the caller parses the result.
 */
async function readHeldSnapshot(client: DeviceClient, app: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let offset = 0;
  const step = client.maxPayload - 1;
  for (;;) {
    const part = await client.request(Cmd.SNAPSHOT_READ, new BodyWriter().str8(app).u32(offset).u16(step).done());
    if (part.length === 0) break;
    parts.push(part.slice());
    offset += part.length;
    if (part.length < step) break;
  }
  const out = new Uint8Array(offset);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Freezes the app (its on_migrate_out hook first), asking again while it answers EBUSY. */
function freeze(client: DeviceClient, app: string, onBusy: () => void): Promise<Uint8Array> {
  return retryWhileBusy(() => client.snapshot(app, { stop: true, migrating: true }), onBusy);
}

/**
 * Runs every check of a migration up to the freeze and stops: nothing is uploaded or frozen
 * (the snapshot-room probe, which needs the module on the target, is not run).
 */
export async function checkMigration(options: MigrateOptions): Promise<MigrationCheck> {
  return (await run(options, true)) as MigrationCheck;
}

export async function migrate(options: MigrateOptions): Promise<MigrationReport> {
  return (await run(options, false)) as MigrationReport;
}

async function run(options: MigrateOptions, dryRun: boolean): Promise<MigrationReport | MigrationCheck> {
  const { app } = options;
  const step = (s: MigrationStep, detail: string) => options.onStep?.(s, detail);
  const wire = { source: { sent: 0, received: 0 }, target: { sent: 0, received: 0 } };
  const clientOptions = { timeoutMs: 3000, ...options.clientOptions };
  const warnings: string[] = [];
  let source: DeviceClient | undefined;
  let target: DeviceClient | undefined;
  const refuse = (message: string, at: MigrationStep = "check"): never => {
    throw new MigrationError(message, at, "source");
  };
  /** Set at the freeze; before it, any failure leaves the app running on the source. */
  let frozen = false;

  try {
    // ---- check ----
    try {
      source = await DeviceClient.open(countingConnector(options.from.connector, wire.source), clientOptions);
    } catch (err) {
      refuse(`cannot reach the source ${options.from.label}: ${why(err)}`);
    }
    try {
      target = await DeviceClient.open(countingConnector(options.to.connector, wire.target), clientOptions);
    } catch (err) {
      refuse(`cannot reach the target ${options.to.label}: ${why(err)}; '${app}' keeps running on the source`);
    }
    const src = source!;
    const dst = target!;
    const plan = await planMigration(src, dst, options);
    const { from, to, running, onTarget, copy, needs, locals } = plan;
    warnings.push(...plan.warnings);
    const targetHasModule = onTarget !== undefined;
    const deviceLocal = locals?.map((l) => l.name);
    const probeBytes = plan.probe?.bytes;
    step("check", `${from.board} ${from.id} -> ${to.board} ${to.id}: target offers ${needs.capabilities.length ? needs.capabilities.join(", ") : "what the app holds"}${needs.pins.length ? `, pins ${needs.pins.join(", ")}` : ""}${needs.buses.length ? `, buses ${needs.buses.join(", ")}` : ""}`);
    if (dryRun) {
      const { capabilities, pins, buses, memoryPages } = needs;
      return { app, from, to, moduleBytes: targetHasModule ? 0 : copy!.wasm.length, needs: { capabilities, pins, buses, memoryPages }, deviceLocal };
    }

    // ---- module ----
    let installedModule = false;
    let moduleBytesSent = 0;
    if (!targetHasModule) {
      try {
        const put = await dst.put(app, copy!.wasm, copy!.manifestText);
        moduleBytesSent = put.bytesSent;
        installedModule = true;
      } catch (err) {
        refuse(`uploading '${app}' to the target failed: ${why(err)}. Nothing was frozen: '${app}' keeps running on the source`, "module");
      }
      step("module", `sent ${copy!.wasm.length} bytes of ${app} ${copy!.manifest.version} from ${copy!.origin}`);
    } else step("module", `target already holds ${app} ${onTarget!.version} (sha256 ${running.sha256.slice(0, 12)})`);
    const installedLibraries: string[] = [];
    for (const lib of plan.libraries) {
      try {
        const put = await dst.put(lib.manifest.name, lib.wasm, lib.manifestText);
        moduleBytesSent += put.bytesSent;
        // the device's key (NAME@MAJOR): a rollback removes this version only, not others of NAME
        installedLibraries.push(put.name);
      } catch (err) {
        for (const name of installedLibraries) await bounded(dst.remove(name));
        if (installedModule) await bounded(dst.remove(app));
        refuse(`installing library ${lib.manifest.name} ${lib.manifest.version} on the target failed: ${why(err)}. Nothing was frozen: '${app}' keeps running on the source`, "module");
      }
      step("module", `sent library ${lib.manifest.name} ${lib.manifest.version} (${lib.wasm.length} bytes) from ${lib.origin}`);
    }

    // Does the target have room for the snapshot? The size is that of a snapshot of the
    // running app (not stopped). A firmware says its buffer size in INFO (memory.snapshotMax);
    // for a target that does not, RESTORE_BEGIN refuses a size it cannot hold (ENOSPACE)
    // before taking any byte, and the session it opens is replaced by the real one. Any other
    // answer tells nothing and is ignored.
    let probedSize = probeBytes?.length;
    if (probedSize === undefined) {
      const r = await retryWhileBusy(() => src.request(Cmd.SNAPSHOT, new BodyWriter().str8(app).u8(0).done())).catch(() => undefined);
      if (r && r.length >= 4) probedSize = new DataView(r.buffer, r.byteOffset, r.byteLength).getUint32(0, true);
    }
    if (probedSize !== undefined) {
      let tooLarge = snapshotRoomProblem(probedSize, plan.targetInfo);
      if (tooLarge === null) {
        const room = await dst
          .request(Cmd.RESTORE_BEGIN, new BodyWriter().str8(app).u32(probedSize).bytes(new Uint8Array(32)).done())
          .then(() => undefined, (err: unknown) => err);
        tooLarge = room instanceof DeviceError && room.status === Status.ENOSPACE ? room.detail : undefined;
      }
      if (tooLarge) {
        if (installedModule) await bounded(dst.remove(app));
        for (const name of installedLibraries) await bounded(dst.remove(name));
        refuse(`the target ${options.to.label} cannot hold '${app}''s state: ${tooLarge}. Nothing was frozen: '${app}' keeps running on the source`);
      }
    }

    // A reboot of the source while the app is frozen must not start a second, fresh copy.
    if (running.autostart) {
      try {
        await src.autostart(app, false);
      } catch (err) {
        refuse(`could not turn autostart off on the source before freezing: ${why(err)}`);
      }
    }

    // ---- freeze: from here on the app runs nowhere until resume or rollback ----
    const sourceBytes = () => wire.source.sent + wire.source.received;
    const targetBytes = () => wire.target.sent + wire.target.received;
    frozen = true;
    const t0 = performance.now();
    const w0 = { source: sourceBytes(), target: targetBytes() };
    let snapshot: Uint8Array | undefined;
    let busyRetries = 0;
    try {
      snapshot = await freeze(src, app, () => busyRetries++);
    } catch (err) {
      // SNAPSHOT either failed (the app still runs) or its answer was lost: a resent SNAPSHOT
      // then finds the app stopped. Ask the source.
      const now = (await src.list().catch(() => undefined))?.find((a) => a.name === app);
      if (now?.state === "stopped" && !now.error) {
        // Frozen by our SNAPSHOT: the state is held there. (A held snapshot equal to the
        // probe above would be the probe's, not the freeze's: not used.)
        const held = await readHeldSnapshot(src, app).catch(() => undefined);
        if (held && held.length > 0 && !(probeBytes && Buffer.from(held).equals(Buffer.from(probeBytes)))) {
          snapshot = held;
          warnings.push(`the answer to SNAPSHOT was lost (${why(err)}); the snapshot the source held was read instead`);
        }
      }
      if (!snapshot) {
        if (running.autostart) await src.autostart(app, true).catch(() => undefined);
        // Nothing moves: what this migration installed on the target goes again.
        if (installedModule) await bounded(dst.remove(app));
        for (const name of installedLibraries) await bounded(dst.remove(name));
        if (now?.state === "running") throw new MigrationError(`freezing '${app}' on the source failed: ${why(err)}; it keeps running there`, "freeze", "source");
        if (now?.state === "trapped") {
          // e.g. its on_migrate_out hook trapped: the app's own error says more than SNAPSHOT's
          throw new MigrationError(
            `freezing '${app}' on the source failed: it trapped there (${now.error ?? "no error given"}); nothing was moved: fix the app and start it again with 'liquid start ${app} --port ${options.from.label}'`,
            "freeze",
            "nowhere",
          );
        }
        const state = now?.state;
        throw new MigrationError(
          `freezing '${app}' on the source failed: ${why(err)}; the source reports it ${state ?? "unreachable"}: check it with 'liquid ps --port ${options.from.label}'`,
          "freeze",
          "nowhere",
        );
      }
    }
    const tFrozen = performance.now();
    if (busyRetries) warnings.push(`the app was inside an event ${busyRetries} time(s) when asked to freeze; frozen right after it returned`);
    let journal: string | undefined;
    if (options.journalDir) {
      // A journal that cannot be written (disk full, no permission) is a warning: the snapshot
      // is still in this process, and the move goes on.
      const path = join(options.journalDir, `${app}-${new Date().toISOString().replace(/[:.]/g, "-")}.lqsn`);
      try {
        mkdirSync(options.journalDir, { recursive: true });
        writeFileSync(path, snapshot);
        journal = path;
      } catch (err) {
        warnings.push(`could not keep the snapshot in ${path}: ${why(err)}`);
      }
    }
    step("freeze", `snapshot of ${snapshot.length} bytes${journal ? ` (kept in ${journal} until the app runs again)` : ""}`);

    let tRestored = tFrozen;
    let tResumed = tFrozen;
    let info: SnapshotInfo;
    const rollback = async (at: MigrationStep, reason: string): Promise<never> => {
      step("rollback", `${at} failed: ${reason}`);
      // The target must not keep a paused copy (a later START would resume it) or a module it
      // did not have before.
      // A dead target must not hold up the resume on the source: each try gets a short bound.
      await bounded(dst.stop(app));
      if (installedModule) await bounded(dst.remove(app));
      for (const name of installedLibraries) await bounded(dst.remove(name));
      try {
        await src.restore(app, snapshot, { start: true, migrating: true });
      } catch (err) {
        throw new MigrationError(
          `migration of '${app}' failed at ${at}: ${reason}; resuming it on the source failed too: ${why(err)}. ${
            journal
              ? `Its state is saved in ${journal}: resume it with 'liquid migrate ${app} --snapshot ${journal} --to DEVICE'`
              : "Its state was only in this process and is lost"
          }`,
          at,
          "nowhere",
          journal,
        );
      }
      if (running.autostart) await src.autostart(app, true).catch(() => undefined);
      if (journal) rmSync(journal, { force: true });
      throw new MigrationError(`migration of '${app}' failed at ${at}: ${reason}. '${app}' resumed on the source with its state`, at, "source");
    };

    // ---- verify ----
    try {
      info = readSnapshot(snapshot);
      if (info.moduleSha256 !== running.sha256) {
        throw new SnapshotFormatError(`it is of module ${info.moduleSha256.slice(0, 12)}, not of the running ${running.sha256.slice(0, 12)}`);
      }
      if (!info.runtime) throw new SnapshotFormatError("it has no runtime section (LQRT)");
    } catch (err) {
      return await rollback("verify", `the snapshot is damaged: ${why(err)}`);
    }
    step(
      "verify",
      `module ${info.moduleSha256.slice(0, 12)}, ${info.memoryPages} page(s) with ${info.memoryNonZero} non-zero bytes, ${info.runtime!.timers.length} timer(s), ${info.runtime!.pins.length} pin(s), ${info.runtime!.buses.length} bus(es), ${info.runtime!.events.length} queued event(s)`,
    );

    // Device-local data stays behind: the target gets those globals at their initial values.
    let forTarget = snapshot;
    if (locals?.length) {
      try {
        forTarget = resetLocalGlobals(snapshot, locals);
      } catch (err) {
        return await rollback("verify", `the device-local globals could not be reset: ${why(err)}`);
      }
      step("verify", `device-local, reset on the target: ${deviceLocal!.join(", ")}`);
    }

    // ---- restore + resume ----
    try {
      await dst.restore(app, forTarget, { start: false, migrating: true });
      tRestored = performance.now();
    } catch (err) {
      return await rollback("restore", `the target refused or lost the snapshot: ${why(err)}`);
    }
    step("restore", `restored on the target, paused`);
    try {
      await dst.start(app);
      tResumed = performance.now();
    } catch (err) {
      // The answer may be what was lost: the target is the judge of whether START happened.
      const listed = await dst.list().catch(() => undefined);
      const state = listed?.find((a) => a.name === app);
      if (state?.state === "running" && state.sha256 === running.sha256) tResumed = performance.now();
      else if (listed) return await rollback("resume", `the target did not start it: ${why(err)}`);
      else {
        // No answer at all: a dead target (the usual case) lost the restored app with its RAM;
        // a live one behind a broken link may have started it. Say so: only a person can check.
        return await rollback(
          "resume",
          `the target stopped answering after START was sent (${why(err)}); if it is alive behind a broken link it may run '${app}' too: check it with 'liquid ps --port ${options.to.label}' once it is reachable and stop one of them`,
        );
      }
    }
    const downtimeWire = { source: sourceBytes() - w0.source, target: targetBytes() - w0.target };
    const downtimeMs = tResumed - t0;
    if (journal) rmSync(journal, { force: true });
    step("resume", `running on the target; downtime ${downtimeMs.toFixed(1)} ms`);

    // ---- commit ----
    let autostart = running.autostart;
    if (running.autostart) {
      await dst.autostart(app, true).catch((err) => {
        autostart = false;
        warnings.push(`could not turn autostart on at the target: ${why(err)}`);
      });
    }
    let sourceState: MigrationReport["source"] = "kept-stopped";
    if (!options.keep) {
      try {
        await src.remove(app);
        sourceState = "removed";
      } catch (err) {
        warnings.push(`'${app}' runs on the target but could not be removed from the source (it is stopped there): ${why(err)}`);
      }
    }
    step("commit", sourceState === "removed" ? "removed from the source" : "kept on the source, stopped, autostart off");
    const rt = info.runtime!;
    return {
      app,
      version: running.version,
      sha256: running.sha256,
      from,
      to,
      moduleBytesSent,
      librariesSent: installedLibraries,
      ...(installedModule ? { moduleOrigin: copy!.origin } : {}),
      snapshotBytes: snapshot.length,
      memoryPages: info.memoryPages,
      memoryNonZeroBytes: info.memoryNonZero,
      timersPending: rt.timers.map((t) => ({ periodic: t.periodic, periodMs: t.periodMs, remainingMs: t.remainingMs })),
      eventsCarried: rt.events.length,
      pins: rt.pins.map((p) => ({ name: p.name, level: p.level })),
      buses: rt.buses,
      ...(deviceLocal ? { deviceLocal } : {}),
      downtimeMs,
      phasesMs: { freeze: tFrozen - t0, restore: tRestored - tFrozen, resume: tResumed - tRestored },
      downtimeWireBytes: downtimeWire.source + downtimeWire.target,
      downtimeWire,
      wire,
      source: sourceState,
      autostart,
      warnings,
    };
  } catch (err) {
    if (err instanceof MigrationError || frozen) throw err;
    // A device that answered something unexpected during the checks (an error status, no
    // answer, a dropped link): nothing was frozen.
    throw new MigrationError(`checking before the move failed: ${why(err)}. Nothing was frozen: '${app}' keeps running on the source`, "check", "source");
  } finally {
    await source?.close().catch(() => undefined);
    await target?.close().catch(() => undefined);
  }
}
