/**
 * The checks of a migration, all before anything is frozen: both devices answer and are two
 * devices; the app runs on the source; the target does not run it nor hold another module
 * under its name; the module's code is at hand when the target lacks it (and is exactly the
 * running one); the target offers what the app needs. Any failure is a refusal: the app keeps
 * running on the source and neither device was changed (a probe snapshot without stop aside).
 */
import type { DeviceClient } from "../protocol/client.js";
import type { AppEntry, CapabilityDocument } from "../protocol/types.js";
import type { Connector } from "../transport/transport.js";
import { retryWhileBusy } from "./busy-retry.js";
import { localGlobals, type LocalGlobal } from "./device-local.js";
import { MigrationError, summary, why, type DeviceSummary } from "./failure.js";
import type { ModuleCopy } from "./module-source.js";
import { needsOf, targetProblems, type AppNeeds } from "./preflight.js";
import { readSnapshot, type SnapshotInfo } from "./snapshot-info.js";
import { satisfies } from "../../../hub/src/semver.js";

function safeSatisfies(version: string, range: string): boolean {
  try {
    return satisfies(version, range);
  } catch {
    return false;
  }
}

export interface DeviceSide {
  connector: Connector;
  /** How the user named it (--from/--to), for messages. */
  label: string;
}

export interface PlanOptions {
  app: string;
  from: DeviceSide;
  to: DeviceSide;
  module?: (sha256: string) => Promise<ModuleCopy | undefined>;
  /** A library NAME@RANGE the app links (docs/linking.md), for a target that lacks it. */
  library?: (name: string, range: string) => Promise<ModuleCopy | undefined>;
}

export interface MigrationPlan {
  from: DeviceSummary;
  to: DeviceSummary;
  targetInfo: CapabilityDocument;
  /** The app as the source lists it (running). */
  running: AppEntry;
  /** The app as the target lists it (stopped, same module), if it holds the module. */
  onTarget: AppEntry | undefined;
  /** The host's copy of the module, when it had one. */
  copy: ModuleCopy | undefined;
  needs: AppNeeds;
  /** Device-local globals, when the module was at hand to find them. */
  locals: LocalGlobal[] | undefined;
  /** Libraries the app links that the target lacks, with their code, to install first. */
  libraries: ModuleCopy[];
  /** A snapshot of the running app taken (without stop) to see what it holds, if one was. */
  probe: { bytes: Uint8Array; info: SnapshotInfo } | undefined;
  warnings: string[];
}

export async function planMigration(src: DeviceClient, dst: DeviceClient, options: PlanOptions): Promise<MigrationPlan> {
  const { app } = options;
  const warnings: string[] = [];
  const refuse = (message: string): never => {
    throw new MigrationError(message, "check", "source");
  };
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

  // The module's code: needed when the target lacks it, and its manifest is the best
  // description of what the app needs.
  let copy: ModuleCopy | undefined;
  try {
    copy = await options.module?.(running.sha256);
  } catch (err) {
    if (!onTarget) refuse(`the target does not hold '${app}' and its code could not be found: ${why(err)}`);
    warnings.push(`no manifest for the capability check: ${why(err)}`);
  }
  if (copy && copy.sha256 !== running.sha256) {
    refuse(
      `the module given for '${app}' (${copy.origin}, sha256 ${copy.sha256.slice(0, 12)}) is not the one running on the source (sha256 ${running.sha256.slice(0, 12)}): give the exact build that was deployed`,
    );
  }
  if (!copy && !onTarget) {
    refuse(
      `the target ${options.to.label} does not hold '${app}' (sha256 ${running.sha256.slice(0, 12)}) and this host has no copy of it: pass --module APP.wasm (or the app's source) or --repo URL of a module repository that has it`,
    );
  }

  // Without a manifest, a snapshot of the running app (not stopped) says which pins and buses
  // it holds and how big its memory is.
  let probe: MigrationPlan["probe"];
  if (!copy) {
    try {
      const bytes = await retryWhileBusy(() => src.snapshot(app, { stop: false }));
      probe = { bytes, info: readSnapshot(bytes) };
    } catch (err) {
      refuse(`could not inspect '${app}' on the source: ${why(err)}`);
    }
  }
  // Device-local globals (local_*) are found in the module now, not while the app is frozen.
  let locals: LocalGlobal[] | undefined;
  if (copy) {
    try {
      locals = localGlobals(copy.wasm);
    } catch (err) {
      refuse(`the module given for '${app}' (${copy.origin}) cannot be read: ${why(err)}`);
    }
  }
  const needs = needsOf(copy?.manifest, probe?.info.runtime, probe?.info.memoryPages, onTarget ? 0 : copy!.wasm.length);
  const problems = targetProblems(needs, dstInfo);
  if (problems.length) {
    refuse(`the target ${options.to.label} (${dstInfo.board}) cannot run '${app}': ${problems.join("; ")}. Nothing was frozen: '${app}' keeps running on the source`);
  }

  // Libraries the app links at run time must be on the target too: the device would ask the
  // host for a missing one (FETCH) at the first call, and no host relays after this command.
  const libraries: ModuleCopy[] = [];
  const linked = (copy?.manifest as { libraries?: { name: string; range: string }[] } | undefined)?.libraries ?? [];
  for (const lib of linked) {
    // A device stores each major of a library under its own key NAME@MAJOR (docs/linking.md);
    // a firmware from before that lists it as NAME.
    if (dstApps.some((a) => (a.name === lib.name || a.name.startsWith(`${lib.name}@`)) && safeSatisfies(a.version, lib.range))) continue;
    let found: ModuleCopy | undefined;
    try {
      found = await options.library?.(lib.name, lib.range);
    } catch (err) {
      refuse(`the target lacks library ${lib.name}@${lib.range}, which '${app}' links, and it could not be fetched: ${why(err)}`);
    }
    if (found) libraries.push(found);
    else {
      warnings.push(
        `the target lacks library ${lib.name}@${lib.range}: if '${app}' calls it there, the device asks its host for it (keep 'liquid relay --repo URL' attached, or pass --repo to migrate)`,
      );
    }
  }
  const libraryBytes = libraries.reduce((n, l) => n + l.wasm.length, 0);
  if (libraryBytes && dstInfo.store?.free !== undefined && needs.storeBytes + libraryBytes > dstInfo.store.free) {
    refuse(`the target's store has ${dstInfo.store.free} bytes free; '${app}' and the libraries it links need ${needs.storeBytes + libraryBytes}`);
  }
  return { from, to, targetInfo: dstInfo, running, onTarget, copy, needs, locals, libraries, probe, warnings };
}
