import { createHash } from "node:crypto";
import { ESPError, ESPLoader, Transport, UnexpectedChipIdError, UnexpectedChipMagicError } from "esptool-js";
import { CliError } from "../command.js";
import { formatBytes, formatRate, type ProgressSink } from "./progress.js";
import type { SerialLine } from "./serial-line.js";
import { WebSerialPortShim } from "./web-serial.js";

export interface FlashFile {
  name: string;
  address: number;
  data: Uint8Array;
}

export interface Esp32FlashRequest {
  line: SerialLine;
  files: FlashFile[];
  /** Baud rate for the transfer once the stub runs (the ROM always starts at 115200). */
  baud: number;
  /** Send zlib-compressed blocks (default) or raw ones. */
  compress?: boolean;
  /** Reset-and-sync rounds before giving up (esptool-js alternates two reset timings). */
  connectAttempts?: number;
  /** Board name for messages. */
  board: string;
  /** The chip the board carries, as esptool names it. */
  expectChip?: string;
  /** Erase the whole flash first (stored apps and settings too), as `esptool --erase-all`. */
  eraseAll?: boolean;
  /** Pulse EN at the end so the new firmware starts. */
  resetAfter?: boolean;
  log: (line: string) => void;
  progress?: ProgressSink;
  /** Also show esptool-js's own messages. */
  verbose?: boolean;
}

export interface Esp32FlashResult {
  chip: string;
  description: string;
  mac: string;
  flashSize: string;
  baud: number;
  files: Array<{ name: string; address: number; size: number; sent: number; seconds: number; md5: string }>;
  /** What the chip printed right after the final reset (its ROM boot lines), if it was reset. */
  bootLog?: string;
}

const ROM_BAUD = 115200;

/** Stub/ROM status codes, so a refused command says why. */
const STATUS_NAMES: Record<number, string> = {
  0x05: "invalid message",
  0x06: "failed to act on the command",
  0x07: "checksum mismatch",
  0x08: "flash write error",
  0x09: "flash read error",
  0x0a: "flash read length error",
  0x0b: "deflate error",
  0xc0: "bad data length",
  0xc1: "bad data checksum",
  0xc2: "bad block size",
  0xc3: "invalid command",
  0xc4: "SPI flash operation failed",
  0xc5: "SPI flash unlock failed",
  0xc6: "not in flash mode",
  0xc7: "inflate error: the compressed data arrived corrupted",
  0xc8: "not enough data",
  0xc9: "too much data",
  0xff: "command not implemented",
};

/**
 * esptool-js 0.7's hard reset only releases RTS, which leaves a board whose EN was never pulled
 * low running the stub. This pulses EN like esptool.py: RTS on (EN low) with DTR off (GPIO0
 * high), wait, RTS off; the chip then boots from flash.
 */
class EnPulseReset {
  constructor(readonly transport: Transport) {}
  async reset(): Promise<void> {
    await this.transport.setDTR(false);
    await this.transport.setRTS(true);
    await new Promise((r) => setTimeout(r, 100));
    await this.transport.setRTS(false);
  }
}

/** esptool-js's Transport prints some trace lines (e.g. "readLoop exited") even with tracing off. */
class QuietTransport extends Transport {
  override trace(message: string): void {
    if (this.tracing) super.trace(message);
  }
}

