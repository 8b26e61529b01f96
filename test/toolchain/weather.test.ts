// The weather example end to end on the simulated devkit: its datasheet compensation, applied to
// the calibration and raw registers of the simulated BME280, gives back the physical values the
// simulation was set to — and the alarm example, another app on the same board, reacts to the
// humidity the weather app publishes.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runLiquid } from "./run-cli.js";

const ROOT = resolve(import.meta.dirname, "..", "..");
const OUT = mkdtempSync(join(tmpdir(), "liquid-weather-"));
const wasm = join(OUT, "weather.wasm");
const alarm = join(OUT, "alarm.wasm");

beforeAll(async () => {
  for (const [app, out] of [["weather", wasm], ["alarm", alarm]] as const) {
    const run = await runLiquid("build", join(ROOT, "examples", app), "-o", out);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
  }
});

async function logs(...set: string[]): Promise<string[]> {
  const run = await runLiquid("sim", wasm, "--for", "4s", "--json", ...set.flatMap((s) => ["--set", s]));
  expect(run.code).toBe(0);
  return run.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { t: number; type: string; msg?: string })
    .filter((e) => e.type === "log")
    .map((e) => `${e.t} ${e.msg}`);
}

describe("weather example (BME280)", () => {
  it("reports the board's initial values every two seconds", async () => {
    expect(await logs()).toEqual(["2000 21.00 C 1013.25 hPa 45.00 %RH", "4000 21.00 C 1013.25 hPa 45.00 %RH"]);
  });

  it("follows values set on the simulated sensor, including below zero", async () => {
    const lines = await logs("I2C0.bme280.temperature=-12.34", "I2C0.bme280.pressure=98765", "I2C0.bme280.humidity=87.6");
    expect(lines[0]).toBe("2000 -12.34 C 987.65 hPa 87.60 %RH");
  });

  it("drives the alarm app through messages: LED3 follows the humidity threshold", async () => {
    const scenario = join(OUT, "humidity.json");
    writeFileSync(
      scenario,
      JSON.stringify([
        { t: 3000, set: "I2C0.bme280.humidity", value: 75 },
        { t: 7000, set: "I2C0.bme280.humidity", value: 50 },
      ]),
    );
    const run = await runLiquid("sim", wasm, alarm, "--for", "10s", "--json", "--scenario", scenario);
    expect(run.code).toBe(0);
    const events = run.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { t: number; type: string; pin?: string; value?: number; app?: string; msg?: string });
    expect(events.filter((e) => e.type === "gpio" && e.pin === "LED3").map((e) => [e.t, e.value])).toEqual([
      [4000, 1],
      [8000, 0],
    ]);
    expect(events.filter((e) => e.type === "log" && e.app === "alarm").map((e) => `${e.t} ${e.msg}`)).toEqual([
      expect.stringMatching(/^4000 humid: 7[45]\.\d\d %RH$/),
      "8000 dry again: 50.00 %RH",
    ]);
  });
});
