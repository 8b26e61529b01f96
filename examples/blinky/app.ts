// Blinky: LED0 changes every 500 ms, driven by one periodic timer.
import { Pin, Timer } from "liquid";

const PERIOD_MS = 500;

let led = Pin.NONE;

export function start(): void {
  led = Pin.output("LED0");
  Timer.every(PERIOD_MS);
}

export function on_timer(timer: i32): void {
  led.toggle();
}
