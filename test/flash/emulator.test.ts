import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flashedFirmware } from "../../compiler/src/flash/emulator-flasher.js";
import { runLiquid } from "./run-cli.js";
import { useLiquidHome } from "../helpers/liquid-home.js";

const dir = mkdtempSync(join(tmpdir(), "liquid-emu-"));
const home = join(dir, "home");
let restoreHome: () => void = () => {};

/** The first bytes of an ELF file: enough for the checks, not a program. */
function elfHeader(elfClass: number, machine: number, size = 4096): Buffer {
  const b = Buffer.alloc(size, 0x5a);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = elfClass;
  b[5] = 1;
  b.writeUInt16LE(machine, 18);
  return b;
}

beforeAll(() => {
  restoreHome = useLiquidHome(home);
});
afterAll(() => {
  restoreHome();
  rmSync(dir, { recursive: true, force: true });
});

describe("liquid flash for emulated boards", () => {
  it("installs the QEMU firmware where liquid emulate boots it from", async () => {
    const elf = join(dir, "liquid-qemu.elf");
    const data = elfHeader(1, 40);
    writeFileSync(elf, data);
    const run = await runLiquid(["flash", "--board", "qemu-mps2-an386", elf]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const installed = join(home, "firmware", "qemu-mps2-an386", "liquid-qemu.elf");
    expect(readFileSync(installed).equals(data)).toBe(true);
    const meta = flashedFirmware("qemu-mps2-an386")!;
    expect(meta).toMatchObject({ board: "qemu-mps2-an386", file: "liquid-qemu.elf", source: elf, size: 4096, path: installed });
    expect(meta.sha256).toBe(createHash("sha256").update(data).digest("hex"));
    expect(run.stdout).toContain(`as the firmware of qemu-mps2-an386: ${installed}`);
    // liquid emulate spells the board by its target.
    expect(flashedFirmware("qemu")!.path).toBe(installed);
  });

  it("installs the posix firmware as an executable", async () => {
    const exe = join(dir, "liquid-device");
    writeFileSync(exe, elfHeader(2, process.arch === "arm64" ? 183 : 62));
    const run = await runLiquid(["flash", "--board", "posix", exe]);
    expect(run.code).toBe(0);
    const installed = flashedFirmware("posix")!.path;
    expect(statSync(installed).mode & 0o111).toBe(0o111);
  });

  it("refuses a file for the wrong machine, and options that do not apply", async () => {
    const x86 = join(dir, "x86.elf");
    writeFileSync(x86, elfHeader(2, 62));
    const run = await runLiquid(["flash", "--board", "qemu-mps2-an386", x86]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`liquid flash: ${x86} is an ELF for another machine (class 2, e_machine 62); expected an Arm Cortex-M ELF (liquid-qemu.elf)\n`);
    const text = join(dir, "notes.txt");
    writeFileSync(text, "hello");
    expect((await runLiquid(["flash", "--board", "posix", text])).stderr).toBe(
      `liquid flash: ${text} is not an ELF file; expected a Linux executable (liquid-device)\n`,
    );
    expect((await runLiquid(["flash", "--board", "posix", "--port", "/dev/ttyUSB0", text])).code).toBe(2);
    expect((await runLiquid(["flash", "--board", "sim-devkit"])).stderr).toBe(
      "liquid flash: board sim-devkit runs no Liquid firmware of its own (simulator): nothing to flash; use liquid sim\n",
    );
    expect((await runLiquid(["flash", "--board", "no-such-board"])).stderr).toMatch(/^liquid flash: unknown board 'no-such-board'; boards: .*esp32-devkitc/);
    expect(existsSync(join(home, "firmware", "sim-devkit"))).toBe(false);
  });
});
