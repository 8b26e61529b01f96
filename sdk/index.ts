// The Liquid SDK: what apps import as "liquid".
//
//   import { Pin, Timer, log } from "liquid";
//   let led = Pin.NONE;
//   export function start(): void { led = Pin.output("LED0"); Timer.every(500); }
//   export function on_timer(timer: i32): void { led.toggle(); }
//
// Entry points an app may export (see hal/hal.json "entryPoints"): start(), on_timer(timer),
// on_pin(pin, value), on_message(subscription, length). No call blocks; apps react to events.
// The raw HAL imports live in ./generated (regenerate with `liquid bindings`).
export { Pin } from "./gpio";
export { I2CBus } from "./i2c";
export { Timer, time } from "./time";
export { Text, TEXT_CAP } from "./text";
export { log } from "./log";
export { msg } from "./msg";
export { device } from "./device";
export { random } from "./random";
export { modules } from "./modules";
export * from "./generated/constants";
