// Weather: reads the BME280 at 0x76 on I2C0 every two seconds, converts its raw readings with
// the datasheet's integer compensation formulas and the chip's own calibration words, logs
// "21.00 C 1013.25 hPa 45.00 %RH" and publishes the same line on the topic "weather", and each
// value alone on "weather/temperature" (C), "weather/pressure" (hPa) and "weather/humidity" (%RH).
import { I2CBus, Text, Timer, log, msg } from "liquid";

const ADDR: i32 = 0x76;
const PERIOD_MS: i32 = 2000;
const REG_CHIP_ID: i32 = 0xd0;
const REG_CALIB_A: i32 = 0x88; // 26 bytes: T1..T3, P1..P9, (0xA0 unused), H1
const REG_CALIB_B: i32 = 0xe1; // 7 bytes: H2..H6
const REG_CTRL_HUM: i32 = 0xf2;
const REG_CTRL_MEAS: i32 = 0xf4;
const REG_CONFIG: i32 = 0xf5;
const REG_DATA: i32 = 0xf7; // 8 bytes: press[3], temp[3], hum[2]

let bus = I2CBus.NONE;
let ready = false;
// Calibration words (datasheet table 16), read once in start().
let T1: i32 = 0, T2: i32 = 0, T3: i32 = 0;
let P1: i64 = 0, P2: i64 = 0, P3: i64 = 0, P4: i64 = 0, P5: i64 = 0, P6: i64 = 0, P7: i64 = 0, P8: i64 = 0, P9: i64 = 0;
let H1: i32 = 0, H2: i32 = 0, H3: i32 = 0, H4: i32 = 0, H5: i32 = 0, H6: i32 = 0;

// Allocated once at instantiation; the stub runtime never frees, so nothing is allocated later.
const calA = new Uint8Array(26);
const calB = new Uint8Array(7);
const data = new Uint8Array(8);

function u16le(b: Uint8Array, i: i32): i32 {
  return <i32>b[i] | (<i32>b[i + 1] << 8);
}

function s16le(b: Uint8Array, i: i32): i32 {
  return <i32>(<i16>u16le(b, i));
}

export function start(): void {
  bus = I2CBus.open("I2C0");
  const id = bus.readReg8(ADDR, REG_CHIP_ID);
  if (id != 0x60) {
    log.error(Text.begin().str("no BME280 at 0x").hex(ADDR).str(" (chip id ").int(id).str(")"));
    return;
  }
  if (bus.readRegs(ADDR, REG_CALIB_A, calA) < 0 || bus.readRegs(ADDR, REG_CALIB_B, calB) < 0) {
    log.error("BME280: cannot read the calibration");
    return;
  }
  T1 = u16le(calA, 0);
  T2 = s16le(calA, 2);
  T3 = s16le(calA, 4);
  P1 = <i64>u16le(calA, 6);
  P2 = <i64>s16le(calA, 8);
  P3 = <i64>s16le(calA, 10);
  P4 = <i64>s16le(calA, 12);
  P5 = <i64>s16le(calA, 14);
  P6 = <i64>s16le(calA, 16);
  P7 = <i64>s16le(calA, 18);
  P8 = <i64>s16le(calA, 20);
  P9 = <i64>s16le(calA, 22);
  H1 = <i32>calA[25];
  H2 = s16le(calB, 0);
  H3 = <i32>calB[2];
  // H4 and H5 are signed 12-bit values sharing the nibbles of 0xE5.
  H4 = (<i32>(<i8>calB[3]) << 4) | (<i32>calB[4] & 0x0f);
  H5 = (<i32>(<i8>calB[5]) << 4) | (<i32>calB[4] >> 4);
  H6 = <i32>(<i8>calB[6]);
  // Oversampling x1 for all three; normal mode with 1 s standby. ctrl_hum only takes effect
  // when ctrl_meas is written after it.
  bus.writeReg8(ADDR, REG_CTRL_HUM, 0x01);
  bus.writeReg8(ADDR, REG_CONFIG, 0xa0);
  bus.writeReg8(ADDR, REG_CTRL_MEAS, (1 << 5) | (1 << 2) | 0x03);
  ready = true;
  Timer.every(PERIOD_MS);
}

export function on_timer(timer: i32): void {
  if (!ready) return;
  if (bus.readRegs(ADDR, REG_DATA, data) < 0) {
    log.warn("BME280 did not answer");
    return;
  }
  const adcP = (<i32>data[0] << 12) | (<i32>data[1] << 4) | (<i32>data[2] >> 4);
  const adcT = (<i32>data[3] << 12) | (<i32>data[4] << 4) | (<i32>data[5] >> 4);
  const adcH = (<i32>data[6] << 8) | <i32>data[7];

  // Temperature in 0.01 C (datasheet 4.2.3, BME280_compensate_T_int32).
  const t1 = (((adcT >> 3) - (T1 << 1)) * T2) >> 11;
  const t2 = (((((adcT >> 4) - T1) * ((adcT >> 4) - T1)) >> 12) * T3) >> 14;
  const tFine = t1 + t2;
  const centiC = (tFine * 5 + 128) >> 8;

  // Pressure in Pa as Q24.8 (BME280_compensate_P_int64).
  let v1: i64 = <i64>tFine - 128000;
  let v2: i64 = v1 * v1 * P6;
  v2 = v2 + ((v1 * P5) << 17);
  v2 = v2 + (P4 << 35);
  v1 = ((v1 * v1 * P3) >> 8) + ((v1 * P2) << 12);
  v1 = (((<i64>1 << 47) + v1) * P1) >> 33;
  let q8: i64 = 0;
  if (v1 != 0) {
    let p: i64 = 1048576 - <i64>adcP;
    p = (((p << 31) - v2) * 3125) / v1;
    const w1 = (P9 * (p >> 13) * (p >> 13)) >> 25;
    const w2 = (P8 * p) >> 19;
    q8 = ((p + w1 + w2) >> 8) + (P7 << 4);
  }
  // Pa/256 -> hundredths of a hPa (= Pa), rounded.
  const pascal = <i32>((q8 + 128) >> 8);

  // Relative humidity in %RH as Q22.10 (bme280_compensate_H_int32).
  let h: i32 = tFine - 76800;
  h = ((((adcH << 14) - (H4 << 20) - (H5 * h)) + 16384) >> 15) *
      (((((((h * H6) >> 10) * (((h * H3) >> 11) + 32768)) >> 10) + 2097152) * H2 + 8192) >> 14);
  h = h - (((((h >> 15) * (h >> 15)) >> 7) * H1) >> 4);
  h = h < 0 ? 0 : h > 419430400 ? 419430400 : h;
  const centiRH = ((h >> 12) * 100 + 512) >> 10;

  const line = Text.begin().fixed(centiC, 2).str(" C ").fixed(pascal, 2).str(" hPa ").fixed(centiRH, 2).str(" %RH");
  log.info(line);
  msg.publish("weather", line);
  msg.publish("weather/temperature", Text.begin().fixed(centiC, 2));
  msg.publish("weather/pressure", Text.begin().fixed(pascal, 2));
  msg.publish("weather/humidity", Text.begin().fixed(centiRH, 2));
}
