// Smooth: samples the TMP105 four times a second and, every two seconds, asks the shared
// library `stats` (lib/stats, built with `liquid build --library --shared`) for the minimum,
// maximum and median of the last eight samples. The samples never leave this app's memory:
// the library reads them where they are, and it returns its answer in a block it allocated
// with this app's allocator (docs/linking.md, "Shared-everything libraries"). Logs
// "min 23.50 max 23.50 median 23.50 C (stats 1.0.0)".
import { I2CBus, Text, Timer, log } from "liquid";

// @ts-ignore: decorator
@external("stats@^1", "summary") declare function stats_summary(ptr: i32, len: i32): i32;
// @ts-ignore: decorator
@external("stats@^1", "label") declare function stats_label(a: i32, b: i32): i32;

const TMP105_ADDR: i32 = 0x48;
const SAMPLES: i32 = 8;
const PERIOD_MS: i32 = 250;

let bus = I2CBus.NONE;
const samples = new StaticArray<i32>(SAMPLES);
let taken: i32 = 0;

export function start(): void {
  bus = I2CBus.open("I2C0");
  Timer.every(PERIOD_MS);
}

export function on_timer(timer: i32): void {
  const raw = bus.readReg16(TMP105_ADDR, 0);
  if (raw < 0) return;
  samples[taken % SAMPLES] = (<i32>(<i16>raw) >> 4) * 25 / 4; // hundredths of a degree
  taken++;
  if (taken % SAMPLES != 0) return;
  // [min, max, median]: a StaticArray<i32> the library allocated in this app's heap
  const summary = changetype<StaticArray<i32>>(<usize>stats_summary(<i32>changetype<usize>(samples), SAMPLES));
  const label = changetype<string>(<usize>stats_label(0, 0));
  log.info(Text.begin().str("min ").fixed(summary[0], 2).str(" max ").fixed(summary[1], 2).str(" median ").fixed(summary[2], 2).str(" C (").str(label).str(")"));
}