/** Collects esptool-js's terminal output as lines (it writes some text without newlines). */
class LineTerminal {
  readonly lines: string[] = [];
  private partial = "";
  constructor(private readonly echo?: (line: string) => void) {}
  clean(): void {}
  write(data: string): void {
    this.partial += data;
    const parts = this.partial.split(/\r?\n/);
    this.partial = parts.pop() ?? "";
    for (const p of parts) this.emit(p);
  }
  writeLine(data: string): void {
    this.write(`${data}\n`);
  }
  private emit(line: string): void {
    if (!line.trim()) return;
    this.lines.push(line);
    this.echo?.(`  esptool: ${line}`);
  }
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/**
 * Writes files into an ESP32's flash through esptool-js: reset into the ROM loader with
 * DTR/RTS, sync (with retries), identify the chip (refusing anything but the expected one before
 * touching the flash), upload and start the flasher stub, raise the baud rate, write each file
 * as compressed blocks, check the MD5 the chip computes over what it wrote, and reset the chip.
 */
export async function flashEsp32(req: Esp32FlashRequest): Promise<Esp32FlashResult> {
  const expect = req.expectChip ?? "ESP32";
  const terminal = new LineTerminal(req.verbose ? req.log : undefined);
  const shim = new WebSerialPortShim(req.line);
  const transport = new QuietTransport(shim as unknown as ConstructorParameters<typeof Transport>[0], false);
  const loader = new ESPLoader({
    transport,
    baudrate: req.baud,
    romBaudrate: ROM_BAUD,
    terminal,
    resetConstructors: { hardReset: (t: Transport) => new EnPulseReset(t) as never },
  });
  const attempts = req.connectAttempts ?? 7;
  let stage = `connecting to ${req.line.path}`;
  try {
    req.log(`Connecting to ${req.line.path} (reset into the ROM loader, sync; up to ${attempts} attempts)...`);
    try {
      await loader.connect("default_reset", attempts, true);
    } catch (err) {
      if (err instanceof UnexpectedChipMagicError || err instanceof UnexpectedChipIdError) {
        const value = /(0x[0-9a-f]+|\d+)/i.exec(err.message)?.[1] ?? "?";
        const what = err instanceof UnexpectedChipMagicError ? `chip magic value ${value}` : `chip id ${value}`;
        throw new CliError(
          `wrong chip on ${req.line.path}: it answers the ESP ROM loader protocol, but its ${what} belongs to no chip esptool knows, ` +
            `so it is not an ${expect}; board ${req.board} needs an ${expect}`,
        );
      }
      if (err instanceof ESPError && /failed to connect/i.test(err.message)) {
        throw new CliError(
          `no answer from the ${expect} ROM loader on ${req.line.path} after ${attempts} reset-and-sync attempts: ` +
            `check the cable and --port; if the board has no auto-reset circuit, hold BOOT (GPIO0), press EN/RESET, release BOOT, and run liquid flash again`,
        );
      }
      throw err;
    }
    const chipName: string = loader.chip.CHIP_NAME;
    if (chipName !== expect) {
      throw new CliError(
        `wrong chip on ${req.line.path}: found an ${chipName}, but board ${req.board} has an ${expect}; ` +
          `Liquid's ${expect} firmware would not run there (pick the matching --board, or check --port)`,
      );
    }
    stage = "reading the chip description";
    const description = await loader.chip.getChipDescription(loader);
    const mac = await loader.chip.readMac(loader);
    req.log(`Chip: ${description}, MAC ${mac}`);

    stage = "uploading the flasher stub";
    await loader.runStub();
    req.log("Flasher stub running");
    if (req.baud !== ROM_BAUD) {
      stage = `changing the baud rate to ${req.baud}`;
      await loader.changeBaud();
      if (transport.baudrate !== req.baud) req.log(`Could not use ${req.baud} baud; continuing at ${transport.baudrate}`);
      else req.log(`Baud rate ${req.baud}`);
    }
    stage = "reading the flash id";
    const flashSize = (await loader.detectFlashSize()) ?? "unknown";
    const flashBytes = flashSize === "unknown" ? Infinity : loader.flashSizeBytes(flashSize as Parameters<typeof loader.flashSizeBytes>[0]);
    for (const file of req.files) {
      if (file.address + file.data.length > flashBytes) {
        throw new CliError(`${file.name} does not fit: it would end at ${hex(file.address + file.data.length)}, the flash is ${flashSize}`);
      }
    }
    req.log(`Flash: ${flashSize}`);

    if (req.eraseAll) {
      stage = "erasing the whole flash";
      req.log(`Erasing the whole ${flashSize} flash (apps and data stored on the board too)...`);
      await loader.eraseFlash();
    }
    const results: Esp32FlashResult["files"] = [];
    for (const file of req.files) {
      stage = `writing ${file.name} at ${hex(file.address)}`;
      const started = performance.now();
      let sent = 0;
      await loader.writeFlash({
        fileArray: [{ data: file.data, address: file.address }],
        flashMode: "keep",
        flashFreq: "keep",
        flashSize: "keep",
        eraseAll: false,
        compress: req.compress ?? true,
        reportProgress: (_index, written, total) => {
          if (written === 0) req.progress?.start(`${file.name} -> ${hex(file.address)}`, total);
          else req.progress?.update(written);
          sent = written;
        },
      });
      stage = `verifying ${file.name} at ${hex(file.address)}`;
      await verifyMd5(loader, file);
      const seconds = (performance.now() - started) / 1000;
      const md5 = createHash("md5").update(padTo4(file.data)).digest("hex");
      req.progress?.finish(
        `Wrote ${formatBytes(file.data.length)} (${formatBytes(sent)} sent) to ${hex(file.address)} in ${seconds.toFixed(2)} s, ` +
          `${formatRate(file.data.length, seconds)} effective; MD5 verified`,
      );
      results.push({ name: file.name, address: file.address, size: file.data.length, sent, seconds, md5 });
    }
    const baud = transport.baudrate;
    let bootLog: string | undefined;
    if (req.resetAfter ?? true) {
      stage = "resetting the chip";
      if (req.line.hasModemLines?.() === false) {
        await loader.after("hard_reset");
        req.log("Press EN/RESET on the board to start the new firmware (this port cannot reset it)");
      } else {
        bootLog = await resetAndListen(loader, transport);
        const explained = explainBoot(bootLog);
        if (explained.length) {
          req.log("Reset the chip: the new firmware is starting");
          for (const line of explained) req.log(line);
        } else {
          req.log("Pulsed EN/RESET, but the chip printed nothing: if the board has no auto-reset circuit, press EN/RESET to start the new firmware");
        }
      }
    }
    return { chip: chipName, description, mac, flashSize, baud, files: results, bootLog };
  } catch (err) {
    throw explain(err, stage, req.line.path);
  } finally {
    await transport.disconnect().catch(() => {});
  }
}

/** How long to listen for the ROM's boot lines after the reset (it prints them within ~50 ms). */
const BOOT_LISTEN_MS = 300;

/**
 * Pulses EN and listens to what the ROM prints while it starts from flash. The ROM talks at
 * 115200 baud whatever speed the stub used, so the host switches back first.
 */
async function resetAndListen(loader: ESPLoader, transport: Transport): Promise<string> {
  await transport.changeBaudrate(ROM_BAUD);
  transport.flushInput();
  await loader.after("hard_reset");
  await new Promise((r) => setTimeout(r, BOOT_LISTEN_MS));
  return Buffer.from(transport.peek()).toString("latin1");
}

/** Turns the ROM's boot lines into what the user should know. */
export function explainBoot(log: string): string[] {
  const lines: string[] = [];
  const boot = /rst:(0x[0-9a-f]+ \([A-Z_]+\)),boot:(0x[0-9a-f]+ \([^)]*\))/.exec(log);
  if (boot) lines.push(`Boot: rst:${boot[1]}, boot:${boot[2]}`);
  if (/flash read err, 1000/.test(log)) {
    lines.push(
      "warning: the ROM found no second-stage bootloader at 0x1000, so the firmware cannot start: flash the complete build " +
        "(ESP-IDF's flasher_args.json or the PlatformIO build folder: bootloader, partition table and app), not just the app",
    );
  } else if (/waiting for download/.test(log)) {
    lines.push("warning: the chip restarted into download mode again: is GPIO0 (BOOT) held low, or DTR stuck asserted?");
  }
  return lines;
}

