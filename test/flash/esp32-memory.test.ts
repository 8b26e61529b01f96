import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CliError } from "../../compiler/src/command.js";
import { flashEsp32, type FlashFile } from "../../compiler/src/flash/esp32-flasher.js";
import { formatBytes } from "../../compiler/src/flash/progress.js";
import { registerPortScheme } from "../../compiler/src/flash/serial-line.js";
import { ESP32_S3, ESP8266, UNKNOWN_CHIP, type ChipProfile } from "../../host-sim/src/esp32/chips.js";
import { MemoryLink, type MemoryLinkOptions } from "../../host-sim/src/esp32/memory-link.js";
import { SimulatedEsp32, type SimulatedEsp32Options } from "../../host-sim/src/esp32/simulated-esp32.js";
import { Command } from "../../host-sim/src/esp32/protocol.js";
import { SLIP_END, SLIP_ESC } from "../../host-sim/src/esp32/slip.js";
import { bootloaderImage, partitionTable, pseudoRandom, testFirmwareImage } from "./firmware-image.js";
import { runLiquid } from "./run-cli.js";

interface Run {
  chip: SimulatedEsp32;
  log: string[];
  progress: string[];
  result?: Awaited<ReturnType<typeof flashEsp32>>;
  error?: unknown;
}

async function flashInMemory(
  files: FlashFile[],
  opts: {
    chip?: ChipProfile;
    sim?: SimulatedEsp32Options;
    link?: MemoryLinkOptions;
    onLink?: (link: MemoryLink) => void;
    baud?: number;
    compress?: boolean;
    attempts?: number;
  } = {},
): Promise<Run> {
  const chip = new SimulatedEsp32({ chip: opts.chip, ...opts.sim });
  const link = new MemoryLink(chip, opts.link);
  opts.onLink?.(link);
  const run: Run = { chip, log: [], progress: [] };
  try {
    run.result = await flashEsp32({
      line: link,
      files,
      baud: opts.baud ?? 921600,
      compress: opts.compress,
      connectAttempts: opts.attempts,
      board: "esp32-devkitc",
      log: (l) => run.log.push(l),
      progress: {
        start: (label, total) => run.progress.push(`start ${label} ${total}`),
        update: (done) => run.progress.push(`update ${done}`),
        finish: (summary) => run.progress.push(summary),
      },
    });
  } catch (err) {
    run.error = err;
  }
  return run;
}

function expectInOrder(events: string[], wanted: string[]): void {
  let at = 0;
  for (const event of events) if (event === wanted[at]) at++;
  expect(at, `events ${JSON.stringify(events)} should contain ${JSON.stringify(wanted)} in order`).toBe(wanted.length);
}

function flashHolds(chip: SimulatedEsp32, file: FlashFile): boolean {
  return Buffer.from(chip.flash.read(file.address, file.data.length)).equals(Buffer.from(file.data));
}

/** Swaps two different bytes inside the payload of the `nth` host frame carrying `op`. The
 * block checksum is an XOR, so a swap passes it: only the final MD5 can notice. */
function swapInFrame(op: number, nth: number, at: number): MemoryLinkOptions["tamper"] {
  let seen = 0;
  return (bytes) => {
    if (bytes[0] !== SLIP_END || bytes[2] !== op) return bytes;
    if (seen++ !== nth) return bytes;
    for (let i = at; i < bytes.length - 2; i++) {
      const a = bytes[i]!;
      const b = bytes[i + 1]!;
      if (a !== b && a !== SLIP_ESC && b !== SLIP_ESC && a !== SLIP_END && b !== SLIP_END && bytes[i - 1] !== SLIP_ESC) {
        bytes[i] = b;
        bytes[i + 1] = a;
        return bytes;
      }
    }
    throw new Error("no bytes to swap");
  };
}

const app: FlashFile = { name: "liquid.bin", address: 0x10000, data: testFirmwareImage(96) };

