import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SerialPort } from "serialport";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPtyEsp32, type PtyEsp32 } from "../../host-sim/src/esp32/pty-link.js";
import { SimulatedEsp32 } from "../../host-sim/src/esp32/simulated-esp32.js";
import { testFirmwareImage } from "./firmware-image.js";
import { runLiquid } from "./run-cli.js";

describe("liquid flash over a pty to the simulated ESP32 ROM loader", () => {
  let sim: PtyEsp32;
  let dir: string;
  let imagePath: string;
  const image = testFirmwareImage(128);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "liquid-flash-test-"));
    imagePath = join(dir, "liquid.bin");
    writeFileSync(imagePath, image);
    sim = await startPtyEsp32(new SimulatedEsp32({ powerOn: "download" }));
  });

  afterAll(async () => {
    await sim?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes the image through the real serial stack and the chip's flash matches byte for byte", async () => {
    const run = await runLiquid(["flash", "--board", "esp32-devkitc", "--port", sim.hostPath, "--baud", "921600", imagePath]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(Buffer.from(sim.chip.flash.read(0x10000, image.length)).equals(Buffer.from(image))).toBe(true);
    const out = run.stdout;
    expect(out).toContain("liquid.bin: ESP32 image 'liquid' 0.1.0, 5 segments, entry 0x40081000, DIO 4MB");
    // A pty has no modem lines: said once, then the plain sync reaches the waiting ROM.
    expect(out).toContain(`note: ${sim.hostPath} has no DTR/RTS lines (Inappropriate ioctl for device)`);
    expect(out).toContain("Chip: ESP32-D0WD (revision 1), MAC 24:0a:c4:12:34:56");
    expect(out).toContain("Flasher stub running");
    expect(out).toContain("Baud rate 921600");
    expect(out).toMatch(/liquid\.bin -> 0x10000 \[#{24}\] 100% [\d.]+ KiB\/[\d.]+ KiB [\d.]+ KiB\/s\n/);
    expect(out).toMatch(/Wrote [\d.]+ KiB \([\d.]+ KiB sent\) to 0x10000 in [\d.]+ s, [\d.]+ KiB\/s effective; MD5 verified/);
    expect(out).toContain(`Flashed 1 file(s), ${image.length} bytes, onto the ESP32-D0WD (revision 1) on ${sim.hostPath} at 921600 baud`);
    expect(out).toContain("Press EN/RESET on the board to start the new firmware (this port cannot reset it)");
    expect(sim.chip.events).toContain("stub started at 0x400a902c");
  });

  it("says the port is busy when another program holds it", async () => {
    const holder = new SerialPort({ path: sim.hostPath, baudRate: 115200, autoOpen: false });
    await new Promise<void>((resolve, reject) => holder.open((err) => (err ? reject(err) : resolve())));
    try {
      const run = await runLiquid(["flash", "--port", sim.hostPath, imagePath]);
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(`liquid flash: port ${sim.hostPath} is busy: close the program using it (another liquid logs --follow?)\n`);
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });

  it("says a file that is not a serial port is not one", async () => {
    for (const notAPort of [imagePath, dir]) {
      const run = await runLiquid(["flash", "--port", notAPort, imagePath]);
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(`liquid flash: ${notAPort} is not a serial port (serial ports are usually /dev/ttyUSB* or /dev/ttyACM*)\n`);
    }
  });

  it("says a missing port does not exist", async () => {
    const run = await runLiquid(["flash", "--port", "/dev/ttyUSB97", imagePath]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      "liquid flash: port /dev/ttyUSB97 does not exist: is the board plugged in? (serial ports are usually /dev/ttyUSB* or /dev/ttyACM*)\n",
    );
    const elsewhere = await runLiquid(["flash", "--port", join(dir, "no-such-tty"), imagePath]);
    expect(elsewhere.stderr).toBe(
      `liquid flash: port ${join(dir, "no-such-tty")} does not exist: is the board plugged in? (serial ports are usually /dev/ttyUSB* or /dev/ttyACM*)\n`,
    );
  });
});
