// BME280 driver library (build with `liquid build --library`), temperature only. Apps import it
// as "bme280@^1"; it keeps the chip's calibration words in its own memory between calls.
import { i2c_write, i2c_write_read } from "liquid/generated/i2c";

const NO_READING: i32 = i32.MIN_VALUE;
const REG_CALIB: i32 = 0x88; // T1 (u16), T2 (s16), T3 (s16), little-endian
const REG_CTRL_MEAS: i32 = 0xf4;
const REG_TEMP: i32 = 0xfa; // 20-bit raw temperature, MSB first
const buf = memory.data(8);
let calibratedAddr: i32 = -1;
let T1: i32 = 0, T2: i32 = 0, T3: i32 = 0;

function readRegs(bus: i32, addr: i32, reg: i32, n: i32): bool {
  store<u8>(buf, <u8>reg);
  return i2c_write_read(bus, addr, buf, 1, buf + 1, n) >= 0;
}

function setUp(bus: i32, addr: i32): bool {
  if (!readRegs(bus, addr, REG_CALIB, 6)) return false;
  T1 = <i32>load<u8>(buf + 1) | (<i32>load<u8>(buf + 2) << 8);
  T2 = <i32>(<i16>(<i32>load<u8>(buf + 3) | (<i32>load<u8>(buf + 4) << 8)));
  T3 = <i32>(<i16>(<i32>load<u8>(buf + 5) | (<i32>load<u8>(buf + 6) << 8)));
  // Temperature oversampling x1, pressure off, normal mode.
  store<u8>(buf, <u8>REG_CTRL_MEAS);
  store<u8>(buf + 1, <u8>((1 << 5) | 0x03));
  if (i2c_write(bus, addr, buf, 2) < 0) return false;
  calibratedAddr = addr;
  return true;
}

/** The temperature in hundredths of a degree Celsius, or NO_READING. */
export function read_centi(bus: i32, addr: i32): i32 {
  if (calibratedAddr != addr && !setUp(bus, addr)) return NO_READING;
  if (!readRegs(bus, addr, REG_TEMP, 3)) return NO_READING;
  const adc = (<i32>load<u8>(buf + 1) << 12) | (<i32>load<u8>(buf + 2) << 4) | (<i32>load<u8>(buf + 3) >> 4);
  // Datasheet 4.2.3, integer compensation; the result is in hundredths of a degree.
  const var1 = ((((adc >> 3) - (T1 << 1))) * T2) >> 11;
  const d = (adc >> 4) - T1;
  const var2 = (((d * d) >> 12) * T3) >> 14;
  return ((var1 + var2) * 5 + 128) >> 8;
}

export function model(): i32 {
  return 280;
}
