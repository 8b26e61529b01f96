/**
 * Bosch BME280 humidity/pressure/temperature sensor (I2C address 0x76 or 0x77), modelled at
 * register level after its datasheet (section 5): chip id 0xD0 = 0x60, soft reset 0xE0 (write
 * 0xB6), ctrl_hum 0xF2, status 0xF3, ctrl_meas 0xF4, config 0xF5, calibration words at
 * 0x88..0xA1 and 0xE1..0xE7, raw data at 0xF7..0xFE (press 20 bit, temp 20 bit, hum 16 bit).
 *
 * The raw data registers are produced from the physical values the user sets by inverting the
 * datasheet compensation for the fixed calibration set in bme280-compensation.ts, so a driver
 * that reads the calibration and applies the datasheet formulas gets those values back.
 *
 * Simplifications (documented in docs/simulator.md): a measurement completes instantly (status
 * never shows "measuring"); oversampling and the IIR filter do not change values (a measurement
 * with oversampling 0 is skipped and reads 0x80000 / 0x8000, as on the part); in normal mode the
 * data registers are refreshed when a read transaction starts.
 */
import { type I2CDevice, checkQuantity } from "./device.js";
import { type Bme280Calibration, SIM_CALIBRATION, rawFromPhysical } from "./bme280-compensation.js";

const REG_CHIP_ID = 0xd0;
const REG_RESET = 0xe0;
const REG_CTRL_HUM = 0xf2;
const REG_STATUS = 0xf3;
const REG_CTRL_MEAS = 0xf4;
const REG_CONFIG = 0xf5;
const REG_DATA = 0xf7;
const CHIP_ID = 0x60;
const RESET_WORD = 0xb6;

export class Bme280 implements I2CDevice {
  readonly driver = "bme280";
  readonly quantities = { temperature: "°C", pressure: "Pa", humidity: "%RH" };
  private values = { temperature: 25, pressure: 101325, humidity: 50 };
  private regs = new Uint8Array(256);
  private pointer = 0;
  /** ctrl_hum only takes effect when ctrl_meas is written next (datasheet 5.4.3). */
  private humOversampling = 0;

  constructor(
    readonly addr: number,
    initial: Partial<Record<"temperature" | "pressure" | "humidity", number>> = {},
    private readonly calibration: Bme280Calibration = SIM_CALIBRATION,
  ) {
    for (const [k, v] of Object.entries(initial)) this.setQuantity(k, v);
    this.powerOn();
  }

  setQuantity(name: string, value: number): void {
    const limits: Record<string, [number, number]> = { temperature: [-40, 85], pressure: [30000, 110000], humidity: [0, 100] };
    const [min, max] = limits[name] ?? [-Infinity, Infinity];
    checkQuantity(this, name, value, min, max);
    this.values[name as keyof typeof this.values] = value;
    if ((this.regs[REG_CTRL_MEAS]! & 0x03) === 0x03) this.measure();
  }

  getQuantity(name: string): number {
    checkQuantity(this, name, 0, -Infinity, Infinity);
    return this.values[name as keyof typeof this.values];
  }

  write(data: Uint8Array): number {
    if (data.length === 0) return 0;
    this.pointer = data[0]!;
    // In I2C mode a multi-byte write is a sequence of (register, value) pairs.
    for (let i = 0; i + 1 < data.length; i += 2) this.writeRegister(data[i]!, data[i + 1]!);
    return data.length;
  }

  read(length: number): Uint8Array {
    if ((this.regs[REG_CTRL_MEAS]! & 0x03) === 0x03 && this.pointer >= REG_DATA) this.measure();
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      out[i] = this.regs[this.pointer]!;
      this.pointer = (this.pointer + 1) & 0xff;
    }
    return out;
  }

  private writeRegister(reg: number, value: number): void {
    switch (reg) {
      case REG_RESET:
        if (value === RESET_WORD) this.powerOn();
        return;
      case REG_CTRL_HUM:
        this.regs[reg] = value & 0x07;
        this.humOversampling = value & 0x07;
        return;
      case REG_CTRL_MEAS:
        this.regs[reg] = value;
        if ((value & 0x03) !== 0) this.measure();
        // Forced mode (01 or 10) measures once and returns to sleep.
        if ((value & 0x03) === 0x01 || (value & 0x03) === 0x02) this.regs[reg] = value & 0xfc;
        return;
      case REG_CONFIG:
        this.regs[reg] = value & 0xfd;
        return;
      default:
        return; // read-only or reserved: ignored, as the part does
    }
  }

  private powerOn(): void {
    this.regs.fill(0);
    this.regs[REG_CHIP_ID] = CHIP_ID;
    const c = this.calibration;
    const put16 = (at: number, v: number): void => {
      this.regs[at] = v & 0xff;
      this.regs[at + 1] = (v >> 8) & 0xff;
    };
    [c.T1, c.T2, c.T3, c.P1, c.P2, c.P3, c.P4, c.P5, c.P6, c.P7, c.P8, c.P9].forEach((v, i) => put16(0x88 + 2 * i, v));
    this.regs[0xa1] = c.H1;
    put16(0xe1, c.H2);
    this.regs[0xe3] = c.H3;
    this.regs[0xe4] = (c.H4 >> 4) & 0xff;
    this.regs[0xe5] = (c.H4 & 0x0f) | ((c.H5 & 0x0f) << 4);
    this.regs[0xe6] = (c.H5 >> 4) & 0xff;
    this.regs[0xe7] = c.H6 & 0xff;
    this.humOversampling = 0;
    this.setRaw(0x80000, 0x80000, 0x8000);
    this.regs[REG_STATUS] = 0;
  }

  private measure(): void {
    const meas = this.regs[REG_CTRL_MEAS]!;
    const raw = rawFromPhysical(this.values.temperature, this.values.pressure, this.values.humidity, this.calibration);
    const tOn = (meas >> 5) & 0x07;
    const pOn = (meas >> 2) & 0x07;
    this.setRaw(pOn ? raw.adcP : 0x80000, tOn ? raw.adcT : 0x80000, this.humOversampling ? raw.adcH : 0x8000);
  }

  private setRaw(adcP: number, adcT: number, adcH: number): void {
    const put20 = (at: number, v: number): void => {
      this.regs[at] = (v >> 12) & 0xff;
      this.regs[at + 1] = (v >> 4) & 0xff;
      this.regs[at + 2] = (v & 0x0f) << 4;
    };
    put20(REG_DATA, adcP);
    put20(REG_DATA + 3, adcT);
    this.regs[REG_DATA + 6] = (adcH >> 8) & 0xff;
    this.regs[REG_DATA + 7] = adcH & 0xff;
  }
}
