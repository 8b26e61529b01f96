// A line of UTF-8 text built in a static buffer: formatting numbers for logs and messages
// without allocating (string concatenation would allocate on every call, and the stub runtime
// never frees). `log.info(Text.begin().str("t=").fixed(2350, 2).str(" C"))` logs "t=23.50 C".
import { DATA_CAP, dataBuf } from "./internal/scratch";
import { encodeInto } from "./internal/utf8";

/** Capacity of the line in bytes; longer lines are truncated. */
export const TEXT_CAP: i32 = 240;
const textBuf: usize = memory.data(TEXT_CAP);
let textLen: i32 = 0;
const digits: usize = memory.data(24);

/**
 * The one shared text line. `Text.begin()` clears it; every method appends and returns it for
 * chaining. It is reused by the next `begin()`, so pass it on (log, publish) before building
 * another line.
 */
@final @unmanaged
export class Text {
  /** Clears the line and returns it. */
  static begin(): Text {
    textLen = 0;
    return changetype<Text>(textBuf);
  }

  /** Address of the UTF-8 bytes. */
  get ptr(): usize {
    return textBuf;
  }

  /** Length in bytes. */
  get length(): i32 {
    return textLen;
  }

  /** Sets the length after the host wrote bytes at `ptr` (e.g. msg.read). */
  setLength(n: i32): Text {
    textLen = n < 0 ? 0 : n > TEXT_CAP ? TEXT_CAP : n;
    return this;
  }

  /** Appends a string. */
  str(s: string): Text {
    textLen += encodeInto(s, textBuf + textLen, TEXT_CAP - textLen);
    return this;
  }

  /** Appends one ASCII character given by its code. */
  char(code: i32): Text {
    if (textLen < TEXT_CAP) {
      store<u8>(textBuf + textLen, <u8>code);
      textLen++;
    }
    return this;
  }

  /** Appends a signed decimal integer. */
  int(value: i32): Text {
    if (value < 0) this.char(0x2d);
    return this.uint(value < 0 ? <u32>(-value) : <u32>value, 1);
  }

  /** Appends an unsigned decimal integer with at least `minDigits` digits (zero-padded). */
  uint(value: u32, minDigits: i32 = 1): Text {
    let n: i32 = 0;
    do {
      store<u8>(digits + n, <u8>(0x30 + value % 10));
      value /= 10;
      n++;
    } while (value != 0);
    while (n < minDigits && n < 24) {
      store<u8>(digits + n, 0x30);
      n++;
    }
    while (n > 0) this.char(<i32>load<u8>(digits + --n));
    return this;
  }

  /** Appends a signed 64-bit decimal integer (e.g. a time in microseconds). */
  int64(value: i64): Text {
    if (value < 0) this.char(0x2d);
    let u: u64 = value < 0 ? <u64>(-value) : <u64>value;
    let n: i32 = 0;
    do {
      store<u8>(digits + n, <u8>(0x30 + <i32>(u % 10)));
      u /= 10;
      n++;
    } while (u != 0);
    while (n > 0) this.char(<i32>load<u8>(digits + --n));
    return this;
  }

  /**
   * Appends a fixed-point number: `value` is in units of 10^-decimals, so fixed(2350, 2) is
   * "23.50" and fixed(-5, 2) is "-0.05". Integer-only, so no float formatting code is linked.
   */
  fixed(value: i32, decimals: i32): Text {
    if (decimals <= 0) return this.int(value);
    let scale: u32 = 1;
    for (let i = 0; i < decimals && i < 9; i++) scale *= 10;
    const magnitude = value < 0 ? <u32>(-value) : <u32>value;
    if (value < 0) this.char(0x2d);
    this.uint(magnitude / scale, 1);
    this.char(0x2e);
    return this.uint(magnitude % scale, decimals < 9 ? decimals : 9);
  }

  /** Appends `value` in lowercase hex, at least `minDigits` digits, without a prefix. */
  hex(value: u32, minDigits: i32 = 1): Text {
    let n: i32 = 0;
    do {
      const d = <i32>(value & 15);
      store<u8>(digits + n, <u8>(d < 10 ? 0x30 + d : 0x57 + d));
      value >>>= 4;
      n++;
    } while (value != 0);
    while (n < minDigits && n < 24) {
      store<u8>(digits + n, 0x30);
      n++;
    }
    while (n > 0) this.char(<i32>load<u8>(digits + --n));
    return this;
  }

  /**
   * Reads a decimal number at the start of the line (after spaces) as fixed point with
   * `decimals` digits: "45.6" with decimals 2 is 4560, "-0.05" is -5, "7" is 700. Extra digits
   * are cut, not rounded; reading stops at the first other character; no digits gives 0.
   */
  parseFixed(decimals: i32): i32 {
    let i: i32 = 0;
    while (i < textLen && load<u8>(textBuf + i) == 0x20) i++;
    let negative = false;
    if (i < textLen && (load<u8>(textBuf + i) == 0x2d || load<u8>(textBuf + i) == 0x2b)) {
      negative = load<u8>(textBuf + i) == 0x2d;
      i++;
    }
    let value: i32 = 0;
    let fraction: i32 = -1; // digits seen after the point, -1 before it
    for (; i < textLen; i++) {
      const c = <i32>load<u8>(textBuf + i);
      if (c == 0x2e && fraction < 0) {
        fraction = 0;
        continue;
      }
      if (c < 0x30 || c > 0x39) break;
      if (fraction >= decimals) continue;
      value = value * 10 + (c - 0x30);
      if (fraction >= 0) fraction++;
    }
    for (let f = fraction < 0 ? 0 : fraction; f < decimals; f++) value *= 10;
    return negative ? -value : value;
  }

  /** True when the line's bytes equal the UTF-8 encoding of `s`. */
  equals(s: string): bool {
    const n = encodeInto(s, dataBuf, DATA_CAP);
    if (n != textLen || n == DATA_CAP) return false;
    return memory.compare(dataBuf, textBuf, <usize>n) == 0;
  }
}
