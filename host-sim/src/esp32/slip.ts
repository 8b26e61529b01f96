/**
 * SLIP framing (RFC 1055) as the ESP ROM loader uses it: every packet is wrapped in 0xC0 bytes,
 * and 0xC0 / 0xDB inside a packet are sent as 0xDB 0xDC / 0xDB 0xDD.
 */
export const SLIP_END = 0xc0;
export const SLIP_ESC = 0xdb;
export const SLIP_ESC_END = 0xdc;
export const SLIP_ESC_ESC = 0xdd;

export function slipEncode(packet: Uint8Array): Uint8Array {
  const out: number[] = [SLIP_END];
  for (const byte of packet) {
    if (byte === SLIP_END) out.push(SLIP_ESC, SLIP_ESC_END);
    else if (byte === SLIP_ESC) out.push(SLIP_ESC, SLIP_ESC_ESC);
    else out.push(byte);
  }
  out.push(SLIP_END);
  return Uint8Array.from(out);
}

/**
 * Streaming decoder for the receiving side of the ROM loader. Bytes outside a frame (line
 * noise, a terminal's keystrokes) are ignored, as the ROM does; a frame with an invalid escape
 * is dropped whole, so a corrupted packet never reaches the command handler.
 */
export class SlipDecoder {
  private frame: number[] | null = null;
  private escaping = false;

  constructor(private readonly onPacket: (packet: Uint8Array) => void) {}

  push(bytes: Uint8Array): void {
    for (const byte of bytes) {
      if (this.frame === null) {
        if (byte === SLIP_END) this.frame = [];
        continue;
      }
      if (this.escaping) {
        this.escaping = false;
        if (byte === SLIP_ESC_END) this.frame.push(SLIP_END);
        else if (byte === SLIP_ESC_ESC) this.frame.push(SLIP_ESC);
        else this.frame = null; // invalid escape: drop the frame, wait for the next 0xC0
        continue;
      }
      if (byte === SLIP_ESC) this.escaping = true;
      else if (byte === SLIP_END) {
        // Two 0xC0 in a row are the end of one frame and the start of the next: an empty
        // frame is not a packet, so keep listening.
        if (this.frame.length > 0) {
          const packet = Uint8Array.from(this.frame);
          this.frame = null;
          this.onPacket(packet);
        }
        if (this.frame === null) this.frame = [];
      } else this.frame.push(byte);
    }
  }

  reset(): void {
    this.frame = null;
    this.escaping = false;
  }
}