/** esptool-js writes files padded to a multiple of 4 bytes with 0xFF. */
function padTo4(data: Uint8Array): Uint8Array {
  if (data.length % 4 === 0) return data;
  const out = new Uint8Array(Math.ceil(data.length / 4) * 4).fill(0xff);
  out.set(data);
  return out;
}

/**
 * Asks the chip for the MD5 of the region just written and compares it with the image's. Done
 * here rather than through esptool-js's calculateMD5Hash option because esptool-js 0.7.0
 * hex-encodes the answer once more when it comes from the ROM (which already answers in hex
 * text), so its check can never pass without the stub.
 */
export async function verifyMd5(loader: ESPLoader, file: FlashFile): Promise<void> {
  const image = padTo4(file.data);
  const expected = createHash("md5").update(image).digest("hex");
  let reported = await loader.flashMd5sum(file.address, image.length);
  if (reported.length === 64) reported = Buffer.from(reported, "hex").toString("latin1");
  if (reported !== expected) {
    throw new CliError(
      `verification failed for ${file.name} at ${hex(file.address)}: the chip reports MD5 ${reported} for what it wrote, ` +
        `the image has ${expected}; the data was corrupted on the way. Run liquid flash again (a lower --baud helps on long or noisy cables)`,
    );
  }
}

function explain(err: unknown, stage: string, path: string): Error {
  if (err instanceof CliError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const status = /failed with status (\d+),(\d+)/.exec(message);
  if (status) {
    const code = Number(status[2]);
    const what = message.replace(/^Failed to /, "").replace(/ failed with status.*$/s, "");
    return new CliError(`the chip refused to ${what} (error 0x${code.toString(16)}: ${STATUS_NAMES[code] ?? "unknown error"}) while ${stage}`);
  }
  if (/input\/output error|EIO\b|ENXIO|disconnected|device has been lost|is not open/i.test(message)) {
    return new CliError(
      `the board was disconnected while ${stage} on ${path}: plug it back in and run liquid flash again ` +
        `(until then its flash may hold a partial image; the ROM loader is not affected)`,
    );
  }
  if (/serial data|No serial data|Invalid head of packet|invalid response|Timeout/i.test(message)) {
    return new CliError(`the board stopped answering while ${stage} on ${path} (${message.trim()}); check the cable, or try a lower --baud`);
  }
  return new CliError(`flashing failed while ${stage}: ${message}`);
}
