import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseIntelHex, toIntelHex } from "../../compiler/src/flash/intel-hex.js";
import { parseUf2, toUf2, UF2_FAMILY_NRF52840 } from "../../compiler/src/flash/uf2.js";
import { pseudoRandom } from "./firmware-image.js";
import { runLiquid } from "./run-cli.js";
import { useLiquidHome } from "../helpers/liquid-home.js";

const dir = mkdtempSync(join(tmpdir(), "liquid-nrf-"));
const home = join(dir, "home");
let restoreHome: () => void = () => {};
beforeAll(() => {
  restoreHome = useLiquidHome(home);
});
afterAll(() => {
  restoreHome();
  rmSync(dir, { recursive: true, force: true });
});

// Firmware shaped like the two layouts of the nRF52840 build: the DK's at 0x0 (vector table,
// code, data after a gap) and the UF2 bootloader's at 0x26000.
const dkRuns = [
  { address: 0x0000, data: pseudoRandom(0x200, 1) },
  { address: 0x0200, data: pseudoRandom(0x2345, 2) },
  { address: 0x8000, data: pseudoRandom(0x101, 3) },
];
const uf2Runs = [{ address: 0x26000, data: pseudoRandom(0x2545, 4) }];
const dkHex = join(dir, "liquid-nrf52840.hex");
writeFileSync(dkHex, toIntelHex(dkRuns));
const appHex = join(dir, "app-at-26000.hex");
writeFileSync(appHex, toIntelHex(uf2Runs));

