import { join } from "node:path";
import { flag, opt, parseArgs, UsageError } from "../args.js";
import { CliError, type Command } from "../command.js";
import { checkMigration, migrate, MigrationError, type MigrationReport } from "../migrate/migrate.js";
import { resumeFromFile } from "../migrate/recover.js";
import { libraryFromRepository, moduleFromPath, moduleFromRepository, type ModuleCopy } from "../migrate/module-source.js";
import { bytes } from "../protocol/format.js";
import { stateDir } from "../transport/registry.js";
import { connectorFor } from "../transport/select.js";
import { parseBaud } from "../transport/serial.js";
import { explain } from "../transport/cli-device.js";
import { TransportError } from "../transport/transport.js";

function describe(r: MigrationReport): string[] {
  const lines = [
    `migrated ${r.app} ${r.version} from ${r.from.board} ${r.from.id} to ${r.to.board} ${r.to.id} in ${r.downtimeMs.toFixed(1)} ms of downtime`,
    `  snapshot   ${bytes(r.snapshotBytes)} (${r.memoryPages} page(s) of memory, ${r.memoryNonZeroBytes} bytes non-zero)`,
  ];
  if (r.timersPending.length) {
    lines.push(`  timers     ${r.timersPending.map((t) => `${t.periodic ? `every ${t.periodMs} ms` : "once"}, next in ${t.remainingMs} ms`).join("; ")}`);
  }
  if (r.pins.length || r.buses.length) lines.push(`  re-bound   ${[...r.pins.map((p) => `${p.name}=${p.level}`), ...r.buses].join(", ")}`);
  lines.push(`  module     ${r.moduleOrigin ? `sent from ${r.moduleOrigin}` : "already on the target"}${r.librariesSent.length ? `; libraries sent: ${r.librariesSent.join(", ")}` : ""}${r.moduleBytesSent ? ` (${bytes(r.moduleBytesSent)})` : ""}`);
  if (r.deviceLocal?.length) lines.push(`  local      ${r.deviceLocal.join(", ")} reset on the target (device-local)`);
  lines.push(
    `  wire       ${bytes(r.downtimeWireBytes)} while frozen; ${bytes(r.wire.source.sent + r.wire.source.received)} with the source, ${bytes(r.wire.target.sent + r.wire.target.received)} with the target in all`,
  );
  lines.push(`  source     ${r.source === "removed" ? "app removed" : "app kept, stopped, autostart off (--keep)"}`);
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return lines;
}

