import { crc32 } from "./crc32.js";
import { CRC_SIZE, HEADER_SIZE, MAGIC0, MAGIC1, MAX_PAYLOAD, PARTIAL_FRAME_TIMEOUT_MS, PROTOCOL_VERSION } from "./constants.js";

/** One device protocol frame (docs/protocol.md, "Frame"). */
export interface Frame {
  version: number;
  command: number;
  flags: number;
  seq: number;
  payload: Uint8Array;
}

export function encodeFrame(frame: Omit<Frame, "version"> & { version?: number }): Uint8Array {
  const n = frame.payload.length;
  if (n > MAX_PAYLOAD) throw new RangeError(`frame payload of ${n} bytes exceeds the protocol maximum of ${MAX_PAYLOAD}`);
  const out = new Uint8Array(HEADER_SIZE + n + CRC_SIZE);
  const view = new DataView(out.buffer);
  out[0] = MAGIC0;
  out[1] = MAGIC1;
  out[2] = frame.version ?? PROTOCOL_VERSION;
  out[3] = frame.command;
  out[4] = frame.flags;
  view.setUint16(5, frame.seq, true);
  view.setUint16(7, n, true);
  out.set(frame.payload, HEADER_SIZE);
  view.setUint32(HEADER_SIZE + n, crc32(out, 2, HEADER_SIZE + n), true);
  return out;
}

export interface ParserStats {
  frames: number;
  /** Bytes skipped while scanning for a magic (garbage, corrupted or truncated frames). */
  skippedBytes: number;
  badCrc: number;
  oversize: number;
  staleDrops: number;
}

/**
 * Incremental frame parser. Feed it whatever bytes arrive; it returns every complete frame
 * whose CRC matches. Anything else costs only bytes: on a bad length or CRC it drops the first
 * magic byte and rescans, so a frame hidden after garbage or inside a corrupted frame is found.
 * Frames with an unknown version are returned too (with their version) so a device can answer
 * EVERSION; clients ignore them.
 */
export class FrameParser {
  private buf: Uint8Array = new Uint8Array(0);
  private lastInput = 0;
  readonly stats: ParserStats = { frames: 0, skippedBytes: 0, badCrc: 0, oversize: 0, staleDrops: 0 };

  constructor(private readonly now: () => number = Date.now) {}

  /** Bytes held for a frame not complete yet. */
  get pending(): number {
    return this.buf.length;
  }

  push(chunk: Uint8Array): Frame[] {
    const frames = this.expire();
    this.lastInput = this.now();
    if (chunk.length === 0) return frames;
    let buf: Uint8Array;
    if (this.buf.length === 0) buf = chunk;
    else {
      buf = new Uint8Array(this.buf.length + chunk.length);
      buf.set(this.buf);
      buf.set(chunk, this.buf.length);
    }
    this.buf = this.scan(buf, frames, false);
    return frames;
  }

  /**
   * Gives up on a partial frame when the sender has been quiet for PARTIAL_FRAME_TIMEOUT_MS:
   * its missing bytes will not come, and a complete frame may be hiding behind its claimed
   * length (a truncated frame followed by a good one). Called by push; call it on a timer to
   * recover such a frame without waiting for more input.
   */
  expire(): Frame[] {
    const frames: Frame[] = [];
    if (this.buf.length === 0 || this.now() - this.lastInput <= PARTIAL_FRAME_TIMEOUT_MS) return frames;
    this.stats.staleDrops++;
    this.buf = this.scan(this.buf, frames, true);
    return frames;
  }

  /** Extracts frames from buf into `frames`; returns the bytes kept for later. */
  private scan(buf: Uint8Array, frames: Frame[], stale: boolean): Uint8Array {
    let pos = 0;
    while (pos < buf.length) {
      const start = findMagic(buf, pos);
      this.stats.skippedBytes += start - pos;
      pos = start;
      if (pos >= buf.length) break;
      const length = buf.length - pos >= HEADER_SIZE ? buf[pos + 7]! | (buf[pos + 8]! << 8) : -1;
      if (length > MAX_PAYLOAD) {
        this.stats.oversize++;
        this.stats.skippedBytes++;
        pos++;
        continue;
      }
      const total = HEADER_SIZE + length + CRC_SIZE;
      if (length < 0 || buf.length - pos < total) {
        if (!stale) break;
        // Stale: this start will never complete; look for a frame after its first byte.
        this.stats.skippedBytes++;
        pos++;
        continue;
      }
      const end = pos + HEADER_SIZE + length;
      const want = (buf[end]! | (buf[end + 1]! << 8) | (buf[end + 2]! << 16) | (buf[end + 3]! << 24)) >>> 0;
      if (crc32(buf, pos + 2, end) !== want) {
        this.stats.badCrc++;
        this.stats.skippedBytes++;
        pos++;
        continue;
      }
      frames.push({
        version: buf[pos + 2]!,
        command: buf[pos + 3]!,
        flags: buf[pos + 4]!,
        seq: buf[pos + 5]! | (buf[pos + 6]! << 8),
        payload: buf.slice(pos + HEADER_SIZE, end),
      });
      this.stats.frames++;
      pos += total;
    }
    return buf.slice(pos);
  }

  reset(): void {
    this.buf = new Uint8Array(0);
  }
}

/** Index of the next "LQ" at or after `from`; a lone trailing 'L' is kept as a possible start. */
function findMagic(buf: Uint8Array, from: number): number {
  for (let i = from; i < buf.length; i++) {
    if (buf[i] !== MAGIC0) continue;
    if (i + 1 === buf.length || buf[i + 1] === MAGIC1) return i;
  }
  return buf.length;
}