function openocdInstalled(): boolean {
  try {
    execFileSync("openocd", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function makeDrive(name: string): string {
  const drive = join(dir, name);
  mkdirSync(drive);
  writeFileSync(join(drive, "INFO_UF2.TXT"), "UF2 Bootloader 0.6.0\nModel: Adafruit Feather nRF52840\nBoard-ID: nRF52840-Feather-revD\n");
  return drive;
}

describe("liquid flash --board nrf52840-dk", () => {
  it("converts Intel HEX to UF2 and back without losing a byte", () => {
    const parsed = parseIntelHex(readFileSync(dkHex, "utf8"));
    expect(parsed.map((r) => [r.address, r.data.length])).toEqual([
      [0x0000, 0x2545],
      [0x8000, 0x101],
    ]);
    const uf2 = parseUf2(toUf2(parsed));
    expect(uf2.familyId).toBe(UF2_FAMILY_NRF52840);
    const memory = new Uint8Array(0x8200).fill(0xff);
    for (const r of uf2.runs) memory.set(r.data, r.address);
    for (const r of dkRuns) expect(Buffer.from(memory.subarray(r.address, r.address + r.data.length)).equals(Buffer.from(r.data))).toBe(true);
  });

  it("copies a .uf2 onto the UF2 bootloader drive given as --port, as it is", async () => {
    const drive = makeDrive("NRF52BOOT");
    const uf2Path = join(dir, "liquid-nrf52840.uf2");
    const bytes = toUf2(uf2Runs);
    writeFileSync(uf2Path, bytes);
    const run = await runLiquid(["flash", "--board", "nrf52840-dk", "--port", drive, uf2Path]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Image: ${uf2Path}, ${38 * 256} bytes from 0x26000 to 0x28600`);
    expect(run.stdout).toContain(`(38 UF2 blocks) to the bootloader drive ${drive}; the board flashes it and restarts`);
    expect(Buffer.from(readFileSync(join(drive, "liquid-nrf52840.uf2"))).equals(Buffer.from(bytes))).toBe(true);
  });

  it("converts a .hex linked for the bootloader into the state directory, never beside the build's files", async () => {
    const drive = makeDrive("FTHR840BOOT");
    const run = await runLiquid(["flash", "--board", "nrf52840-dk", "--port", drive, appHex]);
    expect(run.stderr).toBe("");
    const converted = join(home, "firmware", "nrf52840-dk", "app-at-26000.uf2");
    expect(run.stdout).toContain(`Converted ${appHex} to ${converted}`);
    expect(existsSync(join(dir, "app-at-26000.uf2"))).toBe(false);
    const copied = parseUf2(new Uint8Array(readFileSync(join(drive, "app-at-26000.uf2"))));
    expect(copied.runs[0]!.address).toBe(0x26000);
    expect(Buffer.from(copied.runs[0]!.data).equals(Buffer.from(uf2Runs[0]!.data.subarray(0, 256)))).toBe(true);
  });

  it("refuses to put the DK layout (linked at 0x0) onto a UF2 bootloader", async () => {
    const drive = makeDrive("NRF52BOOT2");
    const run = await runLiquid(["flash", "--board", "nrf52840-dk", "--port", drive, dkHex]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `liquid flash: ${dkHex} starts at 0x0, where the MBR and the UF2 bootloader's SoftDevice live: it is the DK layout, for a debug probe. ` +
        "The UF2 bootloader needs the image linked for it (liquid-nrf52840.uf2, at 0x26000)\n",
    );
    expect(readdirSync(drive)).toEqual(["INFO_UF2.TXT"]);
  });

  it("without probe or drive, says how to flash by hand", async () => {
    const run = await runLiquid(["flash", "--board", "nrf52840-dk", dkHex]);
    expect(run.code).toBe(1);
    const why = openocdInstalled()
      ? "no J-Link probe (No J-Link device found); no CMSIS-DAP probe (unable to find a matching CMSIS-DAP device)"
      : "openocd is not installed (apt-get install openocd)";
    expect(run.stderr).toContain(`liquid flash: no way to reach the nrf52840-dk found: ${why}, and no UF2 bootloader drive is mounted.`);
    expect(run.stderr).toContain("build liquid-nrf52840.uf2 (linked at 0x26000 for it), double-tap RESET");
    expect(run.stderr).toContain(`nrfjprog --program ${dkHex} --sectorerase --verify --reset`);
  });

  it("rejects images that are broken or not for this chip", async () => {
    const bad = join(dir, "bad.hex");
    writeFileSync(bad, ":0400000001020304F1\n:00000001FF\n");
    expect((await runLiquid(["flash", "--board", "nrf52840-dk", bad])).stderr).toBe(`liquid flash: ${bad}: line 1: checksum mismatch\n`);
    const truncated = join(dir, "truncated.hex");
    writeFileSync(truncated, toIntelHex(dkRuns).split("\n").slice(0, 5).join("\n"));
    expect((await runLiquid(["flash", "--board", "nrf52840-dk", truncated])).stderr).toBe(`liquid flash: ${truncated}: no end-of-file record: the file is truncated\n`);
    const far = join(dir, "far.hex");
    writeFileSync(far, toIntelHex([{ address: 0x20000000, data: pseudoRandom(16, 4) }]));
    expect((await runLiquid(["flash", "--board", "nrf52840-dk", far])).stderr).toBe(
      `liquid flash: ${far} has data at 0x20000000, outside the nRF52840's 1024 KiB flash: built for another target?\n`,
    );
    const rp2040 = join(dir, "pico.uf2");
    writeFileSync(rp2040, toUf2(dkRuns, 0xe48bff56));
    expect((await runLiquid(["flash", "--board", "nrf52840-dk", rp2040])).stderr).toBe(
      `liquid flash: ${rp2040} is a UF2 file for family 0xe48bff56, not the nRF52840 (0xada52840)\n`,
    );
    const notDrive = join(dir, "plain-folder");
    mkdirSync(notDrive);
    expect((await runLiquid(["flash", "--board", "nrf52840-dk", "--port", notDrive, dkHex])).stderr).toBe(
      `liquid flash: ${notDrive} is not a UF2 bootloader drive (it has no INFO_UF2.TXT)\n`,
    );
    expect((await runLiquid(["flash", "--board", "nrf52840-dk", "--baud", "921600", dkHex])).stderr).toMatch(
      /^liquid flash: --baud applies to ESP32 boards only \(board nrf52840-dk is nrf52840\)\n/,
    );
  });
});
