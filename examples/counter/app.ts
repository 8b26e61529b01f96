// Counter: counts seconds and logs "count N"; LED0 shows whether N is odd. Its whole state is
// one global (exported by `liquid build` for snapshots), so after a live migration the count
// continues where it was instead of starting again at 1 — the app to watch when moving apps
// between devices.
import { Pin, Text, Timer, log } from "liquid";

const PERIOD_MS: i32 = 1000;

let count: i32 = 0;
let led = Pin.NONE;

export function start(): void {
  led = Pin.output("LED0", 0);
  Timer.every(PERIOD_MS);
}

export function on_timer(timer: i32): void {
  count++;
  led.write(count & 1);
  log.info(Text.begin().str("count ").int(count));
}
