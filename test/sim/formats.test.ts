// The small text formats users type and read: durations, --set, scenario entries, event lines.
import { describe, expect, it } from "vitest";
import { formatEventHuman, formatEventJson, parseDuration, parseScenario, parseSetting } from "../../host-sim/src/index.js";

describe("durations", () => {
  it("accepts ms, s, m and h, with decimals that make whole milliseconds", () => {
    expect(["1500ms", "5s", "1.5s", "2m", "1h", "0ms"].map(parseDuration)).toEqual([1500, 5000, 1500, 120_000, 3_600_000, 0]);
  });

  it("refuses numbers without a unit, unknown units and fractions of a millisecond", () => {
    expect(() => parseDuration("5")).toThrow("duration '5' needs a unit: ms, s, m or h (e.g. 5ms or 5s)");
    expect(() => parseDuration("5 days")).toThrow("'5 days' is not a duration (examples: 1500ms, 5s, 2m)");
    expect(() => parseDuration("1.0005s")).toThrow("duration '1.0005s' is not a whole number of milliseconds");
    expect(() => parseDuration("-1s")).toThrow("is not a duration");
  });
});

describe("--set and scenarios", () => {
  it("parses NAME=VALUE and explains the form when it is wrong", () => {
    expect(parseSetting("I2C0.tmp105.temperature=26.5")).toEqual({ name: "I2C0.tmp105.temperature", value: 26.5 });
    expect(() => parseSetting("BUTTON0")).toThrow("--set BUTTON0: expected NAME=VALUE, e.g. BUTTON0=1 or I2C0.tmp105.temperature=26.5");
    expect(() => parseSetting("BUTTON0=on")).toThrow("--set BUTTON0=on: 'on' is not a number");
  });

  it("expands a press into press and release and keeps each entry's index", () => {
    expect(parseScenario([{ t: "1s", set: "BUTTON0", value: true }, { t: 2000, press: "BUTTON1" }, { t: 3000, press: "BUTTON0", for: "1.5s" }], "s.json")).toEqual([
      { t: 1000, set: "BUTTON0", value: 1, index: 0 },
      { t: 2000, set: "BUTTON1", value: 1, index: 1 },
      { t: 2100, set: "BUTTON1", value: 0, index: 1 },
      { t: 3000, set: "BUTTON0", value: 1, index: 2 },
      { t: 4500, set: "BUTTON0", value: 0, index: 2 },
    ]);
    expect(() => parseScenario({ t: 1 }, "s.json")).toThrow('s.json: a scenario must be a JSON list of {"t", "set", "value"} entries');
    expect(() => parseScenario([{ t: 1, set: "X", value: "1" }], "s.json")).toThrow('s.json: entry 0: "value" must be a number');
    expect(() => parseScenario([{ t: 1, sett: "X", value: 1 }], "s.json")).toThrow('s.json: entry 0: unknown field "sett"');
  });
});

describe("event lines", () => {
  const kinds = { pinKind: (_b: string, pin: string) => (pin.startsWith("LED") ? "led" : pin.startsWith("BUTTON") ? "button" : "pin") as "led" | "button" | "pin", activeLow: () => true };

  it("names pin changes by what the pin is", () => {
    const gpio = (pin: string, value: number) => formatEventHuman({ t: 42, type: "gpio", pin, value, board: "b" }, kinds);
    expect([gpio("LED1", 1), gpio("BUTTON0", 0), gpio("BUTTON0", 1), gpio("GPIO5", 1)]).toEqual([
      "    42 ms  LED1 on",
      "    42 ms  BUTTON0 pressed",
      "    42 ms  BUTTON0 released",
      "    42 ms  GPIO5 high",
    ]);
  });

  it("tags log levels other than info, shows the simulator's own notes, hides I2C unless traced", () => {
    expect(formatEventHuman({ t: 1234567, type: "log", app: "x", level: "warn", msg: "hot", board: "b" })).toBe("1234567 ms  [x] warn: hot");
    expect(formatEventHuman({ t: 0, type: "log", app: null, level: "warn", msg: "note", board: "b" })).toBe("     0 ms  [sim] warn: note");
    const i2c = { t: 5, type: "i2c" as const, bus: "I2C0", addr: 0x50, op: "read" as const, read: [], ok: false, app: "x", board: "b" };
    expect(formatEventHuman(i2c)).toBeUndefined();
    expect(formatEventHuman(i2c, { trace: true })).toBe("     5 ms  I2C0 0x50 read NACK");
    expect(formatEventJson(i2c)).toBe('{"t":5,"type":"i2c","bus":"I2C0","addr":80,"op":"read","read":[],"ok":false,"app":"x"}');
    expect(formatEventJson(i2c, { withBoard: true })).toContain('"board":"b"');
  });
});
