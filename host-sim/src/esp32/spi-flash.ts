import { createHash } from "node:crypto";

export const SECTOR_SIZE = 4096;

/**
 * A NOR SPI flash chip: erased bytes read 0xFF, erasing works on whole 4 KiB sectors, and a
 * write can only clear bits (new = old AND data). So a write without the erase before it shows
 * up as corrupted data, as it would on the real part.
 */
export class SpiFlash {
  readonly bytes: Uint8Array;
  /** JEDEC id as the RDID (0x9F) command returns it: manufacturer, memory type, capacity. */
  readonly jedecId: number;

  constructor(readonly size = 4 * 1024 * 1024) {
    if (size <= 0 || size % SECTOR_SIZE !== 0) throw new Error(`flash size must be a multiple of ${SECTOR_SIZE}`);
    this.bytes = new Uint8Array(size).fill(0xff);
    // Winbond (0xEF), type 0x40, capacity code log2(size)
    this.jedecId = 0xef | (0x40 << 8) | (Math.log2(size) << 16);
  }

  contains(offset: number, length: number): boolean {
    return offset >= 0 && length >= 0 && offset + length <= this.size;
  }

  /** Erases every sector that [offset, offset+length) touches. */
  erase(offset: number, length: number): void {
    if (length === 0) return;
    if (!this.contains(offset, length)) throw new RangeError(`erase 0x${offset.toString(16)}+${length} is outside the flash`);
    const start = Math.floor(offset / SECTOR_SIZE) * SECTOR_SIZE;
    const end = Math.ceil((offset + length) / SECTOR_SIZE) * SECTOR_SIZE;
    this.bytes.fill(0xff, start, end);
  }

  eraseAll(): void {
    this.bytes.fill(0xff);
  }

  write(offset: number, data: Uint8Array): void {
    if (!this.contains(offset, data.length)) throw new RangeError(`write 0x${offset.toString(16)}+${data.length} is outside the flash`);
    for (let i = 0; i < data.length; i++) this.bytes[offset + i]! &= data[i]!;
  }

  read(offset: number, length: number): Uint8Array {
    if (!this.contains(offset, length)) throw new RangeError(`read 0x${offset.toString(16)}+${length} is outside the flash`);
    return this.bytes.slice(offset, offset + length);
  }

  md5(offset: number, length: number): Buffer {
    return createHash("md5").update(this.read(offset, length)).digest();
  }
}
