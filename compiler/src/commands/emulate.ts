import { createInterface } from "node:readline";
import { flag, opt, parseArgs, UsageError } from "../args.js";
import { loadBoard } from "../boards.js";
import { CliError, type Command } from "../command.js";
import { join } from "node:path";
import { LIQUID_ROOT } from "../paths.js";
import { deviceLineFormatter } from "../transport/device-lines.js";
import { ensurePosixDevice, ensureQemuImage, freePort, startPosixDevice, startQemuDevice, type StartedProcess } from "../transport/emulators.js";
import type { QmpClient } from "../transport/qmp.js";
import { registerDevice, stateDir, unregisterDevice, type RunningDevice } from "../transport/registry.js";
import { TransportError } from "../transport/transport.js";

const BOARDS = ["posix", "qemu", "sim-devkit"] as const;
/** The TMP105's power-up temperature a board file declares (`"initial": {"temperature": C}`),
 * which QEMU's model does not read: it starts at 0 °C. */
function initialTmp105Celsius(boardFile: string): number | undefined {
  return loadBoard(boardFile).buses.flatMap((b) => b.devices ?? []).find((d) => d.driver === "tmp105")?.initial?.temperature;
}
type Board = (typeof BOARDS)[number];

export interface EmulateOptions {
  board: Board;
  /** TCP port to listen on; 0 picks a free one. */
  port: number;
  /** Persistent store: a flash image file (posix, qemu) or a directory (sim-devkit). */
  flash?: string;
  json?: boolean;
  /** Print the device's own event lines (LED edges, logs) as they happen. */
  quiet?: boolean;
}

export interface RunningEmulator {
  url: string;
  board: Board;
  /**
   * A control line from the person at the console, e.g. `press BUTTON0` or
   * `set I2C0.tmp105.temperature 30` on a simulated devkit (the posix device takes its own
   * `set NAME 0|1` and `temp C`). Resolves with a reply to print, if any.
   */
  control(line: string): string | undefined;
  /** Resolves when the device ends (stop() called, or the process died). */
  done: Promise<number>;
  stop(): Promise<void>;
}

/**
 * Starts a local device and registers it so that commands without --port find it. Used by
 * `liquid emulate` (which waits for Ctrl-C) and by tests and benchmarks (which call stop()).
 */
export async function startEmulator(options: EmulateOptions, print: (line: string) => void = console.log): Promise<RunningEmulator> {
  const note = (line: string) => console.error(`liquid emulate: ${line}`);
  const show = options.quiet ? () => {} : print;
  let url: string;
  let stopDevice: () => Promise<void>;
  let childPid: number | undefined;
  let control: (line: string) => string | undefined = () => "this device takes no console commands";
  let ended: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => (ended = resolve));

  if (options.board === "sim-devkit") {
    // Imported lazily: the simulator is only needed for simulated devices.
    const { createSimDevice, listenTcp } = await import("../../../host-sim/src/device/index.js");
    const { formatEventHuman } = await import("../../../host-sim/src/format.js");
    let sim: Awaited<ReturnType<typeof createSimDevice>>;
    try {
      sim = await createSimDevice({ board: "sim-devkit", realtime: true, ...(options.flash ? { storeDir: options.flash } : {}) });
    } catch (err) {
      // A missing or broken board file, an unusable store directory: say which and why.
      throw new CliError(`cannot start the simulated devkit: ${(err as Error).message}`);
    }
    sim.simulation.onEvent((ev) => {
      if (ev.type === "log") return; // logs are what `liquid logs` is for; LEDs are not
      const line = formatEventHuman(ev, {
        pinKind: (_b, pin) => sim.board.pins.get(pin)?.def.kind,
        activeLow: (_b, pin) => sim.board.pins.get(pin)?.def.activeLow ?? false,
      });
      if (line) show(line);
    });
    const listener = await listenTcp(sim.server, options.port).catch((err: Error) => {
      void sim.stop();
      throw new CliError(err.message);
    });
    url = listener.url;
    const board = sim.board;
    control = (line) => {
      const words = line.trim().split(/\s+/);
      try {
        if (words[0] === "press" || words[0] === "release") {
          if (words.length !== 2) return `usage: ${words[0]} BUTTON`;
          board.set(words[1]!, words[0] === "press" ? 1 : 0);
          sim.pacer?.sync();
          return undefined;
        }
        if (words[0] === "set" && words.length === 3 && words[2] !== "" && Number.isFinite(Number(words[2]))) {
          board.set(words[1]!, Number(words[2]));
          sim.pacer?.sync();
          return undefined;
        }
        if (words[0] === "" && words.length === 1) return undefined;
        return `commands: press NAME, release NAME, set NAME VALUE (settable: ${board.settableNames().join(", ")})`;
      } catch (err) {
        return (err as Error).message;
      }
    };
    stopDevice = async () => {
      await listener.close();
      await sim.stop();
      ended(0);
    };
  } else {
    const port = options.port || (await freePort());
    const boardFile = join(LIQUID_ROOT, "boards", options.board === "posix" ? "posix.json" : "qemu-mps2-an386.json");
    const format = deviceLineFormatter(boardFile);
    const showLine = (line: string) => {
      const shown = format(line);
      if (shown !== undefined) show(shown);
    };
    const started: StartedProcess & { qmp?: QmpClient } =
      options.board === "posix"
        ? await startPosixDevice(ensurePosixDevice(note), { port, board: boardFile, ...(options.flash ? { flash: options.flash } : {}) }, showLine)
        : await startQemuDevice(ensureQemuImage(note), { port, console: true, qmp: true, ...(options.flash ? { flash: options.flash } : {}) }, showLine);
    url = started.url;
    childPid = started.child.pid;
    const child = started.child;
    const qmp = started.qmp;
    // QEMU's TMP105 powers up at 0 °C; start where the board file says, as the posix device does.
    const celsius = initialTmp105Celsius(boardFile);
    if (qmp && celsius !== undefined) await qmp.setTemperature(celsius);
    control = (line) => {
      const words = line.trim().split(/\s+/);
      // The QEMU firmware's console cannot reach the sensor: QEMU models it, so QMP changes it.
      if (qmp && words[0] === "temp") {
        const celsius = Number(words[1]);
        if (words.length !== 2 || words[1] === "" || !Number.isFinite(celsius)) return "usage: temp CELSIUS";
        qmp.setTemperature(celsius).catch((err: Error) => show(`temp: ${err.message}`));
        return undefined;
      }
      if (!child.stdin) return "this device takes no console commands";
      child.stdin.write(`${line}\n`);
      return undefined;
    };
    child.once("exit", () => qmp?.close());
    child.once("exit", (code, signal) => {
      try {
        unregisterDevice(url);
      } catch {
        // see registerDevice below
      }
      ended(signal === "SIGTERM" || signal === "SIGINT" ? 0 : (code ?? 1));
    });
    stopDevice = async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    };
  }

  const entry: RunningDevice = {
    url,
    board: options.board,
    kind: options.board === "sim-devkit" ? "simulated" : "emulated",
    pid: process.pid,
    startedAt: new Date().toISOString(),
  };
  if (childPid !== undefined) entry.childPid = childPid;
  try {
    registerDevice(entry);
  } catch (err) {
    note(`could not record the device in ${stateDir()} (${(err as Error).message}); other commands need --port ${url}`);
  }
  let stopped = false;
  return {
    url,
    board: options.board,
    control: (line) => control(line),
    done,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      try {
        unregisterDevice(url);
      } catch {
        // the registry was not writable when the device started either
      }
      await stopDevice();
    },
  };
}

