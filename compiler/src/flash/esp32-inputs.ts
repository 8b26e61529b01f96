import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { CliError } from "../command.js";
import { LIQUID_ROOT } from "../paths.js";
import { findBuildOutput } from "./build-outputs.js";
import type { FlashFile } from "./esp32-flasher.js";
import { ImageError, parseEsp32Image, type ParsedImage } from "./esp32-image.js";

/** Where ESP-IDF puts an application: after the bootloader (0x1000) and partition table (0x8000). */
export const DEFAULT_APP_ADDRESS = 0x10000;

export interface Esp32Input {
  files: FlashFile[];
  /** What each image file is, for the summary printed before flashing. */
  described: string[];
}

/**
 * Turns what the user named into the files to write:
 *  - an ESP32 app image (.bin starting with 0xE9): written at --address, default 0x10000;
 *  - ESP-IDF's flasher_args.json (or the build directory holding it): every file it lists, at
 *    its offset (bootloader, partition table, app), as `idf.py flash` would;
 *  - any other file only with an explicit --address (raw data, e.g. a partition).
 * Every image is checked (magic, segments, checksum, SHA-256, chip id) before a port is opened.
 */
export function resolveEsp32Input(imageArg: string | undefined, address: number | undefined, expectChip: string): Esp32Input {
  let path = imageArg ? resolve(imageArg) : defaultImage();
  if (!existsSync(path)) throw new CliError(`${imageArg ?? path} does not exist`);
  if (statSync(path).isDirectory()) {
    if (isPlatformioBuild(path)) {
      if (address !== undefined) throw new CliError("--address does not apply to a PlatformIO build folder: its files have fixed offsets");
      return fromPlatformio(path, expectChip);
    }
    const args = join(path, "flasher_args.json");
    if (!existsSync(args)) {
      throw new CliError(`${path} is a folder with neither ESP-IDF's flasher_args.json nor PlatformIO's firmware.bin/bootloader.bin/partitions.bin; pass the image file`);
    }
    path = args;
  }
  if (basename(path).endsWith(".json")) {
    if (address !== undefined) throw new CliError("--address does not apply to flasher_args.json: it gives every file's offset");
    return fromFlasherArgs(path, expectChip);
  }
  const data = new Uint8Array(readFileSync(path));
  if (data.length === 0) throw new CliError(`${path} is empty`);
  const file = { name: basename(path), address: address ?? DEFAULT_APP_ADDRESS, data };
  if (data[0] !== 0xe9) {
    if (address === undefined) {
      throw new CliError(`${path} is not an ESP32 app image (no 0xE9 header); to write raw data anyway, give its flash offset with --address`);
    }
    return { files: [file], described: [`${file.name}: ${data.length} bytes of raw data`] };
  }
  return { files: [file], described: [describe(file.name, checkImage(path, data, expectChip))] };
}

/** Where builds of firmware/ports/esp32 land: `idf.py -B build/esp32`, `idf.py` in the project
 * folder, PlatformIO (platformio.ini, env esp32dev), or a copied `liquid*.bin`. */
function defaultImage(): string {
  const pio = join(LIQUID_ROOT, ".pio", "build", "esp32dev");
  const found =
    findBuildOutput(["build/esp32", "firmware/ports/esp32/build"], /^flasher_args\.json$/) ??
    (isPlatformioBuild(pio) ? pio : undefined) ??
    findBuildOutput(["build/esp32"], /^liquid(-esp32)?\.bin$/);
  if (!found) {
    throw new CliError(
      "no ESP32 firmware image found under build/esp32: the ESP32 port is built with ESP-IDF or PlatformIO, which this machine does not have; " +
        "build it where they are installed (see firmware/ports/esp32) and pass the app .bin or ESP-IDF's flasher_args.json as IMAGE",
    );
  }
  return found;
}

function checkImage(path: string, data: Uint8Array, expectChip: string): ParsedImage {
  let parsed: ParsedImage;
  try {
    parsed = parseEsp32Image(data);
  } catch (err) {
    if (err instanceof ImageError) throw new CliError(`${path}: ${err.message}`);
    throw err;
  }
  if (parsed.chip !== expectChip) {
    throw new CliError(`${path} is an image for ${parsed.chip}, but the board has an ${expectChip}: it would not boot`);
  }
  return parsed;
}

function describe(name: string, image: ParsedImage): string {
  const app = image.app ? ` '${image.app.projectName}' ${image.app.version}` : "";
  return `${name}: ${image.chip} image${app}, ${image.segments.length} segments, entry 0x${image.entry.toString(16)}, ${image.spiMode.toUpperCase()} ${image.flashSize}`;
}

interface FlasherArgs {
  flash_files?: Record<string, string>;
  extra_esptool_args?: { chip?: string };
}

function fromFlasherArgs(path: string, expectChip: string): Esp32Input {
  let args: FlasherArgs;
  try {
    args = JSON.parse(readFileSync(path, "utf8")) as FlasherArgs;
  } catch (err) {
    throw new CliError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  const chip = args.extra_esptool_args?.chip;
  const norm = (s: string): string => s.toLowerCase().replace(/-/g, "");
  if (chip && norm(chip) !== norm(expectChip)) {
    throw new CliError(`${path} was built for ${chip}, but the board has an ${expectChip}`);
  }
  const entries = Object.entries(args.flash_files ?? {}).sort(([a], [b]) => Number(a) - Number(b));
  if (entries.length === 0) throw new CliError(`${path} lists no flash_files`);
  const files: FlashFile[] = [];
  const described: string[] = [];
  for (const [offset, rel] of entries) {
    const address = Number(offset);
    if (!Number.isInteger(address) || address < 0) throw new CliError(`${path}: bad offset '${offset}'`);
    const file = resolve(dirname(path), rel);
    if (!existsSync(file)) throw new CliError(`${path} lists ${rel}, which does not exist`);
    const data = new Uint8Array(readFileSync(file));
    const name = basename(file);
    files.push({ name, address, data });
    described.push(data[0] === 0xe9 ? describe(name, checkImage(file, data, expectChip)) : `${name}: ${data.length} bytes`);
  }
  for (let i = 1; i < files.length; i++) {
    const prev = files[i - 1]!;
    if (prev.address + prev.data.length > files[i]!.address) {
      throw new CliError(`${prev.name} (ends at 0x${(prev.address + prev.data.length).toString(16)}) overlaps ${files[i]!.name} at 0x${files[i]!.address.toString(16)}`);
    }
  }
  return { files, described };
}

/** PlatformIO's ESP-IDF output: the three files at the offsets its upload step uses. */
const PLATFORMIO_FILES: Array<[string, number]> = [
  ["bootloader.bin", 0x1000],
  ["partitions.bin", 0x8000],
  ["firmware.bin", DEFAULT_APP_ADDRESS],
];

function isPlatformioBuild(dir: string): boolean {
  return PLATFORMIO_FILES.every(([name]) => existsSync(join(dir, name)));
}

function fromPlatformio(dir: string, expectChip: string): Esp32Input {
  const files: FlashFile[] = [];
  const described: string[] = [];
  for (const [name, address] of PLATFORMIO_FILES) {
    const path = join(dir, name);
    const data = new Uint8Array(readFileSync(path));
    files.push({ name, address, data });
    described.push(data[0] === 0xe9 ? describe(name, checkImage(path, data, expectChip)) : `${name}: ${data.length} bytes`);
  }
  return { files, described };
}
