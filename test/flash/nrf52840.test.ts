import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseIntelHex, toIntelHex } from "../../compiler/src/flash/intel-hex.js";
import { parseUf2, toUf2, UF2_FAMILY_NRF52840 } from "../../compiler/src/flash/uf2.js";
import { pseudoRandom } from "./firmware-image.js";
import { runLiquid } from "./run-cli.js";

const dir = mkdtempSync(join(tmpdir(), "liquid-nrf-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A firmware shaped like the nRF52840 build: vector table at 0, code after it, a gap, and data.
const runs = [
  { address: 0x0000, data: pseudoRandom(0x200, 1) },
  { address: 0x0200, data: pseudoRandom(0x2345, 2) },
  { address: 0x8000, data: pseudoRandom(0x101, 3) },
];
const hexPath = join(dir, "liquid-nrf52840.hex");
writeFileSync(hexPath, toIntelHex(runs));

function openocdInstalled(): boolean {
  try {
    execFileSync("openocd", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("liquid flash --board nrf52840-dk", () => {
  it("converts Intel HEX to UF2 and back without losing a byte", () => {
    const parsed = parseIntelHex(readFileSync(hexPath, "utf8"));
    expect(parsed.map((r) => [r.address, r.data.length])).toEqual([
      [0x0000, 0x2545],
      [0x8000, 0x101],
    ]);
    const uf2 = parseUf2(toUf2(parsed));
    expect(uf2.familyId).toBe(UF2_FAMILY_NRF52840);
    const memory = new Uint8Array(0x8200).fill(0xff);
    for (const r of uf2.runs) memory.set(r.data, r.address);
    for (const r of runs) expect(Buffer.from(memory.subarray(r.address, r.address + r.data.length)).equals(Buffer.from(r.data))).toBe(true);
  });

  it("copies the .uf2 onto a UF2 bootloader drive given as --port", async () => {
    const drive = join(dir, "NRF52BOOT");
    mkdirSync(drive);
    writeFileSync(join(drive, "INFO_UF2.TXT"), "UF2 Bootloader 0.6.0\nModel: nRF52840 DK\nBoard-ID: nRF52840-pca10056\n");
    const run = await runLiquid(["flash", "--board", "nrf52840-dk", "--port", drive, hexPath]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Image: ${hexPath}, 9798 bytes from 0x0 to 0x8101`);
    expect(run.stdout).toContain(`(${Math.ceil(0x2545 / 256) + 2} UF2 blocks) to the bootloader drive ${drive}; the board flashes it and restarts`);
    const copied = parseUf2(new Uint8Array(readFileSync(join(drive, "liquid-nrf52840.uf2"))));
    expect(copied.runs[0]!.address).toBe(0);
    expect(Buffer.from(copied.runs[0]!.data).equals(Buffer.from(runs[0]!.data.subarray(0, 256)))).toBe(true);
    // The twin image is left beside the .hex for copying by hand.
    expect(existsSync(join(dir, "liquid-nrf52840.uf2"))).toBe(true);
  });

  it("without probe or drive, says how to flash by hand", async () => {
    const run = await runLiquid(["flash", "--board", "nrf52840-dk", hexPath]);
    expect(run.code).toBe(1);
    const why = openocdInstalled()
      ? "no J-Link probe (No J-Link device found); no CMSIS-DAP probe (unable to find a matching CMSIS-DAP device)"
      : "openocd is not installed (apt-get install openocd)";
    expect(run.stderr).toContain(`liquid flash: no way to reach the nrf52840-dk found: ${why}, and no UF2 bootloader drive is mounted.`);
    expect(run.stderr).toContain("double-tap RESET");
    expect(run.stderr).toContain(join(dir, "liquid-nrf52840.uf2"));
  });

  it("rejects images that are broken or not for this chip", async () => {
    const bad = join(dir, "bad.hex");
    writeFileSync(bad, ":0400000001020304F1\n:00000001FF\n");
    expect((await runLiquid(["flash", "--board", "nrf52840-dk", bad])).stderr).toBe(`liquid flash: ${bad}: line 1: checksum mismatch\n`);
    const truncated = join(dir, "truncated.hex");
    writeFileSync(truncated, toIntelHex(runs).split("\n").slice(0, 5).join("\n"));
    expect((await runLiquid(["flash", "--board", "nrf52840-dk", truncated])).stderr).toBe(`liquid flash: ${truncated}: no end-of-file record: the file is truncated\n`);
    const far = join(dir, "far.hex");
    writeFileSync(far, toIntelHex([{ address: 0x20000000, data: pseudoRandom(16, 4) }]));
    expect((await runLiquid(["flash", "--board", "nrf52840-dk", far])).stderr).toBe(
      `liquid flash: ${far} has data at 0x20000000, outside the nRF52840's 1024 KiB flash: built for another target?\n`,
    );
    const rp2040 = join(dir, "pico.uf2");
    writeFileSync(rp2040, toUf2(runs, 0xe48bff56));
    expect((await runLiquid(["flash", "--board", "nrf52840-dk", rp2040])).stderr).toBe(
      `liquid flash: ${rp2040} is a UF2 file for family 0xe48bff56, not the nRF52840 (0xada52840)\n`,
    );
    const notDrive = join(dir, "plain-folder");
    mkdirSync(notDrive);
    expect((await runLiquid(["flash", "--board", "nrf52840-dk", "--port", notDrive, hexPath])).stderr).toBe(
      `liquid flash: ${notDrive} is not a UF2 bootloader drive (it has no INFO_UF2.TXT)\n`,
    );
    expect((await runLiquid(["flash", "--board", "nrf52840-dk", "--baud", "921600", hexPath])).stderr).toMatch(
      /^liquid flash: --baud applies to ESP32 boards only \(board nrf52840-dk is nrf52840\)\n/,
    );
  });
});
