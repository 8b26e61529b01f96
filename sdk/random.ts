// Random numbers from the host (deterministic per seed in the simulator). Math.random is not
// available to apps: it would import the host's seed function, which is not part of the HAL.
import { random_fill, random_u32 } from "./generated/random";

export namespace random {
  /** A random 32-bit value. (Not named u32: inside this namespace that would hide the type.) */
  export function uint32(): u32 {
    return <u32>random_u32();
  }

  /** A value in [0, bound) for bound > 0, without modulo bias (rejection sampling). */
  export function below(bound: u32): u32 {
    if (bound == 0) return 0;
    // Largest multiple of bound that fits in 32 bits, minus one: values above it are redrawn.
    const limit = <u32>(<u64>0x100000000 - (<u64>0x100000000 % <u64>bound) - 1);
    let v: u32;
    do v = <u32>random_u32(); while (v > limit);
    return v % bound;
  }

  export function fill(out: Uint8Array): void {
    random_fill(out.dataStart, out.length);
  }
}
