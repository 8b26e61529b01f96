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
import type { AppEntry, AppManifest, CapabilityDocument, HelloInfo } from "../protocol/types.js";
import type { Connector } from "../transport/transport.js";
import { localGlobals, resetLocalGlobals } from "./device-local.js";
import type { ModuleCopy } from "./module-source.js";
import { needsOf, targetProblems } from "./preflight.js";
import { readSnapshot, SnapshotFormatError, type SnapshotInfo } from "./snapshot-info.js";
import { countingConnector, type WireCount } from "./wire-counter.js";

export type MigrationStep = "check" | "module" | "freeze" | "verify" | "restore" | "resume" | "commit" | "rollback";

export interface DeviceSide {
  connector: Connector;
  /** How the user named it (--from/--to), for messages. */
  label: string;
}

export interface MigrateOptions {
  app: string;
  from: DeviceSide;
  to: DeviceSide;
  /** Leave the app installed (stopped, autostart off) on the source instead of removing it. */
  keep?: boolean;
  /** Only check: everything up to the freeze is verified, nothing is uploaded or frozen. */
  dryRun?: boolean;
  /**
   * The module's code when the target lacks it (and its manifest, for the capability check).
   * Called at most once, only when needed or useful; given the sha256 running on the source.
   */
  module?: (sha256: string) => Promise<ModuleCopy | undefined>;
  /** Where the snapshot is kept while the app runs nowhere (default: no journal file). */
  journalDir?: string;
  clientOptions?: ClientOptions;
  /** Progress, one line per step. */
  onStep?: (step: MigrationStep, detail: string) => void;
}

export interface DeviceSummary {
  url: string;
  id: string;
  board: string;
  arch: string;
}

