// Button: each press of BUTTON0 toggles LED1. The runtime debounces the button (gpio.watch)
// and calls on_pin once the level has been stable for DEBOUNCE_MS.
import { Pin, PIN_INPUT_PULLUP, EDGE_FALLING } from "liquid";

const DEBOUNCE_MS = 30;

let button = Pin.NONE;
let led = Pin.NONE;
let presses: i32 = 0;

export function start(): void {
  led = Pin.output("LED1", 0);
  // The button pulls the line to ground: pressed = falling edge, level 0.
  button = Pin.input("BUTTON0", PIN_INPUT_PULLUP);
  button.watch(EDGE_FALLING, DEBOUNCE_MS);
}

export function on_pin(pin: i32, value: i32): void {
  if (button.is(pin) && value == 0) {
    presses++;
    led.toggle();
  }
}
