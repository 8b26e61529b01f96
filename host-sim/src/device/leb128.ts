/**
 * Unsigned LEB128, as wasm modules and the snapshot's memory tokens encode integers: `next`
 * yields the following byte; more than `maxBits` bits of payload is malformed (`tooLong`).
 */
export function readUleb(next: () => number, maxBits: number, tooLong: () => Error): number {
  let result = 0;
  let shift = 0;
  for (;;) {
    const byte = next();
    // multiplication, not <<: values up to 2^53 stay exact
    result += (byte & 0x7f) * 2 ** shift;
    if (!(byte & 0x80)) return result;
    shift += 7;
    if (shift >= maxBits) throw tooLong();
  }
}
