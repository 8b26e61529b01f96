// UTF-16 (AssemblyScript strings) to UTF-8 (what the HAL takes), written straight into a static
// buffer. Truncates at a code point boundary instead of failing: a name that does not fit is
// simply not found by the host (ENOENT), and a long log line is cut.

/** Encodes `s` into [dst, dst+cap) and returns the number of bytes written. */
export function encodeInto(s: string, dst: usize, cap: i32): i32 {
  const src = changetype<usize>(s);
  const n = s.length;
  let out: i32 = 0;
  for (let i = 0; i < n; i++) {
    let c = <u32>load<u16>(src + (<usize>i << 1));
    if (c < 0x80) {
      if (out + 1 > cap) break;
      store<u8>(dst + out, <u8>c);
      out += 1;
    } else if (c < 0x800) {
      if (out + 2 > cap) break;
      store<u8>(dst + out, <u8>(0xc0 | (c >> 6)));
      store<u8>(dst + out + 1, <u8>(0x80 | (c & 0x3f)));
      out += 2;
    } else {
      if (c >= 0xd800 && c < 0xdc00 && i + 1 < n) {
        const lo = <u32>load<u16>(src + (<usize>(i + 1) << 1));
        if (lo >= 0xdc00 && lo < 0xe000) {
          if (out + 4 > cap) break;
          const cp = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
          store<u8>(dst + out, <u8>(0xf0 | (cp >> 18)));
          store<u8>(dst + out + 1, <u8>(0x80 | ((cp >> 12) & 0x3f)));
          store<u8>(dst + out + 2, <u8>(0x80 | ((cp >> 6) & 0x3f)));
          store<u8>(dst + out + 3, <u8>(0x80 | (cp & 0x3f)));
          out += 4;
          i++;
          continue;
        }
      }
      // A lone surrogate has no UTF-8 form: write U+FFFD like TextEncoder does.
      if (c >= 0xd800 && c < 0xe000) c = 0xfffd;
      if (out + 3 > cap) break;
      store<u8>(dst + out, <u8>(0xe0 | (c >> 12)));
      store<u8>(dst + out + 1, <u8>(0x80 | ((c >> 6) & 0x3f)));
      store<u8>(dst + out + 2, <u8>(0x80 | (c & 0x3f)));
      out += 3;
    }
  }
  return out;
}

/**
 * Encodes a resource name (pin, bus, device, topic segment) byte per character. Names on Liquid
 * boards are ASCII; any other character becomes '?', which matches no resource, so the host
 * answers ENOENT. Much smaller than the full encoder, which matters for tiny apps like blinky.
 */
export function encodeName(s: string, dst: usize, cap: i32): i32 {
  const src = changetype<usize>(s);
  let n = s.length;
  if (n > cap) n = cap;
  for (let i = 0; i < n; i++) {
    const c = <u32>load<u16>(src + (<usize>i << 1));
    store<u8>(dst + i, <u8>(c < 0x80 ? c : 0x3f));
  }
  return n;
}
