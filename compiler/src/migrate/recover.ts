/**
 * Resuming an app from a snapshot file: the journal `liquid migrate` keeps while an app is
 * frozen (`$LIQUID_HOME/migrations/APP-TIME.lqsn`), for the case where neither the target nor
 * the source could take it back. `liquid migrate APP --snapshot FILE --to P` checks the file,
 * gives the device the module if it lacks it, checks the device can run the app, restores and
 * starts it. Nothing checks that the app does not run elsewhere: this is the manual way back.
 */
import { readFileSync } from "node:fs";
import { DeviceClient, type ClientOptions } from "../protocol/client.js";
import { DeviceError } from "../protocol/errors.js";
import type { Connector } from "../transport/transport.js";
import { MigrationError } from "./failure.js";
import type { ModuleCopy } from "./module-source.js";
import { needsOf, snapshotRoomProblem, targetProblems } from "./preflight.js";
import { readSnapshot, type SnapshotInfo } from "./snapshot-info.js";

export interface RecoverOptions {
  app: string;
  file: string;
  to: { connector: Connector; label: string };
  module?: (sha256: string) => Promise<ModuleCopy | undefined>;
  clientOptions?: ClientOptions;
}

export interface RecoverReport {
  app: string;
  file: string;
  to: { url: string; id: string; board: string };
  snapshotBytes: number;
  moduleBytesSent: number;
  timersPending: { periodic: boolean; periodMs: number; remainingMs: number }[];
}

const why = (err: unknown) => (err instanceof DeviceError ? err.detail || err.statusName : err instanceof Error ? err.message : String(err));

export async function resumeFromFile(options: RecoverOptions): Promise<RecoverReport> {
  const { app, file } = options;
  const fail = (message: string): never => {
    throw new MigrationError(message, "restore", "nowhere", file);
  };
  let data: Uint8Array;
  let info: SnapshotInfo;
  try {
    data = new Uint8Array(readFileSync(file));
  } catch (err) {
    return fail(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    info = readSnapshot(data);
  } catch (err) {
    return fail(`${file} is not a usable snapshot: ${why(err)}`);
  }
  let client: DeviceClient | undefined;
  try {
    try {
      client = await DeviceClient.open(options.to.connector, { timeoutMs: 3000, ...options.clientOptions });
    } catch (err) {
      return fail(`cannot reach ${options.to.label}: ${why(err)}`);
    }
    const [dev, apps] = [await client.info(), await client.list()];
    const held = apps.find((a) => a.name === app);
    if (held?.state === "running") fail(`'${app}' already runs on ${options.to.label}: stop it there first`);
    if (held && held.sha256 !== info.moduleSha256) {
      fail(`${options.to.label} holds a different module named '${app}' (sha256 ${held.sha256.slice(0, 12)}; the snapshot is of ${info.moduleSha256.slice(0, 12)}): remove it there first`);
    }
    let copy: ModuleCopy | undefined;
    if (!held || options.module) {
      try {
        copy = await options.module?.(info.moduleSha256);
      } catch (err) {
        if (!held) fail(`${options.to.label} does not hold '${app}' and its code could not be found: ${why(err)}`);
      }
      if (copy && copy.sha256 !== info.moduleSha256) fail(`the module given (${copy.origin}) is not the one the snapshot is of (sha256 ${info.moduleSha256.slice(0, 12)})`);
      if (!copy && !held) fail(`${options.to.label} does not hold '${app}' (sha256 ${info.moduleSha256.slice(0, 12)}): pass --module or --repo`);
    }
    const problems = targetProblems(needsOf(copy?.manifest, info.runtime, info.memoryPages, held ? 0 : copy!.wasm.length), dev);
    const room = snapshotRoomProblem(data.length, dev);
    if (room) problems.push(`it cannot hold the state: ${room}`);
    if (problems.length) fail(`${options.to.label} (${dev.board}) cannot run '${app}': ${problems.join("; ")}`);
    let moduleBytesSent = 0;
    if (!held) moduleBytesSent = (await client.put(app, copy!.wasm, copy!.manifestText)).bytesSent;
    await client.restore(app, data, { start: false, migrating: true });
    await client.start(app);
    return {
      app,
      file,
      to: { url: client.url, id: client.helloInfo?.deviceId ?? dev.id, board: dev.board },
      snapshotBytes: data.length,
      moduleBytesSent,
      timersPending: (info.runtime?.timers ?? []).map((t) => ({ periodic: t.periodic, periodMs: t.periodMs, remainingMs: t.remainingMs })),
    };
  } catch (err) {
    if (err instanceof MigrationError) throw err;
    throw new MigrationError(`resuming '${app}' from ${file} on ${options.to.label} failed: ${why(err)}`, "restore", "nowhere", file);
  } finally {
    await client?.close().catch(() => undefined);
  }
}
