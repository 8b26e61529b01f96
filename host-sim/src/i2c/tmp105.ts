/**
 * TI TMP105 digital temperature sensor, modelled at register level after its datasheet.
 *
 * Registers, selected by the pointer register (the first byte of every write, low two bits):
 *   0 temperature (read only, 2 bytes): 12-bit two's complement, left justified, 0.0625 °C/LSB
 *   1 configuration (1 byte): OS/ALERT(7) R1 R0(6:5) F1 F0(4:3) POL(2) TM(1) SD(0)
 *   2 T_LOW, 3 T_HIGH (2 bytes each, same format as temperature)
 * A read without a fresh pointer write reuses the last pointer. Resolution follows R1/R0: the
 * power-up default is 9 bits (0.5 °C), an app that wants 0.0625 °C writes R1=R0=1.
 *
 * Simplifications (documented in docs/simulator.md): a conversion completes instantly, so the
 * temperature register always reflects the current physical temperature (except in shutdown,
 * where it holds the last conversion until a one-shot OS write); the ALERT output is modelled as
 * a state readable through the OS/ALERT bit, not as a board pin, and interrupt mode (TM=1)
 * behaves as comparator mode.
 */
import { type I2CDevice, checkQuantity } from "./device.js";

const REG_TEMP = 0;
const REG_CONFIG = 1;
const REG_TLOW = 2;
const REG_THIGH = 3;

const CFG_SD = 0x01;
const CFG_POL = 0x04;
const CFG_OS = 0x80;

export class Tmp105 implements I2CDevice {
  readonly driver = "tmp105";
  readonly quantities = { temperature: "°C" };
  private temperature: number;
  private pointer = REG_TEMP;
  private config = 0x00;
  private tLow = 0x4b00; // 75 °C, the power-up value
  private tHigh = 0x5000; // 80 °C
  /** Last converted temperature register value (12 bits significant, left justified). */
  private converted: number;
  private alert = false;
  private faults = 0;

  constructor(
    readonly addr: number,
    temperature = 25,
  ) {
    this.temperature = temperature;
    this.converted = this.convert();
  }

  setQuantity(name: string, value: number): void {
    checkQuantity(this, name, value, -55, 127.9375);
    this.temperature = value;
    if (!(this.config & CFG_SD)) this.conversionDone();
  }

  getQuantity(name: string): number {
    checkQuantity(this, name, this.temperature, -Infinity, Infinity);
    return this.temperature;
  }

  write(data: Uint8Array): number {
    if (data.length === 0) return 0;
    // P7..P2 must be zero: other pointer values are not acknowledged (as in the posix port's
    // model, so an app sees the same on both targets).
    if (data[0]! > REG_THIGH) return 0;
    this.pointer = data[0]!;
    const payload = data.subarray(1);
    if (payload.length === 0) return data.length;
    switch (this.pointer) {
      case REG_CONFIG: {
        const value = payload[payload.length - 1]!;
        this.config = value & 0x7f; // OS is not stored: writing 1 in shutdown asks for one conversion
        // Continuous mode converts at once at the new resolution; shutdown holds the last value.
        if (!(value & CFG_SD) || value & CFG_OS) this.conversionDone();
        break;
      }
      case REG_TLOW:
      case REG_THIGH:
        if (payload.length >= 2) {
          const v = ((payload[0]! << 8) | payload[1]!) & 0xfff0;
          if (this.pointer === REG_TLOW) this.tLow = v;
          else this.tHigh = v;
        }
        break;
      default:
        break; // the temperature register is read only; the chip still acknowledges
    }
    return data.length;
  }

  read(length: number): Uint8Array {
    const reg = this.registerBytes();
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = reg[i % reg.length]!;
    return out;
  }

  private registerBytes(): number[] {
    switch (this.pointer) {
      case REG_TEMP:
        return [this.converted >> 8, this.converted & 0xff];
      case REG_CONFIG: {
        // OS/ALERT reads back the comparator/alert state, inverted by POL as the ALERT pin is.
        const alertBit = (this.alert ? 1 : 0) ^ (this.config & CFG_POL ? 1 : 0);
        return [this.config | (alertBit ? CFG_OS : 0)];
      }
      case REG_TLOW:
        return [this.tLow >> 8, this.tLow & 0xff];
      default:
        return [this.tHigh >> 8, this.tHigh & 0xff];
    }
  }

  /** The register value of the current temperature at the configured resolution. */
  private convert(): number {
    const bits = 9 + ((this.config >> 5) & 0x03);
    const clamped = Math.min(Math.max(this.temperature, -128), 127.9375);
    const lsb12 = Math.round(clamped / 0.0625); // 12-bit count
    const dropped = 12 - bits;
    const count = Math.floor(lsb12 / (1 << dropped)) * (1 << dropped); // truncate lower bits
    return (count << 4) & 0xffff;
  }

  private conversionDone(): void {
    this.converted = this.convert();
    this.updateAlert();
  }

  /** Comparator/interrupt logic with the fault queue (F1/F0: 1, 2, 4 or 6 consecutive faults). */
  private updateAlert(): void {
    const t = toSigned16(this.converted);
    const high = toSigned16(this.tHigh);
    const low = toSigned16(this.tLow);
    const needed = [1, 2, 4, 6][(this.config >> 3) & 0x03]!;
    const fault = this.alert ? t < low : t >= high;
    this.faults = fault ? this.faults + 1 : 0;
    if (this.faults >= needed) {
      this.alert = !this.alert;
      this.faults = 0;
    }
  }
}

function toSigned16(v: number): number {
  return v & 0x8000 ? v - 0x10000 : v;
}
