import { spawn } from "node:child_process";
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync, writeSync } from "node:fs";
import { userInfo } from "node:os";
import { basename, extname, join, relative, resolve } from "node:path";
import { CliError } from "../command.js";
import { LIQUID_ROOT } from "../paths.js";
import { stateDir } from "../transport/registry.js";
import type { BoardInfo } from "./boards.js";
import { findBuildOutput } from "./build-outputs.js";
import { HexError, parseIntelHex, toIntelHex, type MemoryRun } from "./intel-hex.js";
import { parseUf2, toUf2, Uf2Error, UF2_FAMILY_NRF52840 } from "./uf2.js";

export interface NrfFlashRequest {
  board: BoardInfo;
  image?: string;
  /** A mounted UF2 bootloader drive, or nothing to search for one and then for a probe. */
  port?: string;
  log: (line: string) => void;
  /** Folders searched for a mounted UF2 drive (default: the usual automount places). */
  mountRoots?: string[];
}

export interface NrfFlashResult {
  method: "uf2-drive" | "openocd";
  /** The file written (a .uf2 onto the drive, a .hex through the probe). */
  image: string;
  target: string;
}

const DEFAULT_MOUNT_ROOTS = ["/media", "/run/media", "/mnt"];
/** The MBR's page: an image with data here replaces what the UF2 bootloader stands on. */
const MBR_END = 0x1000;

/**
 * Flashes the nRF52840 firmware. The build makes two layouts (firmware/ports/nrf52840): the
 * DK's `liquid-nrf52840.hex`, linked at 0x0 and programmed through a debug probe, and
 * `liquid-nrf52840.uf2`, linked at 0x26000 for the Adafruit UF2 bootloader. Each route uses its
 * own file. With a UF2 bootloader drive (given as --port, or mounted) the .uf2 is copied onto
 * it; otherwise openocd programs and verifies the .hex through the DK's J-Link or a CMSIS-DAP
 * probe. A missing file is converted from the other layout's only where that is safe, into the
 * state directory, never over the build's files.
 */
export async function flashNrf52840(req: NrfFlashRequest): Promise<NrfFlashResult> {
  const images = locateImages(req.board, req.image, req.log);
  if (req.port) {
    if (!existsSync(req.port)) throw new CliError(`${req.port} does not exist: give the mounted UF2 bootloader drive (double-tap RESET to show it)`);
    if (!statSync(req.port).isDirectory()) {
      throw new CliError(`${req.port} is not a UF2 bootloader drive: the nRF52840 is flashed through a debug probe (no --port) or by copying onto the bootloader's drive folder`);
    }
    if (!isUf2Drive(req.port)) throw new CliError(`${req.port} is not a UF2 bootloader drive (it has no INFO_UF2.TXT)`);
    const uf2 = uf2For(req.board, images, req.log);
    copyToDrive(uf2, req.port, req.log);
    return { method: "uf2-drive", image: uf2, target: req.port };
  }
  const drive = findUf2Drive(req.mountRoots ?? DEFAULT_MOUNT_ROOTS);
  if (drive) {
    const uf2 = uf2For(req.board, images, req.log);
    copyToDrive(uf2, drive, req.log);
    return { method: "uf2-drive", image: uf2, target: drive };
  }
  const hex = hexFor(req.board, images, req.log);
  const tried: string[] = [];
  for (const probe of PROBES) {
    const outcome = await runOpenocd(probe, hex);
    if (outcome.kind === "missing") {
      tried.push("openocd is not installed (apt-get install openocd)");
      break;
    }
    if (outcome.kind === "ok") {
      req.log(`Programmed and verified ${rel(hex)} through ${probe.name} (openocd); the board restarted`);
      return { method: "openocd", image: hex, target: probe.name };
    }
    if (outcome.kind === "failed") throw new CliError(`openocd found a ${probe.name} probe but programming failed:\n${outcome.log}`);
    tried.push(`no ${probe.name} probe (${outcome.log})`);
  }
  throw new CliError(noProbeMessage(req.board.name, images, hex, tried));
}

