/**
 * One logical pin of a simulated board and its electrical level. An output pin's level is what
 * an app last drove; an input's level comes from the outside world (a button press, a value
 * set by the user or a scenario), or from its pull resistor when nothing drives it. Floating
 * inputs read 0 in the simulator.
 */
import { HalConst } from "../hal.js";
import type { PinDef } from "./board-def.js";

export class BoardPin {
  /** PIN_INPUT..PIN_INPUT_PULLDOWN, or undefined before any app set a mode. */
  mode: number | undefined;
  private driven = 0;
  /** Level the outside drives onto the pin, undefined when nothing does. */
  private external: number | undefined;
  /** For buttons: whether it is held down. */
  private pressed = false;

  constructor(readonly def: PinDef) {
    if (def.kind === "led") this.mode = HalConst.PIN_OUTPUT;
    if (def.kind === "button") this.external = def.activeLow ? 1 : 0;
  }

  get name(): string {
    return this.def.name;
  }

  get isOutput(): boolean {
    return this.mode === HalConst.PIN_OUTPUT;
  }

  get level(): number {
    if (this.isOutput) return this.driven;
    if (this.external !== undefined) return this.external;
    return this.mode === HalConst.PIN_INPUT_PULLUP ? 1 : 0;
  }

  /**
   * Sets the output latch. It shows on the line only in output mode (as on the posix port and
   * real GPIO blocks: writing an input's latch presets the level it drives once switched).
   */
  drive(value: number): void {
    this.driven = value ? 1 : 0;
  }

  /** The output latch, whatever the mode. */
  get latch(): number {
    return this.driven;
  }

  /**
   * Sets the pin from outside: for a button 1 = pressed and 0 = released (the line level then
   * follows `activeLow`), for any other input the line level itself.
   */
  setExternal(value: number): void {
    if (this.def.kind === "button") {
      this.pressed = value !== 0;
      this.external = this.pressed !== this.def.activeLow ? 1 : 0;
    } else {
      this.external = value ? 1 : 0;
    }
  }

  /** The user-facing value of the pin: pressed state for buttons, level otherwise. */
  get userValue(): number {
    return this.def.kind === "button" ? (this.pressed ? 1 : 0) : this.level;
  }
}
