/**
 * The BME280 compensation formulas (datasheet section 4.2.3, integer versions) and their
 * inverses. The simulated chip stores raw ADC values in its data registers; to make a driver
 * that applies the datasheet formulas read back the physical values a user set, the chip model
 * searches the raw value whose compensated result is closest to the set value. All three
 * compensations are monotonic in their raw input, so a binary search finds it.
 */
export interface Bme280Calibration {
  T1: number; T2: number; T3: number;
  P1: number; P2: number; P3: number; P4: number; P5: number; P6: number; P7: number; P8: number; P9: number;
  H1: number; H2: number; H3: number; H4: number; H5: number; H6: number;
}

/**
 * The fixed calibration set of every simulated BME280: the temperature and pressure words are
 * the worked example of the Bosch BMP280/BME280 datasheets, the humidity words typical of real
 * parts.
 */
export const SIM_CALIBRATION: Bme280Calibration = {
  T1: 27504, T2: 26435, T3: -1000,
  P1: 36477, P2: -10685, P3: 3024, P4: 2855, P5: 140, P6: -7, P7: 15500, P8: -14600, P9: 6000,
  H1: 75, H2: 362, H3: 0, H4: 313, H5: 50, H6: 30,
};

/** Returns t_fine and the temperature in 0.01 °C. */
export function compensateTemperature(adcT: number, c: Bme280Calibration): { tFine: number; centi: number } {
  const var1 = (((adcT >> 3) - (c.T1 << 1)) * c.T2) >> 11;
  const d = (adcT >> 4) - c.T1;
  const var2 = (((d * d) >> 12) * c.T3) >> 14;
  const tFine = var1 + var2;
  return { tFine, centi: (tFine * 5 + 128) >> 8 };
}

/** Pressure in Pa as unsigned Q24.8 (divide by 256), the 64-bit formula. */
export function compensatePressure(adcP: number, tFine: number, c: Bme280Calibration): number {
  let var1 = BigInt(tFine) - 128000n;
  let var2 = var1 * var1 * BigInt(c.P6);
  var2 = var2 + ((var1 * BigInt(c.P5)) << 17n);
  var2 = var2 + (BigInt(c.P4) << 35n);
  var1 = ((var1 * var1 * BigInt(c.P3)) >> 8n) + ((var1 * BigInt(c.P2)) << 12n);
  var1 = (((1n << 47n) + var1) * BigInt(c.P1)) >> 33n;
  if (var1 === 0n) return 0;
  let p = 1048576n - BigInt(adcP);
  p = (((p << 31n) - var2) * 3125n) / var1;
  var1 = (BigInt(c.P9) * (p >> 13n) * (p >> 13n)) >> 25n;
  var2 = (BigInt(c.P8) * p) >> 19n;
  p = ((p + var1 + var2) >> 8n) + (BigInt(c.P7) << 4n);
  return Number(p);
}

/** Relative humidity in %RH as unsigned Q22.10 (divide by 1024). */
export function compensateHumidity(adcH: number, tFine: number, c: Bme280Calibration): number {
  const B = BigInt;
  let v = B(tFine) - 76800n;
  const left = ((B(adcH) << 14n) - (B(c.H4) << 20n) - B(c.H5) * v + 16384n) >> 15n;
  const right =
    ((((((v * B(c.H6)) >> 10n) * (((v * B(c.H3)) >> 11n) + 32768n)) >> 10n) + 2097152n) * B(c.H2) + 8192n) >> 14n;
  v = left * right;
  v = v - (((((v >> 15n) * (v >> 15n)) >> 7n) * B(c.H1)) >> 4n);
  if (v < 0n) v = 0n;
  if (v > 419430400n) v = 419430400n;
  return Number(v >> 12n);
}

/** The raw value in [lo, hi] whose image under the monotonic `f` is closest to `target`. */
function invert(f: (raw: number) => number, target: number, lo: number, hi: number): number {
  const increasing = f(hi) >= f(lo);
  let a = lo;
  let b = hi;
  while (b - a > 1) {
    const mid = (a + b) >> 1;
    if (f(mid) < target === increasing) a = mid;
    else b = mid;
  }
  return Math.abs(f(a) - target) <= Math.abs(f(b) - target) ? a : b;
}

export interface RawReadings {
  adcT: number;
  adcP: number;
  adcH: number;
}

/** Raw ADC values that compensate to (approximately, to the formulas' resolution) the inputs. */
export function rawFromPhysical(celsius: number, pascal: number, percentRh: number, c: Bme280Calibration): RawReadings {
  const adcT = invert((raw) => compensateTemperature(raw, c).centi, Math.round(celsius * 100), 0, 0xfffff);
  const { tFine } = compensateTemperature(adcT, c);
  const adcP = invert((raw) => compensatePressure(raw, tFine, c), pascal * 256, 0, 0xfffff);
  const adcH = invert((raw) => compensateHumidity(raw, tFine, c), percentRh * 1024, 0, 0xffff);
  return { adcT, adcP, adcH };
}
