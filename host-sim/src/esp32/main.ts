/**
 * Runs a simulated ESP32 behind a pty until interrupted, for trying `liquid flash` (or any
 * esptool) by hand:
 *
 *   node dist/host-sim/src/esp32/main.js [--dir DIR] [--chip esp32|esp32-s3|esp8266|unknown] [--flash FILE]
 *
 * It prints the port path. A pty has no reset lines, so the chip waits in download mode; after a
 * flash it runs the stub until "reset": send SIGUSR1 to press EN with BOOT held (back to the
 * ROM loader, ready for the next flash), SIGUSR2 to press EN alone (boot from flash). With --flash, the 4 MiB flash is loaded from FILE (if it exists)
 * and saved back after every completed write and on exit, so the result can be inspected.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { CHIP_PROFILES } from "./chips.js";
import { startPtyEsp32 } from "./pty-link.js";
import { SimulatedEsp32 } from "./simulated-esp32.js";
import { SpiFlash } from "./spi-flash.js";

const USAGE = "usage: node dist/host-sim/src/esp32/main.js [--dir DIR] [--chip esp32|esp32-s3|esp8266|unknown] [--flash FILE]";
const options = new Map<string, string>();
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const name = argv[i]!.replace(/^--/, "");
  if (argv[i] === "--help" || argv[i] === "-h") {
    console.log(USAGE);
    process.exit(0);
  }
  if (!argv[i]!.startsWith("--") || !["dir", "chip", "flash"].includes(name) || i + 1 >= argv.length) {
    console.error(`${argv[i]}: unknown option or missing value\n${USAGE}`);
    process.exit(2);
  }
  options.set(name, argv[++i]!);
}

function option(name: string): string | undefined {
  return options.get(name);
}

const chipName = option("chip") ?? "esp32";
const chipProfile = CHIP_PROFILES[chipName];
if (!chipProfile) {
  console.error(`unknown --chip ${chipName}; one of: ${Object.keys(CHIP_PROFILES).join(", ")}`);
  process.exit(2);
}
const flashFile = option("flash");
const flash = new SpiFlash();
if (flashFile && existsSync(flashFile)) {
  const saved = readFileSync(flashFile);
  if (saved.length !== flash.size) {
    console.error(`${flashFile} is ${saved.length} bytes, expected a ${flash.size}-byte flash image`);
    process.exit(2);
  }
  flash.bytes.set(saved);
}
const chip = new SimulatedEsp32({ chip: chipProfile, flash, powerOn: "download" });
const sim = await startPtyEsp32(chip, { dir: option("dir") });
console.log(`simulated ${chipProfile.name} ROM loader on ${sim.hostPath} (pid ${process.pid}: kill -USR1 resets it into the ROM loader, -USR2 boots it from flash)`);
let shown = chip.events.length;
const save = (): void => {
  if (flashFile) writeFileSync(flashFile, flash.bytes);
};
const timer = setInterval(() => {
  for (; shown < chip.events.length; shown++) {
    const event = chip.events[shown]!;
    console.log(`  ${event}`);
    if (event.startsWith("flash: wrote")) save();
  }
}, 100);
const stop = async (): Promise<void> => {
  clearInterval(timer);
  save();
  await sim.stop();
  process.exit(0);
};
process.on("SIGUSR1", () => chip.pressReset(true));
process.on("SIGUSR2", () => chip.pressReset(false));
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
