// Register-level behaviour of the simulated I2C peripherals, as a driver written from the
// datasheets sees it.
import { describe, expect, it } from "vitest";
import { Bme280 } from "../../host-sim/src/i2c/bme280.js";
import {
  SIM_CALIBRATION,
  compensateHumidity,
  compensatePressure,
  compensateTemperature,
} from "../../host-sim/src/i2c/bme280-compensation.js";
import { Tmp105 } from "../../host-sim/src/i2c/tmp105.js";

const bytes = (...b: number[]) => new Uint8Array(b);
const readReg = (dev: { write(d: Uint8Array): number; read(n: number): Uint8Array }, reg: number, n: number) => {
  dev.write(bytes(reg));
  return [...dev.read(n)];
};

describe("TMP105", () => {
  it("powers up at 9-bit resolution: temperatures are rounded down to 0.5 °C steps", () => {
    const tmp = new Tmp105(0x48, 23.5);
    expect(readReg(tmp, 0, 2)).toEqual([0x17, 0x80]);
    tmp.setQuantity("temperature", 26.3);
    expect(readReg(tmp, 0, 2)).toEqual([0x1a, 0x00]); // 26.0
    expect(readReg(tmp, 1, 1)).toEqual([0x00]);
  });

  it("gives 0.0625 °C per LSB at 12-bit resolution (R1=R0=1), two's complement below zero", () => {
    const tmp = new Tmp105(0x48, 26.3);
    tmp.write(bytes(1, 0x60));
    expect(readReg(tmp, 1, 1)).toEqual([0x60]);
    // 26.3 / 0.0625 = 420.8 → 421 = 0x1A5, left-justified: 0x1A50
    expect(readReg(tmp, 0, 2)).toEqual([0x1a, 0x50]);
    tmp.setQuantity("temperature", -10.125);
    // -162 counts = 0xF5E (12 bits) → 0xF5E0
    expect(readReg(tmp, 0, 2)).toEqual([0xf5, 0xe0]);
    tmp.write(bytes(1, 0x20)); // 10-bit: 0.25 °C steps
    tmp.setQuantity("temperature", 21.3);
    expect(readReg(tmp, 0, 2)).toEqual([0x15, 0x40]); // 21.25
  });

  it("reuses the last pointer for reads without a pointer write", () => {
    const tmp = new Tmp105(0x48, 23.5);
    tmp.write(bytes(0));
    expect([...tmp.read(2)]).toEqual([0x17, 0x80]);
    tmp.setQuantity("temperature", 30);
    expect([...tmp.read(2)]).toEqual([0x1e, 0x00]);
  });

  it("keeps T_LOW/T_HIGH (power-up 75/80 °C) and raises ALERT in comparator mode", () => {
    const tmp = new Tmp105(0x48, 20);
    expect(readReg(tmp, 2, 2)).toEqual([0x4b, 0x00]);
    expect(readReg(tmp, 3, 2)).toEqual([0x50, 0x00]);
    tmp.write(bytes(3, 0x1e, 0x00)); // T_HIGH 30 °C
    tmp.write(bytes(2, 0x1c, 0x00)); // T_LOW 28 °C
    expect(readReg(tmp, 3, 2)).toEqual([0x1e, 0x00]);
    tmp.setQuantity("temperature", 31);
    expect(readReg(tmp, 1, 1)[0]! & 0x80).toBe(0x80);
    tmp.setQuantity("temperature", 29); // between the limits: still alert (hysteresis)
    expect(readReg(tmp, 1, 1)[0]! & 0x80).toBe(0x80);
    tmp.setQuantity("temperature", 27.5);
    expect(readReg(tmp, 1, 1)[0]! & 0x80).toBe(0);
  });

  it("holds the last conversion in shutdown until a one-shot (OS) write", () => {
    const tmp = new Tmp105(0x48, 20);
    tmp.write(bytes(1, 0x01)); // SD
    tmp.setQuantity("temperature", 40);
    expect(readReg(tmp, 0, 2)).toEqual([0x14, 0x00]);
    tmp.write(bytes(1, 0x81)); // OS + SD: one conversion
    expect(readReg(tmp, 0, 2)).toEqual([0x28, 0x00]);
  });

  it("does not acknowledge a pointer byte other than 0..3", () => {
    const tmp = new Tmp105(0x48, 23.5);
    tmp.write(bytes(1, 0x60));
    expect(tmp.write(bytes(4))).toBe(0);
    expect(tmp.write(bytes(0x81, 0x00))).toBe(0);
    expect([...tmp.read(1)]).toEqual([0x60]); // the pointer did not move
  });

  it("rejects temperatures outside its range and unknown quantities", () => {
    const tmp = new Tmp105(0x48);
    expect(() => tmp.setQuantity("temperature", 200)).toThrow("tmp105 temperature must be between -55 and 127.9375 °C, not 200");
    expect(() => tmp.setQuantity("humidity", 20)).toThrow("tmp105 has no quantity 'humidity' (it has: temperature)");
  });
});