function noProbeMessage(board: string, images: Located, hex: string, tried: string[]): string {
  const user = safeUser();
  const uf2 = images.uf2?.path;
  return [
    `no way to reach the ${board} found: ${tried.join("; ")}, and no UF2 bootloader drive is mounted.`,
    `To flash it:`,
    uf2
      ? `  - with the UF2 bootloader: double-tap RESET, wait for the drive (e.g. NRF52BOOT) to appear, then copy\n      ${rel(uf2)}\n` +
        `    onto it (cp ${rel(uf2)} /media/${user}/NRF52BOOT/), or run: liquid flash --board ${board} --port /media/${user}/NRF52BOOT`
      : `  - with the UF2 bootloader: build liquid-nrf52840.uf2 (linked at 0x26000 for it), double-tap RESET, and run\n` +
        `    liquid flash --board ${board} --port /media/${user}/NRF52BOOT`,
    `  - with the DK's J-Link (USB port J2) or a CMSIS-DAP probe: connect it and run liquid flash --board ${board} again`,
    `    (or: nrfjprog --program ${rel(hex)} --sectorerase --verify --reset)`,
  ].join("\n");
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "$USER";
  }
}

function rel(path: string): string {
  const r = relative(process.cwd(), path);
  return r.startsWith("..") ? path : r;
}

interface Image {
  path: string;
  runs: MemoryRun[];
}

interface Located {
  hex?: Image;
  uf2?: Image;
}

/** The images to use: the one the user named, or the build's two layouts. Each is read and
 * checked (format, family, fits the chip's flash) before anything is written anywhere. */
function locateImages(board: BoardInfo, image: string | undefined, log: (line: string) => void): Located {
  const located: Located = {};
  if (image) {
    const path = resolve(image);
    if (!existsSync(path)) throw new CliError(`${image} does not exist`);
    const ext = extname(path).toLowerCase();
    if (ext === ".uf2") located.uf2 = readImage(board, path, log);
    else if (ext === ".hex" || ext === ".ihex") located.hex = readImage(board, path, log);
    else throw new CliError(`${path}: give the nRF52840 firmware as .hex or .uf2`);
    return located;
  }
  const hex = findBuildOutput(["build/nrf52840"], /^liquid-nrf52840\.hex$/);
  const uf2 = findBuildOutput(["build/nrf52840"], /^liquid-nrf52840\.uf2$/);
  if (!hex && !uf2) {
    throw new CliError(
      "no nRF52840 firmware under build/nrf52840: build it first (cmake -S . -B build/nrf52840 -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake -DLIQUID_PORT=nrf52840, see README), or pass the .hex/.uf2 as IMAGE",
    );
  }
  if (hex) located.hex = readImage(board, hex, log);
  if (uf2) located.uf2 = readImage(board, uf2, log);
  return located;
}

function readImage(board: BoardInfo, path: string, log: (line: string) => void): Image {
  let runs: MemoryRun[];
  try {
    if (path.toLowerCase().endsWith(".uf2")) {
      const uf2 = parseUf2(new Uint8Array(readFileSync(path)));
      if (uf2.familyId !== undefined && uf2.familyId !== UF2_FAMILY_NRF52840) {
        throw new CliError(`${path} is a UF2 file for family 0x${uf2.familyId.toString(16)}, not the nRF52840 (0x${UF2_FAMILY_NRF52840.toString(16)})`);
      }
      runs = uf2.runs;
    } else runs = parseIntelHex(readFileSync(path, "utf8"));
  } catch (err) {
    if (err instanceof HexError || err instanceof Uf2Error) throw new CliError(`${path}: ${err.message}`);
    throw err;
  }
  if (runs.length === 0) throw new CliError(`${path} holds no data`);
  const flashSize = board.memory?.flash ?? 1024 * 1024;
  const uicr = (r: MemoryRun): boolean => r.address >= 0x10001000 && r.address < 0x10002000;
  for (const run of runs) {
    if (run.address + run.data.length > flashSize && !uicr(run)) {
      throw new CliError(`${path} has data at 0x${run.address.toString(16)}, outside the nRF52840's ${flashSize / 1024} KiB flash: built for another target?`);
    }
  }
  const size = runs.reduce((n, r) => n + r.data.length, 0);
  const last = runs[runs.length - 1]!;
  log(`Image: ${rel(path)}, ${size} bytes from 0x${runs[0]!.address.toString(16)} to 0x${(last.address + last.data.length).toString(16)}`);
  return { path, runs };
}

/** The .uf2 for the bootloader drive: the build's, or converted from a .hex that leaves the
 * MBR and bootloader region alone. */
