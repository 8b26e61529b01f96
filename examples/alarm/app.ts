// Alarm: listens to the humidity the weather app publishes ("weather/humidity", e.g. "45.00")
// and lights LED3 while it is above THRESHOLD_CENTI. Two apps cooperating through messages:
// on one board, or on two devices once messages are bridged between them.
import { Pin, Text, log, msg } from "liquid";

/** LED3 turns on above this relative humidity, in hundredths of a percent (60.00 %RH). */
const THRESHOLD_CENTI: i32 = 6000;

let led = Pin.NONE;
let humidity = 0;
let on = false;

export function start(): void {
  led = Pin.output("LED3", 0);
  if (msg.subscribe("weather/humidity") < 0) log.error("cannot subscribe to weather/humidity");
}

export function on_message(subscription: i32, length: i32): void {
  humidity = msg.readText().parseFixed(2);
  const above = humidity > THRESHOLD_CENTI;
  if (above != on) {
    on = above;
    led.write(on ? 1 : 0);
    log.warn(Text.begin().str(on ? "humid: " : "dry again: ").fixed(humidity, 2).str(" %RH"));
  }
}
