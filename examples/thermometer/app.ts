// Thermometer: reads the TMP105 on I2C0 every second, logs the temperature ("23.50 C") and
// lights LED2 while it is above THRESHOLD_CENTI.
import { I2CBus, Pin, Text, Timer, log } from "liquid";

/** LED2 turns on above this temperature, in hundredths of a degree (25.00 C). */
const THRESHOLD_CENTI: i32 = 2500;
const TMP105_ADDR: i32 = 0x48;
const TEMPERATURE_REGISTER: i32 = 0x00;
const CONFIGURATION_REGISTER: i32 = 0x01;
/** Configuration R1 = R0 = 1: 12-bit conversions (0.0625 C steps); the part powers up at 9 bits (0.5 C). */
const RESOLUTION_12_BIT: i32 = 0x60;
const PERIOD_MS: i32 = 1000;

let bus = I2CBus.NONE;
let alarm = Pin.NONE;
let lastCenti: i32 = 0;

export function start(): void {
  bus = I2CBus.open("I2C0");
  // A sensor that does not answer here is reported by the first reading.
  bus.writeReg8(TMP105_ADDR, CONFIGURATION_REGISTER, RESOLUTION_12_BIT);
  alarm = Pin.output("LED2", 0);
  Timer.every(PERIOD_MS);
}

export function on_timer(timer: i32): void {
  // The register holds the temperature as a 12-bit two's complement value, left-justified in
  // 16 bits, at 0.0625 C per LSB: raw/16 * 0.0625 C = raw * 25 / 64 hundredths of a degree.
  const raw = bus.readReg16(TMP105_ADDR, TEMPERATURE_REGISTER);
  if (raw < 0) {
    log.warn(Text.begin().str("tmp105 at 0x").hex(TMP105_ADDR).str(" did not answer (error ").int(raw).str(")"));
    return;
  }
  const centi = (<i32>(<i16>raw) >> 4) * 25 / 4;
  lastCenti = centi;
  log.info(Text.begin().fixed(centi, 2).str(" C"));
  alarm.write(centi > THRESHOLD_CENTI ? 1 : 0);
}
