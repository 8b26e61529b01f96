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
  hex: string;
  uf2: string;
  target: string;
}

const DEFAULT_MOUNT_ROOTS = ["/media", "/run/media", "/mnt"];

/**
 * Flashes the nRF52840 firmware. With a debug probe (the DK's on-board J-Link, or any
 * CMSIS-DAP probe) it programs and verifies the .hex through openocd; with a board whose UF2
 * bootloader is running (double-tap RESET) it copies the .uf2 onto the bootloader's USB drive.
 * Both images are made from whichever one the build produced, so either route works.
 */
export async function flashNrf52840(req: NrfFlashRequest): Promise<NrfFlashResult> {
  const images = prepareImages(req.board, req.image, req.log);
  if (req.port) {
    if (!existsSync(req.port)) throw new CliError(`${req.port} does not exist: give the mounted UF2 bootloader drive (double-tap RESET to show it)`);
    if (!statSync(req.port).isDirectory()) {
      throw new CliError(`${req.port} is not a UF2 bootloader drive: the nRF52840 is flashed through a debug probe (no --port) or by copying onto the bootloader's drive folder`);
    }
    if (!isUf2Drive(req.port)) throw new CliError(`${req.port} is not a UF2 bootloader drive (it has no INFO_UF2.TXT)`);
    copyToDrive(images.uf2, req.port, req.log);
    return { method: "uf2-drive", ...images, target: req.port };
  }
  const drive = findUf2Drive(req.mountRoots ?? DEFAULT_MOUNT_ROOTS);
  if (drive) {
    copyToDrive(images.uf2, drive, req.log);
    return { method: "uf2-drive", ...images, target: drive };
  }
  const tried: string[] = [];
  for (const probe of PROBES) {
    const outcome = await runOpenocd(probe, images.hex);
    if (outcome.kind === "missing") {
      tried.push("openocd is not installed (apt-get install openocd)");
      break;
    }
    if (outcome.kind === "ok") {
      req.log(`Programmed and verified ${rel(images.hex)} through ${probe.name} (openocd); the board restarted`);
      return { method: "openocd", ...images, target: probe.name };
    }
    if (outcome.kind === "failed") throw new CliError(`openocd found a ${probe.name} probe but programming failed:\n${outcome.log}`);
    tried.push(`no ${probe.name} probe (${outcome.log})`);
  }
  throw new CliError(noProbeMessage(req.board.name, images, tried));
}

function noProbeMessage(board: string, images: { hex: string; uf2: string }, tried: string[]): string {
  const user = safeUser();
  return [
    `no way to reach the ${board} found: ${tried.join("; ")}, and no UF2 bootloader drive is mounted.`,
    `To flash it:`,
    `  - with the UF2 bootloader: double-tap RESET, wait for the drive (e.g. NRF52BOOT) to appear, then copy`,
    `      ${rel(images.uf2)}`,
    `    onto it (cp ${rel(images.uf2)} /media/${user}/NRF52BOOT/), or run: liquid flash --board ${board} --port /media/${user}/NRF52BOOT`,
    `  - with the DK's J-Link (USB port J2) or a CMSIS-DAP probe: connect it and run liquid flash --board ${board} again`,
    `    (or: nrfjprog --program ${rel(images.hex)} --sectorerase --verify --reset)`,
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

/** Reads the image the user named (or the build's), checks it fits the chip, and writes the
 * missing twin (.uf2 from .hex or the reverse) beside it. */
function prepareImages(board: BoardInfo, image: string | undefined, log: (line: string) => void): { hex: string; uf2: string } {
  const path = image ? resolve(image) : findBuildOutput(["build/nrf52840"], /\.(hex|uf2)$/i);
  if (!path) {
    throw new CliError(
      `no nRF52840 firmware under build/nrf52840: build it first (cmake -S . -B build/nrf52840 with the arm-none-eabi toolchain, see firmware/ports/nrf52840), or pass the .hex/.uf2 as IMAGE`,
    );
  }
  if (!existsSync(path)) throw new CliError(`${image} does not exist`);
  const ext = extname(path).toLowerCase();
  let runs: MemoryRun[];
  try {
    if (ext === ".hex" || ext === ".ihex") runs = parseIntelHex(readFileSync(path, "utf8"));
    else if (ext === ".uf2") {
      const uf2 = parseUf2(new Uint8Array(readFileSync(path)));
      if (uf2.familyId !== undefined && uf2.familyId !== UF2_FAMILY_NRF52840) {
        throw new CliError(`${path} is a UF2 file for family 0x${uf2.familyId.toString(16)}, not the nRF52840 (0x${UF2_FAMILY_NRF52840.toString(16)})`);
      }
      runs = uf2.runs;
    } else throw new CliError(`${path}: give the nRF52840 firmware as .hex or .uf2`);
  } catch (err) {
    if (err instanceof HexError || err instanceof Uf2Error) throw new CliError(`${path}: ${err.message}`);
    throw err;
  }
  if (runs.length === 0) throw new CliError(`${path} holds no data`);
  const flashSize = board.memory?.flash ?? 1024 * 1024;
  const last = runs[runs.length - 1]!;
  const uicr = (r: MemoryRun): boolean => r.address >= 0x10001000 && r.address < 0x10002000;
  for (const run of runs) {
    if (run.address + run.data.length > flashSize && !uicr(run)) {
      throw new CliError(`${path} has data at 0x${run.address.toString(16)}, outside the nRF52840's ${flashSize / 1024} KiB flash: built for another target?`);
    }
  }
  const size = runs.reduce((n, r) => n + r.data.length, 0);
  log(`Image: ${rel(path)}, ${size} bytes from 0x${runs[0]!.address.toString(16)} to 0x${(last.address + last.data.length).toString(16)}`);
  // The twin goes beside the image, where a user looks for it; if that folder is read-only,
  // into the state directory.
  const twinExt = ext === ".uf2" ? ".hex" : ".uf2";
  const twinData = ext === ".uf2" ? toIntelHex(runs) : toUf2(runs);
  let twin = `${path.slice(0, path.length - ext.length)}${twinExt}`;
  try {
    writeFileSync(twin, twinData);
  } catch {
    const slot = join(stateDir(), "firmware", board.name);
    mkdirSync(slot, { recursive: true });
    twin = join(slot, basename(twin));
    writeFileSync(twin, twinData);
  }
  return ext === ".uf2" ? { hex: twin, uf2: path } : { hex: path, uf2: twin };
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
