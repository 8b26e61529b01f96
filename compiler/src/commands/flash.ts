import { existsSync, readdirSync } from "node:fs";
import { flag, opt, parseArgs, UsageError } from "../args.js";
import { CliError, type Command } from "../command.js";
import { loadBoard } from "../flash/boards.js";
import { flashEmulator } from "../flash/emulator-flasher.js";
import { flashEsp32 } from "../flash/esp32-flasher.js";
import { resolveEsp32Input } from "../flash/esp32-inputs.js";
import { flashNrf52840 } from "../flash/nrf52840-flasher.js";
import { ProgressBar } from "../flash/progress.js";
import { isSchemePort, openSerialLine } from "../flash/serial-line.js";

const DEFAULT_BOARD = "esp32-devkitc";
const DEFAULT_BAUD = 460800;

const usage = `usage: liquid flash [--board B] [--port P] [--baud N] [--address A] [--no-compress]
                    [--erase-all] [--connect-attempts N] [--verbose] [IMAGE]

Writes the Liquid runtime firmware onto a board (once; apps are deployed afterwards with
liquid deploy). What it does depends on the board (--board, default ${DEFAULT_BOARD}):

  esp32-*          over serial with esptool-js: reset into the ROM loader (DTR/RTS), sync,
                   check the chip is an ESP32, upload the flasher stub, switch to --baud
                   (default ${DEFAULT_BAUD}), write compressed, verify the MD5, reset.
                   IMAGE: an ESP32 app image (.bin, written at --address, default 0x10000),
                   ESP-IDF's flasher_args.json / build folder, or PlatformIO's build folder
                   (bootloader, partitions, app); default: the newest such build.
                   --port defaults to the only /dev/ttyUSB*|ttyACM* present.
  nrf52840-dk      the .uf2 (UF2 bootloader layout) copied onto the bootloader's drive
                   (--port DRIVE-FOLDER, or found under /media), else the .hex (DK layout)
                   through openocd and a J-Link or CMSIS-DAP probe. Default: the build's
                   liquid-nrf52840.uf2/.hex in build/nrf52840/; IMAGE (.hex or .uf2) replaces both.
  qemu-mps2-an386  installs liquid-qemu.elf (default: build/qemu/) as the board's firmware
  posix            installs liquid-device (default: build/posix*/) as the board's firmware;
                   both go to $LIQUID_HOME/firmware/BOARD/ (~/.liquid, see docs/flashing.md).

Options:
  --address A           ESP32: flash offset for a single IMAGE (0x... or decimal)
  --no-compress         ESP32: send raw blocks instead of zlib-compressed ones
  --erase-all           ESP32: erase the whole flash first (also the apps stored on the board)
  --connect-attempts N  ESP32: reset-and-sync rounds before giving up (default 7)
  --verbose             also print esptool-js's own messages`;

function parseNumber(text: string, what: string): number {
  const n = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text, 16) : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) throw new UsageError(`${what} must be a number (decimal or 0x...), not '${text}'`);
  return n;
}

/** The serial port to use when none was given: the only USB serial device present. */
function defaultPort(): string {
  let ports: string[] = [];
  try {
    ports = readdirSync("/dev")
      // Linux USB-UART bridges and CDC-ACM; on macOS the call-out devices of the same.
      .filter((n) => /^tty(USB|ACM)\d+$/.test(n) || /^cu\.(usbserial|SLAB_USBtoUART|wchusbserial|usbmodem)/.test(n))
      .map((n) => `/dev/${n}`);
  } catch {
    // no /dev (not Linux): fall through to the message
  }
  if (ports.length === 1) return ports[0]!;
  if (ports.length === 0) throw new CliError("no serial port found (no /dev/ttyUSB* or /dev/ttyACM*): plug the board in, or give --port");
  throw new CliError(`several serial ports found (${ports.join(", ")}): choose one with --port`);
}

export const flash: Command = {
  name: "flash",
  summary: "write the Liquid firmware onto a board (ESP32 over serial, nRF52840, emulators)",
  usage,
  async run(argv: string[]): Promise<number> {
    const args = parseArgs(argv, [
      { name: "board", short: "b", value: true },
      { name: "port", short: "p", value: true },
      { name: "baud", value: true },
      { name: "address", value: true },
      { name: "no-compress", value: false },
      { name: "erase-all", value: false },
      { name: "connect-attempts", value: true },
      { name: "verbose", short: "v", value: false },
    ]);
    if (args.positionals.length > 1) throw new UsageError(`one IMAGE at most, got ${args.positionals.length}`);
    const image = args.positionals[0];
    const board = loadBoard(opt(args, "board") ?? DEFAULT_BOARD);
    const log = (line: string): void => console.log(line);
    const esp32Only = ["baud", "address", "no-compress", "erase-all", "connect-attempts"].filter((o) => args.options.has(o));
    if (board.target !== "esp32" && esp32Only.length) {
      throw new UsageError(`--${esp32Only[0]} applies to ESP32 boards only (board ${board.name} is ${board.target})`);
    }

    switch (board.target) {
      case "esp32": {
        const baud = parseNumber(opt(args, "baud") ?? String(DEFAULT_BAUD), "--baud");
        if (baud < 9600 || baud > 5_000_000) throw new UsageError(`--baud ${baud} is out of range (9600..5000000)`);
        const addressText = opt(args, "address");
        const address = addressText === undefined ? undefined : parseNumber(addressText, "--address");
        const attempts = parseNumber(opt(args, "connect-attempts") ?? "7", "--connect-attempts");
        if (attempts < 1) throw new UsageError("--connect-attempts must be at least 1");
        const input = resolveEsp32Input(image, address, "ESP32");
        for (const line of input.described) log(line);
        const port = opt(args, "port") ?? defaultPort();
        if (!isSchemePort(port) && port.startsWith("/dev/") && !existsSync(port)) {
          throw new CliError(`port ${port} does not exist: is the board plugged in? (serial ports are usually /dev/ttyUSB* or /dev/ttyACM*)`);
        }
        const line = openSerialLine(port, (note) => log(`note: ${note}`));
        const result = await flashEsp32({
          line,
          files: input.files,
          baud,
          compress: !flag(args, "no-compress"),
          eraseAll: flag(args, "erase-all"),
          connectAttempts: attempts,
          board: board.name,
          expectChip: "ESP32",
          log,
          progress: new ProgressBar((t) => process.stdout.write(t), Boolean(process.stdout.isTTY)),
          verbose: flag(args, "verbose"),
        });
        const total = result.files.reduce((n, f) => n + f.size, 0);
        log(`Flashed ${result.files.length} file(s), ${total} bytes, onto the ${result.description} on ${port} at ${result.baud} baud`);
        return 0;
      }
      case "nrf52840": {
        await flashNrf52840({ board, image, port: opt(args, "port"), log });
        return 0;
      }
      case "qemu":
      case "posix": {
        if (args.options.has("port")) throw new UsageError(`--port does not apply to ${board.name}: its firmware is installed for liquid emulate`);
        flashEmulator(board, image, log);
        return 0;
      }
      default:
        throw new CliError(`board ${board.name} runs no Liquid firmware of its own (${board.target}): nothing to flash; use liquid sim`);
    }
  },
};
