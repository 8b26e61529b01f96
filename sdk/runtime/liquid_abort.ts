// The abort handler every Liquid app is built with (`liquid build` passes this file as a
// library and aliases AssemblyScript's `abort` to it). AssemblyScript calls abort on failed
// bounds/null checks and `throw`; instead of importing `env.abort` (not a HAL function) it
// writes "MESSAGE at FILE:LINE:COLUMN" to the device log at error level, then traps. Apps that
// can never abort do not link it, so they do not need the log capability for it.
//
// Self-contained on purpose: library files are parsed before the SDK package is resolved.

// @ts-ignore: decorator
@external("log", "write")
declare function liquid_abort_log(level: i32, text: usize, len: i32): void;

const ABORT_CAP: i32 = 160;
const abortBuf: usize = memory.data(ABORT_CAP);

/** Appends the ASCII-safe bytes of a string (non-ASCII as '?'; the line is for humans). */
function liquid_abort_put(at: i32, s: string | null): i32 {
  if (s === null) return at;
  const src = changetype<usize>(s);
  const n = s.length;
  for (let i = 0; i < n && at < ABORT_CAP; i++) {
    const c = <u32>load<u16>(src + (<usize>i << 1));
    store<u8>(abortBuf + at++, <u8>(c < 0x80 ? c : 0x3f));
  }
  return at;
}

function liquid_abort_num(at: i32, v: u32): i32 {
  let div: u32 = 1;
  while (v / div >= 10) div *= 10;
  while (div > 0 && at < ABORT_CAP) {
    store<u8>(abortBuf + at++, <u8>(0x30 + (v / div) % 10));
    div /= 10;
  }
  return at;
}

export function liquid_abort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  let at = liquid_abort_put(0, message !== null ? message : "abort");
  at = liquid_abort_put(at, " at ");
  at = liquid_abort_put(at, fileName);
  at = liquid_abort_put(at, ":");
  at = liquid_abort_num(at, line);
  at = liquid_abort_put(at, ":");
  at = liquid_abort_num(at, column);
  liquid_abort_log(3, abortBuf, at);
  unreachable();
}