describe("liquid flash to a simulated ESP32 in memory (esptool-js end to end)", () => {
  it("resets into the ROM loader with DTR/RTS, uploads the stub, raises the baud rate and writes the image byte for byte", async () => {
    const run = await flashInMemory([app]);
    expect(run.error).toBeUndefined();
    expect(flashHolds(run.chip, app)).toBe(true);
    expect(run.result).toMatchObject({ chip: "ESP32", description: "ESP32-D0WD (revision 1)", mac: "24:0a:c4:12:34:56", flashSize: "4MB", baud: 921600 });
    // The chip really went through the reset circuit: booted, held in reset, download mode, stub.
    // (In order, not necessarily back to back: a slow machine may need a second reset and sync.)
    expectInOrder(run.chip.events, [
      "boot: from SPI flash",
      "EN low: chip held in reset",
      "boot: serial download mode",
      "stub started at 0x400a902c",
      "baud rate 921600",
      `flash: wrote ${app.data.length} bytes at 0x10000`,
      "EN low: chip held in reset",
      "boot: from SPI flash",
    ]);
    // Compressed: fewer bytes crossed the line than the image has, and the progress saw them all.
    const sent = run.result!.files[0]!.sent;
    expect(sent).toBeLessThan(app.data.length);
    expect(run.progress[0]).toBe(`start liquid.bin -> 0x10000 ${sent}`);
    expect(run.progress).toContain(`update ${sent}`);
    expect(run.progress.at(-1)).toMatch(
      new RegExp(`^Wrote ${formatBytes(app.data.length)} \\(${formatBytes(sent)} sent\\) to 0x10000 in [\\d.]+ s, [\\d.]+ KiB/s effective; MD5 verified$`),
    );
    // The final EN pulse restarted the chip from flash (GPIO0 high), and the flasher heard the
    // ROM say so at 115200 baud: with only the app written, there is no bootloader to start.
    expect(run.chip.mode).toBe("booted");
    expect(run.chip.events.at(-1)).toBe("boot: from SPI flash");
    expect(run.log).toContain("Boot: rst:0x1 (POWERON_RESET), boot:0x13 (SPI_FAST_FLASH_BOOT)");
    expect(run.log.at(-1)).toMatch(/^warning: the ROM found no second-stage bootloader at 0x1000, so the firmware cannot start: flash the complete build/);
  });

  it("writes bootloader, partition table and app; after the reset the ROM loads the new bootloader", async () => {
    const boot: FlashFile = { name: "bootloader.bin", address: 0x1000, data: bootloaderImage() };
    const parts: FlashFile = { name: "partition-table.bin", address: 0x8000, data: partitionTable() };
    const run = await flashInMemory([boot, parts, app]);
    expect(run.error).toBeUndefined();
    for (const f of [boot, parts, app]) expect(flashHolds(run.chip, f)).toBe(true);
    expect(run.log.at(-1)).toBe("Boot: rst:0x1 (POWERON_RESET), boot:0x13 (SPI_FAST_FLASH_BOOT)");
    expect(run.result!.bootLog).toContain("entry 0x40080404");
    const lastBoot = run.chip.console.at(-1)!;
    expect(lastBoot).toContain("boot:0x13 (SPI_FAST_FLASH_BOOT)");
    expect(lastBoot).toContain("load:0x3fff0030,len:");
    expect(lastBoot).toContain("load:0x40080400,len:3480");
    expect(lastBoot).toContain("entry 0x40080404");
  });

  it("also writes uncompressed blocks, and at the ROM's 115200 baud when asked", async () => {
    const run = await flashInMemory([app], { compress: false, baud: 115200 });
    expect(run.error).toBeUndefined();
    expect(flashHolds(run.chip, app)).toBe(true);
    expect(run.result!.baud).toBe(115200);
    expect(run.chip.events).not.toContain("baud rate 921600");
  });

  it("writes and verifies data whose length is not a multiple of 4 (padded with 0xFF as esptool does)", async () => {
    const odd: FlashFile = { name: "nvs.bin", address: 0x9000, data: pseudoRandom(4097, 21) };
    const run = await flashInMemory([odd]);
    expect(run.error).toBeUndefined();
    expect(flashHolds(run.chip, odd)).toBe(true);
    expect([...run.chip.flash.read(0x9000 + 4097, 4)]).toEqual([0xff, 0xff, 0xff, 0xff]);
  });

  it("retries the sync when the first attempts get no answer", async () => {
    // One connect attempt sends 5 SYNCs; ignoring 7 makes the first attempt fail.
    const run = await flashInMemory([app], { sim: { ignoreSyncs: 7 } });
    expect(run.error).toBeUndefined();
    expect(flashHolds(run.chip, app)).toBe(true);
    expect(run.chip.events.filter((e) => e === "boot: serial download mode").length).toBeGreaterThanOrEqual(2);
  });

  it("gives up with a clear message when the ROM loader never answers", async () => {
    const run = await flashInMemory([app], { sim: { ignoreSyncs: Infinity }, attempts: 2 });
    expect(run.error).toBeInstanceOf(CliError);
    expect((run.error as Error).message).toBe(
      "no answer from the ESP32 ROM loader on memory://esp32 after 2 reset-and-sync attempts: check the cable and --port; " +
        "if the board has no auto-reset circuit, hold BOOT (GPIO0), press EN/RESET, release BOOT, and run liquid flash again",
    );
  });

  it("on a board without auto-reset, the advice in the no-answer message works: BOOT + EN, then flash again", async () => {
    const chip = new SimulatedEsp32();
    let lastLog = "";
    const attempt = async (): Promise<unknown> =>
      flashEsp32({
        line: new MemoryLink(chip, { autoReset: false }),
        files: [app],
        baud: 921600,
        connectAttempts: 2,
        board: "esp32-devkitc",
        log: (line) => (lastLog = line),
      }).then(
        () => undefined,
        (err: unknown) => err,
      );
    const first = await attempt();
    expect((first as Error).message).toMatch(/^no answer from the ESP32 ROM loader on memory:\/\/esp32 after 2 reset-and-sync attempts: .*hold BOOT \(GPIO0\), press EN\/RESET, release BOOT/);
    expect(chip.mode).toBe("booted");
    chip.pressReset(true);
    expect(await attempt()).toBeUndefined();
    expect(flashHolds(chip, app)).toBe(true);
    // Nothing can reset it afterwards either: the stub keeps running until EN is pressed, and
    // the flasher, hearing no boot lines, says so.
    expect(chip.mode).toBe("stub");
    expect(lastLog).toBe("Pulsed EN/RESET, but the chip printed nothing: if the board has no auto-reset circuit, press EN/RESET to start the new firmware");
  });

  it("detects a raw block corrupted in transit through the final MD5 check", async () => {
    const run = await flashInMemory([app], { compress: false, link: { tamper: swapInFrame(Command.FLASH_DATA, 2, 400) } });
    expect(run.error).toBeInstanceOf(CliError);
    const message = (run.error as Error).message;
    expect(message).toMatch(
      /^verification failed for liquid\.bin at 0x10000: the chip reports MD5 [0-9a-f]{32} for what it wrote, the image has [0-9a-f]{32}; the data was corrupted on the way\./,
    );
    const [flashMd5, fileMd5] = [...message.matchAll(/MD5 ([0-9a-f]{32})|has ([0-9a-f]{32})/g)].map((m) => m[1] ?? m[2]);
    expect(flashMd5).not.toBe(fileMd5);
    expect(flashHolds(run.chip, app)).toBe(false);
  });

  it("reports a compressed block corrupted in transit (the stub's inflater rejects it)", async () => {
    const run = await flashInMemory([app], { link: { tamper: swapInFrame(Command.FLASH_DEFL_DATA, 1, 200) } });
    expect(run.error).toBeInstanceOf(CliError);
    // The swap lands in a stored block's length field, which the stub's inflater checks.
    expect((run.error as Error).message).toBe(
      "the chip refused to write compressed data to flash after seq 1 (error 0xc7: inflate error: the compressed data arrived corrupted) while writing liquid.bin at 0x10000",
    );
    expect(run.chip.events).toContain("error 0xc7 on command 0x11: inflate failed at block 1: invalid stored block lengths");
  });

  it("says so when the board is unplugged in the middle of the write", async () => {
    let link!: MemoryLink;
    let blocks = 0;
    const run = await flashInMemory([app], {
      link: {
        tamper: (bytes) => {
          if (bytes[2] === Command.FLASH_DEFL_DATA && ++blocks === 3) link.unplug();
          return bytes;
        },
      },
      onLink: (l) => (link = l),
    });
    expect(run.error).toBeInstanceOf(CliError);
    expect((run.error as Error).message).toBe(
      "the board was disconnected while writing liquid.bin at 0x10000 on memory://esp32: plug it back in and run liquid flash again " +
        "(until then its flash may hold a partial image; the ROM loader is not affected)",
    );
  });

  it.each([
    ["ESP32-S3", ESP32_S3, "wrong chip on memory://esp32: found an ESP32-S3, but board esp32-devkitc has an ESP32; Liquid's ESP32 firmware would not run there (pick the matching --board, or check --port)"],
    ["ESP8266", ESP8266, "wrong chip on memory://esp32: found an ESP8266, but board esp32-devkitc has an ESP32; Liquid's ESP32 firmware would not run there (pick the matching --board, or check --port)"],
    ["unknown chip (magic 0xdeadbeef)", UNKNOWN_CHIP, "wrong chip on memory://esp32: it answers the ESP ROM loader protocol, but its chip magic value 0xdeadbeef belongs to no chip esptool knows, so it is not an ESP32; board esp32-devkitc needs an ESP32"],
  ])("refuses an %s before writing anything", async (_name, chip, message) => {
    const run = await flashInMemory([app], { chip });
    expect(run.error).toBeInstanceOf(CliError);
    expect((run.error as Error).message).toBe(message);
    expect(run.chip.flash.bytes.every((b) => b === 0xff)).toBe(true);
    expect(run.chip.events.some((e) => e.startsWith("stub started"))).toBe(false);
  });

  it("refuses an image that does not fit the detected flash", async () => {
    const run = await flashInMemory([{ ...app, address: 0x3f0000 }]);
    expect((run.error as Error).message).toBe(`liquid.bin does not fit: it would end at 0x${(0x3f0000 + app.data.length).toString(16)}, the flash is 4MB`);
    expect(run.chip.flash.bytes.every((b) => b === 0xff)).toBe(true);
  });
});

