// Pin, I2CBus and Timer are field-less @unmanaged classes whose reference *is* the host handle,
// so opening a pin allocates nothing and a handle lives in one i32 global a snapshot can read.
// The top bit is flipped so that handle 0 is not a null reference (AssemblyScript's null checks
// would otherwise trap on it) and error results (negative) stay recognisable.

// @ts-ignore: decorator
@inline export function toRef(handle: i32): usize {
  return <usize>(handle ^ i32.MIN_VALUE);
}

// @ts-ignore: decorator
@inline export function fromRef(ref: usize): i32 {
  return (<i32>ref) ^ i32.MIN_VALUE;
}
