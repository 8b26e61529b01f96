// Shared helpers of the simulator tests: WAT apps, the test board, an event recorder.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type BoardDef, type SimEvent, Simulation, parseBoard } from "../../host-sim/src/index.js";

export const FIXTURES = join(import.meta.dirname, "fixtures");

/** Assembles WebAssembly text (shared with the linking tests). */
export { wat } from "../helpers/wat.js";

export function testBoard(): BoardDef {
  return parseBoard(JSON.parse(readFileSync(join(FIXTURES, "devkit-test.json"), "utf8")), "devkit-test.json");
}

/** A simulation with the test board as "b1" and every event recorded. */
export function simWithBoard(options: { seed?: number; budget?: number; maxEventsPerInstant?: number } = {}) {
  const sim = new Simulation(options);
  const board = sim.addBoard(testBoard(), "b1");
  const events: SimEvent[] = [];
  sim.onEvent((e) => events.push(e));
  return { sim, board, events };
}

/** Every HAL import an app in these tests may use, as WAT import lines. */
export const IMPORTS = `
 (import "gpio" "open" (func $gpio_open (param i32 i32) (result i32)))
 (import "gpio" "mode" (func $gpio_mode (param i32 i32) (result i32)))
 (import "gpio" "write" (func $gpio_write (param i32 i32) (result i32)))
 (import "gpio" "read" (func $gpio_read (param i32) (result i32)))
 (import "gpio" "toggle" (func $gpio_toggle (param i32) (result i32)))
 (import "gpio" "watch" (func $gpio_watch (param i32 i32 i32) (result i32)))
 (import "time" "timer_start" (func $timer_start (param i32 i32) (result i32)))
 (import "time" "timer_cancel" (func $timer_cancel (param i32) (result i32)))
 (import "time" "now_ms" (func $now_ms (result i64)))
 (import "log" "write" (func $log (param i32 i32 i32)))
 (import "msg" "publish" (func $publish (param i32 i32 i32 i32) (result i32)))
 (import "msg" "subscribe" (func $subscribe (param i32 i32) (result i32)))
 (import "msg" "read" (func $msg_read (param i32 i32) (result i32)))
 (import "random" "u32" (func $random_u32 (result i32)))
 (import "i2c" "open" (func $i2c_open (param i32 i32) (result i32)))
 (import "i2c" "write_read" (func $i2c_write_read (param i32 i32 i32 i32 i32 i32) (result i32)))
`;

export const gpioEvents = (events: SimEvent[], pin: string) =>
  events.filter((e): e is Extract<SimEvent, { type: "gpio" }> => e.type === "gpio" && e.pin === pin).map((e) => [e.t, e.value]);

export const logs = (events: SimEvent[], app?: string) =>
  events.filter((e): e is Extract<SimEvent, { type: "log" }> => e.type === "log" && (app === undefined || e.app === app)).map((e) => [e.t, e.msg]);

export const traps = (events: SimEvent[]) =>
  events.filter((e): e is Extract<SimEvent, { type: "trap" }> => e.type === "trap");