export interface MigrationReport {
  app: string;
  version: string;
  sha256: string;
  from: DeviceSummary;
  to: DeviceSummary;
  /** Module bytes uploaded to the target (0 when it held the module). */
  moduleBytesSent: number;
  moduleOrigin?: string;
  snapshotBytes: number;
  memoryPages: number;
  memoryNonZeroBytes: number;
  timersPending: { periodic: boolean; periodMs: number; remainingMs: number }[];
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

/** What a dry run found: the migration would be attempted (the checks passed). */
export class DryRunResult {
  constructor(
    readonly app: string,
    readonly from: DeviceSummary,
    readonly to: DeviceSummary,
    /** Module bytes the real run would upload first (0: the target holds the module). */
    readonly moduleBytes: number,
    readonly needs: { capabilities: string[]; pins: string[]; buses: string[]; memoryPages: number },
    readonly deviceLocal: string[] | undefined,
  ) {}
}

export class MigrationError extends Error {
  constructor(
    message: string,
    readonly step: MigrationStep,
    /** Where the app runs now: "source" (never stopped, or resumed) or "nowhere" (see journal). */
    readonly appIs: "source" | "nowhere",
    readonly journal?: string,
  ) {
    super(message);
  }
}

const why = (err: unknown) => (err instanceof DeviceError ? err.detail || err.statusName : err instanceof Error ? err.message : String(err));

function summary(hello: HelloInfo | undefined, info: CapabilityDocument | undefined, url: string): DeviceSummary {
  return { url, id: hello?.deviceId ?? info?.id ?? "?", board: info?.board ?? "?", arch: info?.arch ?? "?" };
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

/**
 * Freezes the app, retrying while it is inside an event (EBUSY: a fuel-sliced call in
 * progress). A call cannot last longer than the runtime's call budget (2 s, then it is
 * aborted), so retrying for a little longer than that always finds a point between events.
 */
async function freeze(client: DeviceClient, app: string, onBusy: () => void): Promise<Uint8Array> {
  const deadline = performance.now() + 2500;
  for (;;) {
    try {
      return await client.snapshot(app, { stop: true });
    } catch (err) {
      if (err instanceof DeviceError && err.status === Status.EBUSY && performance.now() < deadline) {
        onBusy();
        await new Promise((r) => setTimeout(r, 2));
        continue;
      }
      throw err;
    }
  }
}

/** Runs every check of a migration without moving anything (see MigrateOptions.dryRun). */
export async function checkMigration(options: Omit<MigrateOptions, "dryRun">): Promise<DryRunResult> {
  try {
    await migrate({ ...options, dryRun: true });
  } catch (result) {
    if (result instanceof DryRunResult) return result;
    throw result;
  }
  throw new Error("unreachable: a dry run always stops before the freeze");
}

export async function migrate(options: MigrateOptions): Promise<MigrationReport> {
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
    if (src.helloInfo?.deviceId && src.helloInfo.deviceId === dst.helloInfo?.deviceId) {
      refuse(`--from and --to are the same device (${src.helloInfo.deviceId}): nothing to migrate`);
    }
    const [srcInfo, srcApps, dstInfo, dstApps] = [await src.info(), await src.list(), await dst.info(), await dst.list()];
    const from = summary(src.helloInfo, srcInfo, src.url);
    const to = summary(dst.helloInfo, dstInfo, dst.url);
    const entry = srcApps.find((a) => a.name === app);
    if (!entry) refuse(`no app named '${app}' on the source ${options.from.label} ('liquid ps --port ${options.from.label}' lists its apps)`);
    const running: AppEntry = entry!;
    if (running.state !== "running") {
      refuse(`'${app}' is ${running.state} on the source, not running: only a running app migrates live (start it, or deploy it to the target)`);
    }
    const onTarget = dstApps.find((a) => a.name === app);
    if (onTarget && onTarget.state === "running") refuse(`an app named '${app}' already runs on the target ${options.to.label}: stop or remove it there first`);
    if (onTarget && onTarget.sha256 !== running.sha256) {
      refuse(
        `the target holds a different module named '${app}' (version ${onTarget.version}, sha256 ${onTarget.sha256.slice(0, 12)}; the source runs ${running.version}, ${running.sha256.slice(0, 12)}): remove it there first ('liquid rm ${app}')`,
      );
    }
    const targetHasModule = onTarget !== undefined;

    // The module's code: needed when the target lacks it, and its manifest is the best
    // description of what the app needs.
    let copy: ModuleCopy | undefined;
    try {
      copy = await options.module?.(running.sha256);
    } catch (err) {
      if (!targetHasModule) refuse(`the target does not hold '${app}' and its code could not be found: ${why(err)}`);
      warnings.push(`no manifest for the capability check: ${why(err)}`);
    }
    if (copy && copy.sha256 !== running.sha256) {
      refuse(
        `the module given for '${app}' (${copy.origin}, sha256 ${copy.sha256.slice(0, 12)}) is not the one running on the source (sha256 ${running.sha256.slice(0, 12)}): give the exact build that was deployed`,
      );
    }
    if (!copy && !targetHasModule) {
      refuse(
        `the target ${options.to.label} does not hold '${app}' (sha256 ${running.sha256.slice(0, 12)}) and this host has no copy of it: pass --module APP.wasm (or the app's source) or --repo URL of a module repository that has it`,
      );
    }
    const manifest: AppManifest | undefined = copy?.manifest;
    // Without a manifest, a snapshot of the running app (not stopped) says which pins and buses
    // it holds and how big its memory is.
    let probe: SnapshotInfo | undefined;
    let probeBytes: Uint8Array | undefined;
    if (!manifest) {
      try {
        probeBytes = await src.snapshot(app, { stop: false });
        probe = readSnapshot(probeBytes);
      } catch (err) {
        refuse(`could not inspect '${app}' on the source: ${why(err)}`);
      }
    }
    // Device-local globals (local_*) are found in the module now, not while the app is frozen.
    let locals: ReturnType<typeof localGlobals> | undefined;
    if (copy) {
      try {
        locals = localGlobals(copy.wasm);
      } catch (err) {
        refuse(`the module given for '${app}' (${copy.origin}) cannot be read: ${why(err)}`);
      }
    }
    const deviceLocal = locals?.map((l) => l.name);
    const needs = needsOf(manifest, probe?.runtime, probe?.memoryPages, targetHasModule ? 0 : copy!.wasm.length);
    const problems = targetProblems(needs, dstInfo);
    if (problems.length) {
      refuse(`the target ${options.to.label} (${dstInfo.board}) cannot run '${app}': ${problems.join("; ")}. Nothing was frozen: '${app}' keeps running on the source`);
    }
    step("check", `${from.board} ${from.id} -> ${to.board} ${to.id}: target offers ${needs.capabilities.length ? needs.capabilities.join(", ") : "what the app holds"}${needs.pins.length ? `, pins ${needs.pins.join(", ")}` : ""}${needs.buses.length ? `, buses ${needs.buses.join(", ")}` : ""}`);

    if (options.dryRun) {
      const { capabilities, pins, buses, memoryPages } = needs;
      throw new DryRunResult(app, from, to, targetHasModule ? 0 : copy!.wasm.length, { capabilities, pins, buses, memoryPages }, deviceLocal);
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

    // Does the target have room for the snapshot? Its buffer size is not in INFO, but
    // RESTORE_BEGIN refuses a size it cannot hold (ENOSPACE) before taking any byte. The size
    // is that of a snapshot of the running app (not stopped); the session this opens is
    // replaced by the real one. Any other answer tells nothing and is ignored.
    let probedSize = probeBytes?.length;
    if (probedSize === undefined) {
      const r = await src.request(Cmd.SNAPSHOT, new BodyWriter().str8(app).u8(0).done()).catch(() => undefined);
      if (r && r.length >= 4) probedSize = new DataView(r.buffer, r.byteOffset, r.byteLength).getUint32(0, true);
    }
    if (probedSize !== undefined) {
      const room = await dst
        .request(Cmd.RESTORE_BEGIN, new BodyWriter().str8(app).u32(probedSize).bytes(new Uint8Array(32)).done())
        .then(() => undefined, (err: unknown) => err);
      if (room instanceof DeviceError && room.status === Status.ENOSPACE) {
        if (installedModule) await bounded(dst.remove(app));
        refuse(`the target ${options.to.label} cannot hold '${app}''s state: ${room.detail}. Nothing was frozen: '${app}' keeps running on the source`);
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
        if (now?.state === "running") throw new MigrationError(`freezing '${app}' on the source failed: ${why(err)}; it keeps running there`, "freeze", "source");
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
      try {
        await src.restore(app, snapshot, { start: true });
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
      `module ${info.moduleSha256.slice(0, 12)}, ${info.memoryPages} page(s) with ${info.memoryNonZero} non-zero bytes, ${info.runtime!.timers.length} timer(s), ${info.runtime!.pins.length} pin(s), ${info.runtime!.buses.length} bus(es)`,
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
      await dst.restore(app, forTarget, { start: false });
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
      ...(installedModule ? { moduleOrigin: copy!.origin } : {}),
      snapshotBytes: snapshot.length,
      memoryPages: info.memoryPages,
      memoryNonZeroBytes: info.memoryNonZero,
      timersPending: rt.timers.map((t) => ({ periodic: t.periodic, periodMs: t.periodMs, remainingMs: t.remainingMs })),
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
    if (err instanceof MigrationError || err instanceof DryRunResult || frozen) throw err;
    // A device that answered something unexpected during the checks (an error status, no
    // answer, a dropped link): nothing was frozen.
    throw new MigrationError(`checking before the move failed: ${why(err)}. Nothing was frozen: '${app}' keeps running on the source`, "check", "source");
  } finally {
    await source?.close().catch(() => undefined);
    await target?.close().catch(() => undefined);
  }
}