export const migrateCommand: Command = {
  name: "migrate",
  summary: "move a running app with its state from one device to another",
  usage: `usage: liquid migrate APP --from P1 --to P2 [--keep] [--module PATH] [--repo URL] [--dry-run] [--json]
       liquid migrate APP --snapshot FILE --to P [--module PATH] [--repo URL] [--json]

Freezes APP on the device P1 between two events, moves its state (memory, globals, timers
with the time they had left, pins with their levels, buses, subscriptions) to the device
P2 and resumes it there, then removes it from P1. Anything that would make P2 refuse the
app (a missing capability, pin or bus, too little memory, store or snapshot room) is found
before the app is frozen. If P2 fails at any later step, the app resumes on P1 with its
state. Globals the app exports as local_* are device-local: P2 gets their initial values.

  --from P       the device the app runs on (tcp://HOST:PORT or a serial port)
  --to P         the device to move it to
  --keep         leave the app installed on P1, stopped and with autostart off, instead
                 of removing it (its module stays; 'liquid start APP' there starts afresh)
  --module PATH  the app's code, for a target that does not hold it: the built APP.wasm
                 (manifest beside it) or the app's source folder; also used to check
                 capabilities before freezing
  --repo URL     a module repository ('liquid repo serve') to fetch the code from by its
                 sha256, and the libraries the app links that P2 lacks (default $LIQUID_REPO)
  --dry-run      only check that the move can start (devices, app, module, capabilities);
                 nothing is uploaded or frozen
  --snapshot F   resume APP on P from a snapshot file instead: the copy a failed
                 migration keeps in $LIQUID_HOME/migrations/ (nothing checks that the app
                 does not run elsewhere)
  --baud N       serial baud rate for serial ports (default 115200)
  --json         print the migration report as one JSON object`,
  async run(argv) {
    const args = parseArgs(argv, [
      { name: "from", value: true },
      { name: "to", value: true },
      { name: "keep", value: false },
      { name: "module", value: true },
      { name: "repo", value: true },
      { name: "baud", value: true },
      { name: "json", value: false },
      { name: "snapshot", value: true },
      { name: "dry-run", value: false },
    ]);
    if (args.positionals.length !== 1) throw new UsageError(args.positionals.length ? "give exactly one app name" : "which app? give its NAME ('liquid ps --port P' lists them)");
    const app = args.positionals[0]!;
    const fromSpec = opt(args, "from");
    const toSpec = opt(args, "to");
    const snapshotFile = opt(args, "snapshot");
    if (snapshotFile !== undefined) {
      if (fromSpec) throw new UsageError("--snapshot resumes from a file: give --to, not --from");
      if (!toSpec) throw new UsageError("say where to resume it: --snapshot FILE --to P");
      if (flag(args, "keep") || flag(args, "dry-run")) throw new UsageError("--keep and --dry-run have no meaning with --snapshot");
    } else {
      if (!fromSpec || !toSpec) throw new UsageError("say where the app runs and where it goes: --from P1 --to P2");
      if (fromSpec === toSpec) throw new UsageError("--from and --to name the same device");
    }
    const json = flag(args, "json");
    const baudText = opt(args, "baud");
    let serial = {};
    if (baudText !== undefined) {
      try {
        serial = { baud: parseBaud(baudText) };
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
    }
    const modulePath = opt(args, "module");
    const repo = opt(args, "repo") ?? process.env.LIQUID_REPO;
    const module = async (sha256: string): Promise<ModuleCopy | undefined> => {
      if (modulePath) return moduleFromPath(modulePath);
      if (repo) return moduleFromRepository(repo, sha256);
      return undefined;
    };
    const library = repo ? (name: string, range: string) => libraryFromRepository(repo, name, range) : undefined;
    let from, to;
    try {
      to = connectorFor(toSpec!, serial);
      from = fromSpec ? connectorFor(fromSpec, serial) : to;
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    try {
      if (snapshotFile !== undefined) {
        const r = await resumeFromFile({ app, file: snapshotFile, to: { connector: to, label: toSpec! }, module });
        if (json) console.log(JSON.stringify(r));
        else {
          console.log(`resumed ${app} from ${snapshotFile} on ${r.to.board} ${r.to.id}${r.moduleBytesSent ? ` (module sent, ${bytes(r.moduleBytesSent)})` : ""}`);
          console.log(`  the file is no longer needed: delete it, or it can resume the same state again`);
        }
        return 0;
      }
      if (flag(args, "dry-run")) {
        const r = await checkMigration({
          app,
          from: { connector: from, label: fromSpec! },
          to: { connector: to, label: toSpec! },
          module,
          ...(library ? { library } : {}),
          onStep: json ? undefined : (step, detail) => console.error(`  ${step.padEnd(9)} ${detail}`),
        });
        if (json) console.log(JSON.stringify({ ...r, dryRun: true }));
        else {
          const what = r.moduleBytes ? `the module (${bytes(r.moduleBytes)}) would be sent first` : "the target holds the module";
          console.log(`${app} can move from ${r.from.board} ${r.from.id} to ${r.to.board} ${r.to.id}: ${what}; nothing was changed (--dry-run)`);
        }
        return 0;
      }
      const report = await migrate({
        app,
        from: { connector: from, label: fromSpec! },
        to: { connector: to, label: toSpec! },
        keep: flag(args, "keep"),
        module,
        ...(library ? { library } : {}),
        journalDir: join(stateDir(), "migrations"),
        onStep: json ? undefined : (step, detail) => console.error(`  ${step.padEnd(9)} ${detail}`),
      });
      if (json) console.log(JSON.stringify(report));
      else for (const line of describe(report)) console.log(line);
      return 0;
    } catch (err) {
      if (err instanceof MigrationError) {
        if (json) console.log(JSON.stringify({ app, ok: false, step: err.step, appIs: err.appIs, error: err.message, ...(err.journal ? { journal: err.journal } : {}) }));
        throw new CliError(err.message);
      }
      if (err instanceof TransportError) throw new CliError(err.message);
      return explain(err);
    }
  },
};