function uf2For(board: BoardInfo, images: Located, log: (line: string) => void): string {
  if (images.uf2) return images.uf2.path;
  const hex = images.hex!;
  if (hex.runs[0]!.address < MBR_END) {
    throw new CliError(
      `${rel(hex.path)} starts at 0x${hex.runs[0]!.address.toString(16)}, where the MBR and the UF2 bootloader's SoftDevice live: ` +
        `it is the DK layout, for a debug probe. The UF2 bootloader needs the image linked for it (liquid-nrf52840.uf2, at 0x26000)`,
    );
  }
  return convert(board, hex.path, ".uf2", toUf2(hex.runs), log);
}

/** The .hex for the probe: the build's, or converted from the .uf2 (still its layout). */
function hexFor(board: BoardInfo, images: Located, log: (line: string) => void): string {
  if (images.hex) return images.hex.path;
  const uf2 = images.uf2!;
  log(
    `note: programming ${rel(uf2.path)} through a probe keeps its UF2-bootloader layout (from 0x${uf2.runs[0]!.address.toString(16)}): ` +
      `the chip needs that bootloader's MBR and SoftDevice to start it`,
  );
  return convert(board, uf2.path, ".hex", toIntelHex(uf2.runs), log);
}

function convert(board: BoardInfo, from: string, ext: string, data: string | Uint8Array, log: (line: string) => void): string {
  const slot = join(stateDir(), "firmware", board.name);
  mkdirSync(slot, { recursive: true });
  const out = join(slot, basename(from, extname(from)) + ext);
  writeFileSync(out, data);
  log(`Converted ${rel(from)} to ${out}`);
  return out;
}

function isUf2Drive(dir: string): boolean {
  return existsSync(join(dir, "INFO_UF2.TXT"));
}

/** A mounted UF2 bootloader drive for an nRF52840 (its INFO_UF2.TXT names the chip). */
export function findUf2Drive(roots: string[]): string | undefined {
  const candidates: string[] = [];
  for (const root of roots) {
    for (const dir of subdirs(root)) {
      candidates.push(dir);
      candidates.push(...subdirs(dir));
    }
  }
  return candidates.find((dir) => {
    if (!isUf2Drive(dir)) return false;
    const info = readFileSync(join(dir, "INFO_UF2.TXT"), "utf8");
    return /nrf52840/i.test(info);
  });
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => join(dir, e.name));
  } catch {
    return [];
  }
}

function copyToDrive(uf2: string, drive: string, log: (line: string) => void): void {
  const target = join(drive, basename(uf2));
  const data = readFileSync(uf2);
  // Write and fsync: the bootloader starts flashing as blocks arrive and resets at the end,
  // so the copy must really reach the device before we say it is done.
  const fd = openSync(target, "w");
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  log(`Copied ${rel(uf2)} (${data.length / 512} UF2 blocks) to the bootloader drive ${drive}; the board flashes it and restarts`);
}

interface Probe {
  name: string;
  args: string[];
}

const PROBES: Probe[] = [
  { name: "J-Link", args: ["-f", "interface/jlink.cfg", "-c", "transport select swd", "-f", "target/nrf52.cfg"] },
  { name: "CMSIS-DAP", args: ["-f", "interface/cmsis-dap.cfg", "-f", "target/nrf52.cfg"] },
];

type OpenocdOutcome = { kind: "ok" } | { kind: "missing" } | { kind: "no-probe"; log: string } | { kind: "failed"; log: string };

function runOpenocd(probe: Probe, hex: string): Promise<OpenocdOutcome> {
  const program = `program {${hex}} verify reset exit`;
  return new Promise((done) => {
    const child = spawn("openocd", [...probe.args, "-c", program], { cwd: LIQUID_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    child.stdout.on("data", (c: Buffer) => (log += c.toString()));
    child.stderr.on("data", (c: Buffer) => (log += c.toString()));
    child.on("error", (err: NodeJS.ErrnoException) => done(err.code === "ENOENT" ? { kind: "missing" } : { kind: "failed", log: err.message }));
    child.on("close", (code) => {
      if (code === 0 && /verified/i.test(log)) return done({ kind: "ok" });
      const noProbe = /No J-Link device found|unable to find a matching CMSIS-DAP device|No CMSIS-DAP device|unable to open .* device|No device found/i.exec(log);
      if (noProbe) return done({ kind: "no-probe", log: noProbe[0] });
      done({ kind: "failed", log: log.trim().split("\n").slice(-8).join("\n") });
    });
  });
}
