import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { CliError } from "../command.js";
import { stateDir } from "../transport/registry.js";
import { listBoards, loadBoard, type BoardInfo } from "./boards.js";
import { findPreferredBuildOutput } from "./build-outputs.js";

/**
 * "Flashing" an emulated board (QEMU mps2-an386, or the posix firmware process) installs the
 * firmware file into the board's slot in the state directory:
 *
 *   $LIQUID_HOME/firmware/BOARD/FILE          (LIQUID_HOME defaults to ~/.liquid)
 *   $LIQUID_HOME/firmware/BOARD/firmware.json  { board, file, source, sha256, size, flashedAt }
 *
 * This is the firmware `liquid emulate` is meant to boot (flashedFirmware gives it the file), so
 * the flow is the same as for a real board: build, flash once, then deploy apps.
 */
export interface EmulatorFirmware {
  board: string;
  file: string;
  source: string;
  sha256: string;
  size: number;
  flashedAt: string;
}

interface ElfKind {
  label: string;
  /** ELFCLASS: 1 = 32-bit, 2 = 64-bit. */
  elfClass: number;
  /** e_machine values accepted. */
  machines: number[];
  buildDirs: string[];
  names: RegExp;
  fileName: string;
  executable: boolean;
}

const EM_ARM = 40;
const EM_X86_64 = 62;
const EM_AARCH64 = 183;

const KINDS: Record<string, ElfKind> = {
  qemu: {
    label: "an Arm Cortex-M ELF (liquid-qemu.elf)",
    elfClass: 1,
    machines: [EM_ARM],
    buildDirs: ["build/qemu"],
    names: /^liquid-qemu\.elf$/,
    fileName: "liquid-qemu.elf",
    executable: false,
  },
  posix: {
    label: "a Linux executable (liquid-device)",
    elfClass: 2,
    machines: [process.arch === "arm64" ? EM_AARCH64 : EM_X86_64],
    // As liquid emulate looks for it: release, then plain, then the sanitized test build.
    buildDirs: ["build/posix-release", "build/posix", "build/posix-asan"],
    names: /^liquid-device$/,
    fileName: "liquid-device",
    executable: true,
  },
};

export function firmwareSlot(board: string): string {
  return join(stateDir(), "firmware", board);
}

/**
 * The firmware last flashed to an emulated board, or undefined if none was. `board` is a board
 * name (qemu-mps2-an386) or its target (qemu), as `liquid emulate --board` spells it.
 */
export function flashedFirmware(board: string): (EmulatorFirmware & { path: string }) | undefined {
  const slot = installedIn(board);
  if (slot) return slot;
  for (const name of listBoards()) {
    if (name === board) continue;
    try {
      if (loadBoard(name).target === board) {
        const found = installedIn(name);
        if (found) return found;
      }
    } catch {
      // a broken board file is not ours to report here
    }
  }
  return undefined;
}

function installedIn(board: string): (EmulatorFirmware & { path: string }) | undefined {
  const meta = join(firmwareSlot(board), "firmware.json");
  if (!existsSync(meta)) return undefined;
  const info = JSON.parse(readFileSync(meta, "utf8")) as EmulatorFirmware;
  const path = join(firmwareSlot(board), info.file);
  return existsSync(path) ? { ...info, path } : undefined;
}

export function flashEmulator(board: BoardInfo, image: string | undefined, log: (line: string) => void): EmulatorFirmware & { path: string } {
  const kind = KINDS[board.target];
  if (!kind) throw new CliError(`board ${board.name} (${board.target}) is not an emulated board`);
  const source = image ? resolve(image) : findPreferredBuildOutput(kind.buildDirs, kind.names);
  if (!source) {
    throw new CliError(`no ${kind.fileName} under ${kind.buildDirs.join(" or ")}: build the firmware first (cmake), or pass the file as IMAGE`);
  }
  if (!existsSync(source)) throw new CliError(`${image} does not exist`);
  const data = readFileSync(source);
  checkElf(source, data, kind);
  const slot = firmwareSlot(board.name);
  mkdirSync(slot, { recursive: true });
  const target = join(slot, kind.fileName);
  // Copy then rename, so a running `liquid emulate` never sees half a file.
  const tmp = `${target}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  if (kind.executable) chmodSync(tmp, 0o755);
  renameSync(tmp, target);
  const info: EmulatorFirmware = {
    board: board.name,
    file: kind.fileName,
    source,
    sha256: createHash("sha256").update(data).digest("hex"),
    size: data.length,
    flashedAt: new Date().toISOString(),
  };
  writeFileSync(join(slot, "firmware.json"), JSON.stringify(info, null, 2) + "\n");
  log(`Installed ${source} (${data.length} bytes, sha256 ${info.sha256.slice(0, 16)}...) as the firmware of ${board.name}: ${target}`);
  return { ...info, path: target };
}

function checkElf(path: string, data: Buffer, kind: ElfKind): void {
  if (data.length < 20 || data.readUInt32BE(0) !== 0x7f454c46) throw new CliError(`${path} is not an ELF file; expected ${kind.label}`);
  const elfClass = data[4]!;
  const machine = data.readUInt16LE(18);
  if (elfClass !== kind.elfClass || !kind.machines.includes(machine)) {
    throw new CliError(`${path} is an ELF for another machine (class ${elfClass}, e_machine ${machine}); expected ${kind.label}`);
  }
}
