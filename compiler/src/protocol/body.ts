/**
 * Request/response bodies: little-endian integers, str8/str16 strings, raw bytes. A reader that
 * runs past the end throws BodyError, which a device turns into EBADREQ and a client into a
 * protocol error, so a short or garbled body never reads undefined values.
 */
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: false });

export class BodyError extends Error {}

export class BodyWriter {
  private parts: Uint8Array[] = [];
  private size = 0;

  private push(bytes: Uint8Array): this {
    this.parts.push(bytes);
    this.size += bytes.length;
    return this;
  }
  u8(v: number): this {
    return this.push(Uint8Array.of(v & 0xff));
  }
  u16(v: number): this {
    return this.push(Uint8Array.of(v & 0xff, (v >>> 8) & 0xff));
  }
  u32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    return this.push(b);
  }
  bytes(b: Uint8Array): this {
    return this.push(b);
  }
  str8(s: string): this {
    const b = utf8.encode(s);
    if (b.length > 0xff) throw new BodyError(`string too long for str8 (${b.length} bytes): ${s.slice(0, 40)}...`);
    return this.u8(b.length).push(b);
  }
  str16(s: string): this {
    const b = utf8.encode(s);
    if (b.length > 0xffff) throw new BodyError(`string too long for str16 (${b.length} bytes)`);
    return this.u16(b.length).push(b);
  }
  done(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

export class BodyReader {
  private pos = 0;
  constructor(private readonly data: Uint8Array) {}

  get remaining(): number {
    return this.data.length - this.pos;
  }
  private need(n: number, what: string): void {
    if (this.pos + n > this.data.length) throw new BodyError(`body too short: ${what} needs ${n} bytes at offset ${this.pos}, ${this.remaining} left`);
  }
  u8(what = "u8"): number {
    this.need(1, what);
    return this.data[this.pos++]!;
  }
  u16(what = "u16"): number {
    this.need(2, what);
    const v = this.data[this.pos]! | (this.data[this.pos + 1]! << 8);
    this.pos += 2;
    return v;
  }
  u32(what = "u32"): number {
    this.need(4, what);
    const v = new DataView(this.data.buffer, this.data.byteOffset + this.pos, 4).getUint32(0, true);
    this.pos += 4;
    return v;
  }
  bytes(n: number, what = "bytes"): Uint8Array {
    this.need(n, what);
    const b = this.data.slice(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  rest(): Uint8Array {
    const b = this.data.slice(this.pos);
    this.pos = this.data.length;
    return b;
  }
  str8(what = "str8"): string {
    return utf8Decoder.decode(this.bytes(this.u8(what), what));
  }
  str16(what = "str16"): string {
    return utf8Decoder.decode(this.bytes(this.u16(what), what));
  }
  text(): string {
    return utf8Decoder.decode(this.rest());
  }
  end(what = "body"): void {
    if (this.remaining !== 0) throw new BodyError(`${what} has ${this.remaining} unexpected trailing bytes`);
  }
}

export function encodeText(s: string): Uint8Array {
  return utf8.encode(s);
}

export function decodeText(b: Uint8Array): string {
  return utf8Decoder.decode(b);
}
