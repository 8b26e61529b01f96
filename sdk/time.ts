// Clocks and timers. Timers fire the app's exported `on_timer(timer)`.
import { time_now_ms, time_now_us, time_timer_cancel, time_timer_start } from "./generated/time";
import { fromRef, toRef } from "./internal/handle";

/**
 * A running timer: `blink = Timer.every(500)`, then in `on_timer(t)`: `if (blink.is(t)) ...`.
 * `ok` is false when the app has too many timers (EBUSY).
 */
@final @unmanaged
export class Timer {
  /** A placeholder for a timer not started yet. */
  // @ts-ignore: decorator
  @inline static get NONE(): Timer {
    return changetype<Timer>(0);
  }

  /** Fires every `ms` milliseconds until cancelled. */
  static every(ms: i32): Timer {
    return changetype<Timer>(toRef(time_timer_start(ms, 1)));
  }

  /** Fires once, `ms` milliseconds from now. */
  static after(ms: i32): Timer {
    return changetype<Timer>(toRef(time_timer_start(ms, 0)));
  }

  get id(): i32 {
    return fromRef(changetype<usize>(this));
  }

  get ok(): bool {
    return this.id >= 0;
  }

  /** True when `handle` (an on_timer argument) is this timer. */
  is(handle: i32): bool {
    return this.id == handle;
  }

  cancel(): i32 {
    return time_timer_cancel(this.id);
  }
}

export namespace time {
  /** Milliseconds since boot (virtual time in the simulator). */
  export function nowMs(): i64 {
    return time_now_ms();
  }

  /** Microseconds since boot. */
  export function nowUs(): i64 {
    return time_now_us();
  }
}
