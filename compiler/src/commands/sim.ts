import { readFileSync } from "node:fs";
import { UsageError, flag, opt, opts, parseArgs } from "../args.js";
import { CliError, type Command } from "../command.js";
import {
  AppLoadError,
  BoardError,
  type SimEvent,
  SettingError,
  Simulation,
  SimulationError,
  appNameFromPath,
  formatEventHuman,
  formatEventJson,
  loadBoard,
  loadScenario,
  parseDuration,
  parseSetting,
  readManifestBeside,
  ScenarioError,
  type SimBoard,
} from "../../../host-sim/src/index.js";
import { LinkError, fetchLibraries, parseLibraryRef } from "../../../host-sim/src/linking/index.js";
import { libraryImportsOf } from "../../../host-sim/src/linking/module-imports.js";

const DEFAULT_BOARD = "sim-devkit";
const DEFAULT_LIMIT_MS = 10_000;

const usage = `usage: liquid sim APP.wasm... [options]

Runs apps on a simulated board (boards/NAME.json) in virtual time and prints what happens:
LED changes, logs, traps. Each APP.wasm is checked against APP.manifest.json beside it.

options:
  --board B          board name (boards/B.json) or path to a board JSON file (default ${DEFAULT_BOARD})
  --for DURATION     virtual time to run, e.g. 5s, 1500ms, 2m (default: until no events
                     remain, at most ${DEFAULT_LIMIT_MS / 1000} s)
  --realtime         pace the simulation by the wall clock instead of running it as fast as possible
  --set NAME=VALUE   set an input at t = 0 (repeatable): BUTTON0=1 (1 = pressed),
                     I2C0.tmp105.temperature=26.5, I2C0.bme280.pressure=99000 (Pa)
  --scenario FILE    JSON list of changes over time: {"t": 1500, "set": "BUTTON0", "value": 1},
                     {"t": "2s", "press": "BUTTON0", "for": "200ms"} (see docs/simulator.md)
  --json             one JSON object per event and line (t, type, ...)
  --trace            also print I2C transactions and published messages (human output)
  --seed N           seed of random.u32/random.fill (default 1)
  --budget N         watchdog budget of one entry-point call, in steps (default 1000000)
  --stats            print the speed (virtual seconds per real second) on stderr
  --fail-on-trap     exit with status 3 when an app trapped (default: 0, traps are printed)
  --lib FILE.wasm    put a library (built with liquid build --library, manifest beside it) in
                     the board's store; apps importing "NAME@RANGE" link it at the first call
                     (repeatable; docs/linking.md)
  --repo URL         fetch the libraries the apps import from a module repository
                     (liquid repo serve) before the run, verifying each module's hash

exit status: 0 when the simulation ran (even if apps trapped), 1 when it could not run (bad
board, module, manifest, scenario), 2 on usage errors, 3 with --fail-on-trap after a trap.`;

/** Set when stdout's reader went away (`liquid sim ... | head`): stop printing, end quietly. */
let stdoutClosed = false;
let stdoutGuarded = false;
const closeHandlers = new Set<() => void>();

function guardStdout(onClose: () => void): void {
  closeHandlers.add(onClose);
  if (stdoutGuarded) return;
  stdoutGuarded = true;
  // Kept for the life of the process: the error can arrive after the run that caused it.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") throw err;
    stdoutClosed = true;
    for (const handler of closeHandlers) handler();
  });
}

function positiveInt(text: string, what: string, max = 0xffffffff): number {
  if (!/^\d+$/.test(text) || Number(text) > max) throw new UsageError(`${what} must be a whole number between 0 and ${max}, not '${text}'`);
  return Number(text);
}

/** Puts --lib files and the libraries the apps import from --repo into the board's store. */
async function stockLibraries(board: SimBoard, files: string[], repo: string | undefined): Promise<void> {
  try {
    for (const path of files) {
      let wasm: Uint8Array;
      try {
        wasm = readFileSync(path);
      } catch {
        throw new CliError(`cannot read library ${path}`);
      }
      const manifest = readManifestBeside(path);
      if (!manifest) throw new CliError(`library ${path} has no manifest beside it; build it with liquid build --library`);
      board.libraries.add(wasm, manifest);
    }
    if (repo !== undefined) {
      const refs = [...board.apps.values()].flatMap((app) => libraryImportsOf(app.wasm).map((i) => parseLibraryRef(i.module)!));
      await fetchLibraries(repo, refs, board.libraries);
    }
  } catch (err) {
    if (err instanceof LinkError) throw new CliError(err.message);
    throw err;
  }
}

