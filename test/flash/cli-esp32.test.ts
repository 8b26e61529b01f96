import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ProgressBar } from "../../compiler/src/flash/progress.js";
import { LIQUID_ROOT } from "../../compiler/src/paths.js";
import { testFirmwareImage } from "./firmware-image.js";
import { runLiquid } from "./run-cli.js";

const dir = mkdtempSync(join(tmpdir(), "liquid-flash-cli-"));
const image = join(dir, "liquid.bin");
writeFileSync(image, testFirmwareImage(4));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("liquid flash command line", () => {
  it("is listed and documented", async () => {
    const list = await runLiquid(["help"]);
    expect(list.stdout).toMatch(/\n {2}flash +write the Liquid firmware onto a board/);
    const help = await runLiquid(["help", "flash"]);
    expect(help.stdout).toContain("usage: liquid flash [--board B] [--port P] [--baud N]");
  });

  it("rejects bad options with usage errors (exit 2) before touching any port", async () => {
    const cases: Array<[string[], string]> = [
      [["--baud", "fast", image], "liquid flash: --baud must be a number (decimal or 0x...), not 'fast'"],
      [["--baud", "50", image], "liquid flash: --baud 50 is out of range (9600..5000000)"],
      [["--address", "0x1g", image], "liquid flash: --address must be a number (decimal or 0x...), not '0x1g'"],
      [["--connect-attempts", "0", image], "liquid flash: --connect-attempts must be at least 1"],
      [[image, image], "liquid flash: one IMAGE at most, got 2"],
      [["--speed", "1", image], "liquid flash: unknown option --speed"],
    ];
    for (const [args, message] of cases) {
      const run = await runLiquid(["flash", "--port", join(dir, "never-opened"), ...args]);
      expect(run.code, args.join(" ")).toBe(2);
      expect(run.stderr.split("\n")[0]).toBe(message);
    }
  });

  it("checks the image before the port", async () => {
    const junk = join(dir, "junk.bin");
    writeFileSync(junk, "not firmware");
    const run = await runLiquid(["flash", "--port", join(dir, "never-opened"), junk]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `liquid flash: ${junk} is not an ESP32 app image (no 0xE9 header); to write raw data anyway, give its flash offset with --address\n`,
    );
  });
});

const anEsp32Build = ["build/esp32", "firmware/ports/esp32/build", ".pio/build/esp32dev"].some((d) => existsSync(join(LIQUID_ROOT, d)));

describe("liquid flash without an ESP32 build", () => {
  it.skipIf(anEsp32Build)("explains that this machine cannot build the ESP32 firmware", async () => {
    const run = await runLiquid(["flash", "--port", join(dir, "never-opened")]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^liquid flash: no ESP32 firmware image found under build\/esp32: the ESP32 port is built with ESP-IDF or PlatformIO, which this machine does not have;/);
  });
});

describe("progress bar", () => {
  it("redraws in place on a terminal and prints quarters in a log, with bytes and rate", () => {
    let clock = 0;
    let tty = "";
    const bar = new ProgressBar((t) => (tty += t), true, 10, () => clock);
    bar.start("app.bin", 4096);
    clock = 1000;
    bar.update(2048);
    bar.finish("done");
    expect(tty).toBe(
      "\rapp.bin [----------]   0% 0 B/4.0 KiB -\x1b[K" + "\rapp.bin [#####-----]  50% 2.0 KiB/4.0 KiB 2.0 KiB/s\x1b[K" + "\rdone\x1b[K\n",
    );
    let log = "";
    const plain = new ProgressBar((t) => (log += t), false, 4, () => clock);
    plain.start("x", 100);
    for (let i = 1; i <= 100; i++) plain.update(i);
    expect(log.trim().split("\n").map((l) => l.split("]")[1]!.trim().split(" ")[0])).toEqual(["0%", "25%", "50%", "75%", "100%"]);
  });
});