describe("liquid flash (the command) to the in-memory simulated ESP32", () => {
  it("resets the chip through DTR/RTS before and after, so the board boots the new firmware", async () => {
    const dir = mkdtempSync(join(tmpdir(), "liquid-flash-mem-"));
    const chip = new SimulatedEsp32();
    const undo = registerPortScheme("memory://", () => new MemoryLink(chip));
    try {
      const imagePath = join(dir, "liquid.bin");
      writeFileSync(imagePath, app.data);
      // Something stored further up the flash (an app in the module store) survives a plain flash...
      chip.flash.write(0x200000, Uint8Array.from([1, 2, 3, 4]));
      const run = await runLiquid(["flash", "--port", "memory://esp32", "--baud", "1500000", imagePath]);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expect(flashHolds(chip, app)).toBe(true);
      expect(run.stdout).not.toContain("has no DTR/RTS lines");
      expect(run.stdout).toContain("Baud rate 1500000");
      expect(run.stdout).toContain("Reset the chip: the new firmware is starting");
      expect(run.stdout).toContain(`Flashed 1 file(s), ${app.data.length} bytes, onto the ESP32-D0WD (revision 1) on memory://esp32 at 1500000 baud`);
      expect(chip.mode).toBe("booted");
      expect([...chip.flash.read(0x200000, 4)]).toEqual([1, 2, 3, 4]);
      // ...and is gone after --erase-all.
      const erased = await runLiquid(["flash", "--port", "memory://esp32", "--erase-all", "--verbose", imagePath]);
      expect(erased.code).toBe(0);
      // --verbose adds esptool-js's own lines.
      expect(erased.stdout).toContain("  esptool: Stub running...");
      expect(run.stdout).not.toContain("esptool:");
      expect(erased.stdout).toContain("Erasing the whole 4MB flash (apps and data stored on the board too)...");
      expect([...chip.flash.read(0x200000, 4)]).toEqual([0xff, 0xff, 0xff, 0xff]);
      expect(flashHolds(chip, app)).toBe(true);
    } finally {
      undo();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