describe("BME280", () => {
  it("follows the datasheet's worked example: adc_T 519888 is 25.08 °C", () => {
    const t = compensateTemperature(519888, SIM_CALIBRATION);
    expect(t).toEqual({ tFine: 128422, centi: 2508 });
    expect(compensatePressure(415148, t.tFine, SIM_CALIBRATION) / 256).toBeCloseTo(100653.25, 1);
  });

  it("answers chip id 0x60 and exposes the calibration words", () => {
    const dev = new Bme280(0x76);
    expect(readReg(dev, 0xd0, 1)).toEqual([0x60]);
    const cal = readReg(dev, 0x88, 6);
    expect(cal[0]! | (cal[1]! << 8)).toBe(27504); // dig_T1
    expect(((cal[2]! | (cal[3]! << 8)) << 16) >> 16).toBe(26435); // dig_T2
    expect(((cal[4]! | (cal[5]! << 8)) << 16) >> 16).toBe(-1000); // dig_T3
  });

  /** What a driver written from the datasheet does: read calibration, force a measurement, compensate. */
  function driverRead(dev: Bme280) {
    const c = [...readReg(dev, 0x88, 26), ...readReg(dev, 0xe1, 7)];
    const u16 = (i: number) => c[i]! | (c[i + 1]! << 8);
    const s16 = (i: number) => (u16(i) << 16) >> 16;
    const cal = {
      T1: u16(0), T2: s16(2), T3: s16(4),
      P1: u16(6), P2: s16(8), P3: s16(10), P4: s16(12), P5: s16(14), P6: s16(16), P7: s16(18), P8: s16(20), P9: s16(22),
      H1: c[25]!, H2: s16(26), H3: c[28]!,
      H4: (((c[29]! << 24) >> 20) | (c[30]! & 0x0f)), H5: (((c[31]! << 24) >> 20) | (c[30]! >> 4)), H6: (c[32]! << 24) >> 24,
    };
    dev.write(bytes(0xf2, 0x01)); // osrs_h x1
    dev.write(bytes(0xf4, 0x25)); // osrs_t x1, osrs_p x1, forced mode
    const d = readReg(dev, 0xf7, 8);
    const adcP = (d[0]! << 12) | (d[1]! << 4) | (d[2]! >> 4);
    const adcT = (d[3]! << 12) | (d[4]! << 4) | (d[5]! >> 4);
    const adcH = (d[6]! << 8) | d[7]!;
    const t = compensateTemperature(adcT, cal);
    return {
      temperature: t.centi / 100,
      pressure: compensatePressure(adcP, t.tFine, cal) / 256,
      humidity: compensateHumidity(adcH, t.tFine, cal) / 1024,
      mode: readReg(dev, 0xf4, 1)[0]! & 0x03,
    };
  }

  it("produces raw registers that compensate back to the values set", () => {
    const dev = new Bme280(0x76, { temperature: 21, pressure: 101325, humidity: 45 });
    const r = driverRead(dev);
    expect(r.temperature).toBe(21);
    expect(r.pressure).toBeCloseTo(101325, 0);
    expect(r.humidity).toBeCloseTo(45, 1);
    expect(r.mode).toBe(0); // forced mode went back to sleep
    dev.setQuantity("temperature", -12.34);
    dev.setQuantity("pressure", 95000);
    dev.setQuantity("humidity", 88.5);
    const s = driverRead(dev);
    expect(s.temperature).toBe(-12.34);
    expect(s.pressure).toBeCloseTo(95000, 0);
    expect(s.humidity).toBeCloseTo(88.5, 1);
  });

  it("reads 0x80000 for skipped measurements and returns to power-up values after reset", () => {
    const dev = new Bme280(0x76);
    dev.write(bytes(0xf4, 0x21)); // temperature only, forced
    const d = readReg(dev, 0xf7, 8);
    expect(d.slice(0, 3)).toEqual([0x80, 0x00, 0x00]); // pressure skipped
    expect(d.slice(6, 8)).toEqual([0x80, 0x00]); // humidity skipped
    expect(d.slice(3, 6)).not.toEqual([0x80, 0x00, 0x00]);
    dev.write(bytes(0xf5, 0xa0));
    dev.write(bytes(0xe0, 0xb6));
    expect(readReg(dev, 0xf5, 1)).toEqual([0]);
    expect(readReg(dev, 0xfa, 3)).toEqual([0x80, 0x00, 0x00]);
    expect(readReg(dev, 0xd0, 1)).toEqual([0x60]);
  });
});
