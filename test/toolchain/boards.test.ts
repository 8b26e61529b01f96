// boards/*.json: every board validates, carries the facts others rely on, and a broken board
// definition is refused with a message naming the file and the entry.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { BoardError, listBoards, loadBoard, validateBoard } from "../../compiler/src/boards.js";
import { runLiquid } from "./run-cli.js";

const ROOT = resolve(import.meta.dirname, "..", "..");

describe("boards", () => {
  it("lists the five boards and each one validates", () => {
    expect(listBoards()).toEqual(["esp32-devkitc", "nrf52840-dk", "posix", "qemu-mps2-an386", "sim-devkit"]);
    for (const name of listBoards()) expect(loadBoard(name).name).toBe(name);
  });

  it("sim-devkit has 4 LEDs, 2 buttons and I2C0 with a TMP105 at 0x48 and a BME280 at 0x76", () => {
    const b = loadBoard("sim-devkit");
    expect(b.pins.filter((p) => p.kind === "led").map((p) => p.name)).toEqual(["LED0", "LED1", "LED2", "LED3"]);
    expect(b.pins.filter((p) => p.kind === "button").map((p) => p.name)).toEqual(["BUTTON0", "BUTTON1"]);
    expect(b.buses).toHaveLength(1);
    expect(b.buses[0]!.devices).toEqual([
      { driver: "tmp105", addr: 0x48, initial: { temperature: 23.5 } },
      { driver: "bme280", addr: 0x76, initial: { temperature: 21.0, pressure: 101325, humidity: 45.0 } },
    ]);
  });

  it("nrf52840-dk maps LED1-4 to P0.13-P0.16 active low, the buttons and TWIM0 on P0.26/P0.27", () => {
    const b = loadBoard("nrf52840-dk");
    const leds = b.pins.filter((p) => p.kind === "led");
    expect(leds.map((p) => [p.name, p.port, p.activeLow])).toEqual([
      ["LED0", 13, true],
      ["LED1", 14, true],
      ["LED2", 15, true],
      ["LED3", 16, true],
    ]);
    expect(b.pins.filter((p) => p.kind === "button").map((p) => p.port)).toEqual([11, 12, 24, 25]);
    expect(b.buses[0]).toMatchObject({ name: "I2C0", hw: "TWIM0", sda: "P0.26", scl: "P0.27" });
    expect(b.memory).toMatchObject({ flash: 1048576, ram: 262144 });
  });

  it("qemu-mps2-an386 has the FPGAIO and SCC LEDs, two virtual buttons, I2C0 with a TMP105 and UART0", () => {
    const b = loadBoard("qemu-mps2-an386");
    expect(b.pins.map((p) => p.name)).toEqual(["LED0", "LED1", "LED2", "LED3", "LED4", "LED5", "LED6", "LED7", "LED8", "LED9", "BUTTON0", "BUTTON1"]);
    expect(b.buses[0]!.devices).toEqual([{ driver: "tmp105", addr: 72, initial: { temperature: 23.5 } }]);
    expect(b.transport).toMatchObject({ kind: "uart", device: "UART0" });
  });

  it("names unknown boards and lists the known ones", () => {
    expect(() => loadBoard("arduino")).toThrow("unknown board 'arduino' (known: esp32-devkitc, nrf52840-dk, posix, qemu-mps2-an386, sim-devkit)");
  });

  const broken = (edit: (b: Record<string, any>) => void): string => {
    const b = JSON.parse(readFileSync(join(ROOT, "boards", "sim-devkit.json"), "utf8"));
    edit(b);
    try {
      validateBoard(b, "test.json");
    } catch (err) {
      expect(err).toBeInstanceOf(BoardError);
      return (err as Error).message;
    }
    throw new Error("the broken board was accepted");
  };

  it("refuses broken definitions with the file, the entry and the rule", () => {
    expect(broken((b) => (b.pins[0].activelow = true))).toBe(
      'test.json: pins[0]: unknown field "activelow" (allowed: name, kind, port, caps, activeLow, hw)',
    );
    expect(broken((b) => (b.pins[1].name = "LED0"))).toBe("test.json: pins[1]: the name LED0 is used twice on this board");
    expect(broken((b) => (b.pins[1].port = 0))).toBe("test.json: pins[1] (LED1): port 0 is used by another pin");
    expect(broken((b) => (b.pins[0].caps = ["in"]))).toBe('test.json: pins[0] (LED0): an LED needs the "out" cap');
    expect(broken((b) => (b.buses[0].devices[1].addr = 0x48))).toBe("test.json: buses[0].devices[1]: two devices at address 0x48");
    expect(broken((b) => (b.buses[0].devices[0].driver = "lm75"))).toBe('test.json: buses[0].devices[0]: unknown driver "lm75" (known: tmp105, bme280)');
    expect(broken((b) => (b.buses[0].devices[0].addr = 0x80))).toBe('test.json: buses[0].devices[0]: "addr" must be an integer from 0 to 119');
    expect(broken((b) => (b.memory.appMax = 1000))).toBe("test.json: memory.appMax must be a positive multiple of 65536 (wasm pages)");
    expect(broken((b) => (b.target = "arduino"))).toBe('test.json: "target" must be one of simulator, posix, qemu, nrf52840, esp32');
  });

  it("`liquid boards` lists them, shows one, and names an unknown one", async () => {
    const list = await runLiquid("boards");
    expect(list.code).toBe(0);
    expect(list.stdout.split("\n")).toContain("sim-devkit       simulator  LED0 LED1 LED2 LED3 BUTTON0 BUTTON1  I2C0(tmp105@0x48, bme280@0x76)");
    const one = await runLiquid("boards", "nrf52840-dk");
    expect(one.stdout).toContain("LED0     led    port 13  [out] active-low  P0.13 (LED1)");
    expect(one.stdout).toContain("I2C0     i2c port 0  TWIM0, SDA P0.26, SCL P0.27, 100 kHz");
    const json = JSON.parse((await runLiquid("boards", "posix", "--json")).stdout);
    expect(json.name).toBe("posix");
    const unknown = await runLiquid("boards", "foo");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("unknown board 'foo'");
  });
});