export const emulate: Command = {
  name: "emulate",
  summary: "run a local device: the posix firmware, QEMU Cortex-M4, or a simulated devkit",
  usage: `usage: liquid emulate [--board posix|qemu|sim-devkit] [--flash FILE] [--port N] [--quiet] [--json]

Starts a device on this machine and keeps it running until Ctrl-C. It listens on
tcp://127.0.0.1:PORT, and other commands find it without --port while it runs.

  --board B      posix: the firmware as a Linux process (build/posix/.../liquid-device,
                   built with cmake when missing)
                 qemu: the firmware image on qemu-system-arm -M mps2-an386, UART0 on TCP
                 sim-devkit: a simulated device on the simulator's devkit board (default)
  --flash FILE   keep the app store in FILE (a directory for sim-devkit), so installed apps
                 survive a restart; default: an empty store every time
  --port N       TCP port to listen on (default: any free port)
  --quiet        do not print the device's LED/button events
  --json         print {"url","board","pid"} as one JSON line instead of the banner

On a terminal, typed lines act on the device: 'press BUTTON0', 'release BUTTON0',
'set I2C0.tmp105.temperature 30' (sim-devkit); 'set BUTTON0 0', 'temp 30' (posix and qemu:
the line level of a pin, the TMP105's temperature in °C; qemu starts it at the board file's 23.5 °C); 'stats'
(qemu: the firmware's stack and arena figures).`,
  async run(argv) {
    const args = parseArgs(argv, [
      { name: "board", short: "b", value: true },
      { name: "flash", value: true },
      { name: "port", short: "p", value: true },
      { name: "quiet", short: "q", value: false },
      { name: "json", value: false },
    ]);
    if (args.positionals.length) throw new UsageError(`unexpected argument '${args.positionals[0]}'`);
    const board = opt(args, "board") ?? "sim-devkit";
    if (!(BOARDS as readonly string[]).includes(board)) throw new UsageError(`unknown board '${board}' (choose ${BOARDS.join(", ")})`);
    const portText = opt(args, "port") ?? "0";
    if (!/^\d+$/.test(portText) || Number(portText) > 65535) throw new UsageError(`--port takes a TCP port number (0-65535), got '${portText}'`);
    const options: EmulateOptions = { board: board as Board, port: Number(portText), json: flag(args, "json"), quiet: flag(args, "quiet") };
    const flash = opt(args, "flash");
    if (flash) options.flash = flash;
    let device: RunningEmulator;
    try {
      device = await startEmulator(options);
    } catch (err) {
      if (err instanceof TransportError) throw new CliError(err.message);
      throw err;
    }
    if (options.json) console.log(JSON.stringify({ url: device.url, board: device.board, pid: process.pid }));
    else {
      console.log(`${device.board} device listening on ${device.url}`);
      console.log(`try: liquid deploy ${LIQUID_ROOT === process.cwd() ? "" : `${LIQUID_ROOT}/`}examples/blinky --start   (Ctrl-C stops the device)`);
    }
    const stopOnSignal = () => void device.stop();
    process.once("SIGINT", stopOnSignal);
    process.once("SIGTERM", stopOnSignal);
    // Console lines act on the device: press a button, change a sensor's temperature.
    const console_ = process.stdin.isTTY ? createInterface({ input: process.stdin }) : undefined;
    console_?.on("line", (line) => {
      const reply = device.control(line);
      if (reply) console.error(reply);
    });
    try {
      return await device.done;
    } finally {
      console_?.close();
      process.removeListener("SIGINT", stopOnSignal);
      process.removeListener("SIGTERM", stopOnSignal);
    }
  },
};
