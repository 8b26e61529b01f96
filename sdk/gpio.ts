// Digital pins by logical name ("LED0", "BUTTON0"): the board maps names to hardware.
import { gpio_mode, gpio_open, gpio_read, gpio_toggle, gpio_unwatch, gpio_watch, gpio_write } from "./generated/gpio";
import { EDGE_BOTH, PIN_INPUT, PIN_OUTPUT } from "./generated/constants";
import { NAME_CAP, nameBuf } from "./internal/scratch";
import { encodeName } from "./internal/utf8";
import { fromRef, toRef } from "./internal/handle";

/**
 * An opened pin. Open pins in `start()`: `led = Pin.output("LED0")`. `liquid build` records
 * the names passed to Pin.open/output/input as string literals in the app's manifest, and the
 * device only grants those (opening another pin traps).
 *
 * A failed open (no such pin on this board) returns a Pin whose `ok` is false and whose `id` is
 * the negative error code; operations on it return EINVAL.
 */
@final @unmanaged
export class Pin {
  /** A placeholder for a pin not opened yet (`let led = Pin.NONE;` at top level). */
  // @ts-ignore: decorator
  @inline static get NONE(): Pin {
    return changetype<Pin>(0);
  }

  /** Opens a pin without changing its mode. */
  static open(name: string): Pin {
    return changetype<Pin>(toRef(gpio_open(nameBuf, encodeName(name, nameBuf, NAME_CAP))));
  }

  /** Opens a pin as a push-pull output; `level` (0 or 1) is driven at once when given. */
  static output(name: string, level: i32 = -1): Pin {
    const pin = Pin.open(name);
    if (pin.ok) {
      gpio_mode(pin.id, PIN_OUTPUT);
      if (level >= 0) gpio_write(pin.id, level);
    }
    return pin;
  }

  /** Opens a pin as an input; `mode` is PIN_INPUT, PIN_INPUT_PULLUP or PIN_INPUT_PULLDOWN. */
  static input(name: string, mode: i32 = PIN_INPUT): Pin {
    const pin = Pin.open(name);
    if (pin.ok) gpio_mode(pin.id, mode);
    return pin;
  }

  /** The host's handle (what on_pin receives), or a negative error code if the open failed. */
  get id(): i32 {
    return fromRef(changetype<usize>(this));
  }

  /** True when the pin was opened. */
  get ok(): bool {
    return this.id >= 0;
  }

  /** True when `handle` (an on_pin argument) is this pin. */
  is(handle: i32): bool {
    return this.id == handle;
  }

  mode(mode: i32): i32 {
    return gpio_mode(this.id, mode);
  }

  write(level: i32): i32 {
    return gpio_write(this.id, level);
  }

  high(): i32 {
    return gpio_write(this.id, 1);
  }

  low(): i32 {
    return gpio_write(this.id, 0);
  }

  /** The level, 0 or 1 (or a negative error). */
  read(): i32 {
    return gpio_read(this.id);
  }

  /** Inverts an output; returns the new level. */
  toggle(): i32 {
    return gpio_toggle(this.id);
  }

  /**
   * Reports edges to the app's exported `on_pin(pin, value)`; a level must be stable for
   * `debounceMs` before it counts.
   */
  watch(edges: i32 = EDGE_BOTH, debounceMs: i32 = 20): i32 {
    return gpio_watch(this.id, edges, debounceMs);
  }

  unwatch(): i32 {
    return gpio_unwatch(this.id);
  }
}
