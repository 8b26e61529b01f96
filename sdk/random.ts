// Random numbers from the host (deterministic per seed in the simulator). Math.random is not
// available to apps: it would import the host's seed function, which is not part of the HAL.
import { random_fill, random_u32 } from "./generated/random";

export namespace random {
  export function u32(): u32 {
    return <u32>random_u32();
  }

  /** A value in [0, bound) for bound > 0 (rejection sampling: no modulo bias). */
  export function below(bound: u32): u32 {
    if (bound == 0) return 0;
    const limit = <u32>(0x100000000 - (0x100000000 % <u64>bound)) - 1;
    let v: u32;
    do v = <u32>random_u32(); while (v > limit && limit != 0xffffffff);
    return v % bound;
  }

  export function fill(out: Uint8Array): void {
    random_fill(out.dataStart, out.length);
  }
}