export const sim: Command = {
  name: "sim",
  summary: "run apps on a simulated board (virtual LEDs, buttons, I2C sensors)",
  usage,
  async run(argv) {
    const args = parseArgs(argv, [
      { name: "board", value: true },
      { name: "for", value: true },
      { name: "realtime", value: false },
      { name: "set", value: true, repeat: true },
      { name: "scenario", value: true },
      { name: "json", value: false },
      { name: "trace", value: false },
      { name: "seed", value: true },
      { name: "budget", value: true },
      { name: "stats", value: false },
      { name: "fail-on-trap", value: false },
      { name: "lib", value: true, repeat: true },
      { name: "repo", value: true },
    ]);
    if (args.positionals.length === 0) throw new UsageError("give at least one APP.wasm");
    let duration: number | undefined;
    const forText = opt(args, "for");
    if (forText !== undefined) {
      try {
        duration = parseDuration(forText);
      } catch (err) {
        throw new UsageError(`--for: ${(err as Error).message}`);
      }
    }
    const seed = opt(args, "seed") !== undefined ? positiveInt(opt(args, "seed")!, "--seed") : 1;
    const budgetText = opt(args, "budget");
    const budget = budgetText !== undefined ? positiveInt(budgetText, "--budget", 0x7fffffff) : undefined;
    if (budget === 0) throw new UsageError("--budget must be at least 1");
    const json = flag(args, "json");

    try {
      const def = loadBoard(opt(args, "board") ?? DEFAULT_BOARD);
      const simulation = new Simulation({ seed, budget });
      const board = simulation.addBoard(def, def.name);

      for (const text of opts(args, "set")) {
        const { name, value } = parseSetting(text);
        try {
          board.set(name, value);
        } catch (err) {
          if (err instanceof SettingError) throw new CliError(`--set ${text}: ${err.message}`);
          throw err;
        }
      }
      const scenarioFile = opt(args, "scenario");
      if (scenarioFile !== undefined) {
        for (const entry of loadScenario(scenarioFile)) {
          try {
            board.get(entry.set); // unknown names are reported before anything runs
          } catch (err) {
            throw new CliError(`${scenarioFile}: entry ${entry.index}: ${(err as Error).message}`);
          }
          simulation.at(entry.t, () => {
            try {
              board.set(entry.set, entry.value);
            } catch (err) {
              if (err instanceof SettingError) throw new CliError(`${scenarioFile}: entry ${entry.index} (t=${entry.t} ms): ${err.message}`);
              throw err;
            }
          });
        }
      }

      const out: string[] = [];
      const flush = (): void => {
        if (out.length && !stdoutClosed) process.stdout.write(out.join("\n") + "\n");
        out.length = 0;
      };
      const realtime = flag(args, "realtime");
      const human = {
        trace: flag(args, "trace"),
        pinKind: (_b: string, pin: string) => board.pins.get(pin)?.def.kind,
        activeLow: (_b: string, pin: string) => board.pins.get(pin)?.def.activeLow ?? false,
      };
      let trapped = 0;
      simulation.onEvent((event: SimEvent) => {
        if (event.type === "trap") trapped++;
        const line = json ? formatEventJson(event) : formatEventHuman(event, human);
        if (line === undefined) return;
        out.push(line);
        if (realtime || out.length >= 256) flush();
      });

      for (const path of args.positionals) {
        if (!path.endsWith(".wasm")) {
          throw new CliError(`${path} is not a .wasm module; build the app first (liquid build ${path}) and pass the APP.wasm it writes`);
        }
        let wasm: Uint8Array;
        try {
          wasm = readFileSync(path);
        } catch {
          throw new CliError(`cannot read ${path}`);
        }
        const manifest = readManifestBeside(path);
        const app = board.install(wasm, manifest, { name: appNameFromPath(path) });
        if (app.manifestDerived) {
          process.stderr.write(
            `liquid sim: note: ${path} has no manifest beside it; derived its capabilities from its imports (${app.manifest.capabilities.join(", ") || "none"}) and granted every pin and bus of board ${def.name}\n`,
          );
        }
      }

      await stockLibraries(board, opts(args, "lib"), opt(args, "repo"));

      const startWall = performance.now();
      const startVirtual = simulation.now;
      let idle = true;
      const abort = new AbortController();
      const onClose = (): void => abort.abort();
      guardStdout(onClose);
      const onSigint = (): void => abort.abort();
      process.once("SIGINT", onSigint);
      try {
        if (realtime) {
          idle = await simulation.runRealtime(duration ?? DEFAULT_LIMIT_MS, { untilIdle: duration === undefined, signal: abort.signal });
        } else if (duration !== undefined) {
          simulation.runFor(duration);
        } else {
          idle = simulation.runUntilIdle(DEFAULT_LIMIT_MS);
        }
      } finally {
        process.removeListener("SIGINT", onSigint);
        closeHandlers.delete(onClose);
        flush();
      }
      if (duration === undefined && !idle && !abort.signal.aborted) {
        process.stderr.write(`liquid sim: stopped at ${DEFAULT_LIMIT_MS / 1000} s of virtual time with events still pending; use --for to run longer\n`);
      }
      if (flag(args, "stats")) {
        const realMs = performance.now() - startWall;
        const virtualMs = simulation.now - startVirtual;
        const ratio = virtualMs / Math.max(realMs, 0.001); // guards a 0 ms reading on a coarse clock
        process.stderr.write(
          `liquid sim: ${virtualMs.toLocaleString("en-US")} ms virtual in ${realMs.toFixed(1)} ms real: ` +
            `${ratio.toLocaleString("en-US", { maximumFractionDigits: 1 })} virtual s per real s, ${simulation.eventsProcessed} events\n`,
        );
      }
      return flag(args, "fail-on-trap") && trapped > 0 ? 3 : 0;
    } catch (err) {
      if (
        err instanceof BoardError ||
        err instanceof AppLoadError ||
        err instanceof ScenarioError ||
        err instanceof SimulationError ||
        err instanceof SettingError
      ) {
        throw new CliError(err.message);
      }
      throw err;
    }
  },
};
