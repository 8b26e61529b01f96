// Probe: finds its temperature sensor at boot and uses the matching driver library, which the
// device links on demand from its store or the module repository (docs/linking.md). The driver
// imports below are resolved at their first call: a board with a TMP105 never loads the BME280
// driver, and the other way round.
import { I2CBus, Text, Timer, device, log } from "liquid";

// @ts-ignore: decorator
@external("tmp105@^1", "read_centi") declare function tmp105_read_centi(bus: i32, addr: i32): i32;
// @ts-ignore: decorator
@external("bme280@^1", "read_centi") declare function bme280_read_centi(bus: i32, addr: i32): i32;

const NONE: i32 = 0, TMP105: i32 = 1, BME280: i32 = 2;
const NO_READING: i32 = i32.MIN_VALUE;
let bus = I2CBus.NONE;
let sensor: i32 = NONE;

export function start(): void {
  bus = I2CBus.open("I2C0");
  if (device.has("tmp105")) sensor = TMP105;
  else if (device.has("bme280")) sensor = BME280;
  if (sensor == NONE) {
    log.warn("no temperature sensor found");
    return;
  }
  log.info(sensor == TMP105 ? "found tmp105" : "found bme280");
  Timer.every(1000);
}

export function on_timer(timer: i32): void {
  const centi = sensor == TMP105 ? tmp105_read_centi(bus.id, 0x48) : bme280_read_centi(bus.id, 0x76);
  if (centi == NO_READING) {
    log.warn("the sensor did not answer");
    return;
  }
  log.info(Text.begin().fixed(centi, 2).str(" C"));
}
