import { createHash } from "node:crypto";

/**
 * The ESP32 application image format that the ROM and the second-stage bootloader load (what
 * ESP-IDF's build and esptool's elf2image produce):
 *
 *   24-byte header: u8 0xE9, u8 segment count, u8 SPI mode, u8 (size << 4 | freq), u32 entry,
 *                   then the extended header: u8 WP pin, 3 bytes drive settings, u16 chip id
 *                   (0 = ESP32), u8 min revision, u16 min/max full revision, 4 reserved,
 *                   u8 "SHA-256 appended"
 *   segments:       u32 load address, u32 length (multiple of 4), data
 *   0-padding up to a 16-byte boundary minus one, then a checksum byte (0xEF XOR all segment
 *   data), and, when the flag is set, the SHA-256 of everything before it.
 *
 * Segments that the cache maps straight from flash (IROM, DROM) must sit at a file offset with
 * the same remainder modulo 64 KiB as their address; the builder inserts padding segments for
 * that, like elf2image does.
 */
export const IMAGE_MAGIC = 0xe9;
export const APP_DESC_MAGIC = 0xabcd5432;
const HEADER_SIZE = 24;
const MMU_PAGE = 0x10000;

export const CHIP_IDS: Record<number, string> = {
  0: "ESP32",
  2: "ESP32-S2",
  5: "ESP32-C3",
  9: "ESP32-S3",
  12: "ESP32-C2",
  13: "ESP32-C6",
  16: "ESP32-H2",
  18: "ESP32-P4",
};

export type SpiMode = "qio" | "qout" | "dio" | "dout";
const SPI_MODES: SpiMode[] = ["qio", "qout", "dio", "dout"];
const FLASH_SIZES = ["1MB", "2MB", "4MB", "8MB", "16MB"];
const FLASH_FREQS: Record<number, string> = { 0: "40m", 1: "26m", 2: "20m", 0xf: "80m" };

export interface ImageSegment {
  address: number;
  data: Uint8Array;
}

export interface AppDescription {
  projectName: string;
  version: string;
  idfVersion: string;
}

export interface BuildImageOptions {
  entry: number;
  segments: ImageSegment[];
  chipId?: number;
  spiMode?: SpiMode;
  flashSizeMB?: 1 | 2 | 4 | 8 | 16;
  appendSha256?: boolean;
  /** Where the image will be written: mapped segments are aligned against this. */
  flashOffset?: number;
}

export function isFlashMapped(address: number): boolean {
  return (address >= 0x3f400000 && address < 0x3f800000) || (address >= 0x400d0000 && address < 0x40400000);
}

/** Builds an image byte for byte as the ESP32 ROM and bootloader expect it. */
export function buildEsp32Image(options: BuildImageOptions): Uint8Array {
  const flashOffset = options.flashOffset ?? 0x10000;
  const parts: Uint8Array[] = [];
  let length = HEADER_SIZE;
  let segmentCount = 0;
  let check = 0xef;
  const pushSegment = (address: number, data: Uint8Array): void => {
    const padded = new Uint8Array(Math.ceil(data.length / 4) * 4);
    padded.set(data);
    const head = new Uint8Array(8);
    const view = new DataView(head.buffer);
    view.setUint32(0, address >>> 0, true);
    view.setUint32(4, padded.length, true);
    parts.push(head, padded);
    length += 8 + padded.length;
    segmentCount++;
    for (const byte of padded) check ^= byte;
  };
  for (const segment of options.segments) {
    if (isFlashMapped(segment.address)) {
      // The segment's data starts 8 bytes after its header; pad until the data lands at the
      // right place in its 64 KiB page. A padding segment needs at least its own header.
      const want = segment.address % MMU_PAGE;
      let dataAt = (flashOffset + length + 8) % MMU_PAGE;
      if (dataAt !== want) {
        let gap = (want - dataAt - 8 + 2 * MMU_PAGE) % MMU_PAGE;
        if (gap < 0) gap += MMU_PAGE;
        pushSegment(0, new Uint8Array(gap));
        dataAt = (flashOffset + length + 8) % MMU_PAGE;
        if (dataAt !== want) throw new Error(`cannot align segment 0x${segment.address.toString(16)}`);
      }
    }
    pushSegment(segment.address, segment.data);
  }
  if (segmentCount > 16) throw new Error(`an ESP32 image holds at most 16 segments, this one needs ${segmentCount}`);
  const header = new Uint8Array(HEADER_SIZE);
  header[0] = IMAGE_MAGIC;
  header[1] = segmentCount;
  header[2] = SPI_MODES.indexOf(options.spiMode ?? "dio");
  header[3] = (Math.log2(options.flashSizeMB ?? 4) << 4) | 0x0; // 40 MHz
  new DataView(header.buffer).setUint32(4, options.entry >>> 0, true);
  header[8] = 0xee; // WP pin: not used
  new DataView(header.buffer).setUint16(12, options.chipId ?? 0, true);
  new DataView(header.buffer).setUint16(17, 0xffff, true); // max full revision: any
  header[23] = options.appendSha256 === false ? 0 : 1;
  const padding = 15 - (length % 16);
  const total = length + padding + 1;
  const image = new Uint8Array(total + (header[23] ? 32 : 0));
  image.set(header, 0);
  let at = HEADER_SIZE;
  for (const part of parts) {
    image.set(part, at);
    at += part.length;
  }
  image[total - 1] = check;
  if (header[23]) image.set(createHash("sha256").update(image.subarray(0, total)).digest(), total);
  return image;
}

/** The 256-byte esp_app_desc_t that ESP-IDF puts at the start of an app's first DROM segment. */
export function appDescription(desc: AppDescription): Uint8Array {
  const out = new Uint8Array(256);
  const view = new DataView(out.buffer);
  view.setUint32(0, APP_DESC_MAGIC, true);
  const text = (s: string, at: number, size: number): void => {
    out.set(new TextEncoder().encode(s).subarray(0, size - 1), at);
  };
  text(desc.version, 16, 32);
  text(desc.projectName, 48, 32);
  text("00:00:00", 80, 16);
  text("Jan  1 2026", 96, 16);
  text(desc.idfVersion, 112, 32);
  return out;
}

export interface ParsedImage {
  chip: string;
  chipId: number;
  entry: number;
  spiMode: SpiMode;
  flashSize: string;
  flashFreq: string;
  segments: Array<{ address: number; length: number; fileOffset: number }>;
  /** Bytes up to and including the checksum (and SHA-256 when appended). */
  length: number;
  sha256Appended: boolean;
  app?: AppDescription;
}

export class ImageError extends Error {}

/**
 * Reads and verifies an ESP32 image: magic, segment table inside the file, checksum, and the
 * appended SHA-256. Bytes after the image (flash padding) are allowed.
 */
export function parseEsp32Image(image: Uint8Array): ParsedImage {
  if (image.length < HEADER_SIZE) throw new ImageError(`too short for an ESP32 image (${image.length} bytes)`);
  if (image[0] !== IMAGE_MAGIC) throw new ImageError(`not an ESP32 image: first byte is 0x${image[0]!.toString(16)}, expected 0xe9`);
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const count = image[1]!;
  if (count === 0 || count > 16) throw new ImageError(`bad segment count ${count}`);
  const chipId = view.getUint16(12, true);
  const segments: ParsedImage["segments"] = [];
  let at = HEADER_SIZE;
  let check = 0xef;
  let app: AppDescription | undefined;
  for (let i = 0; i < count; i++) {
    if (at + 8 > image.length) throw new ImageError(`segment ${i} header is past the end of the file`);
    const address = view.getUint32(at, true);
    const length = view.getUint32(at + 4, true);
    if (at + 8 + length > image.length) throw new ImageError(`segment ${i} (0x${address.toString(16)}, ${length} bytes) runs past the end of the file`);
    const data = image.subarray(at + 8, at + 8 + length);
    for (const byte of data) check ^= byte;
    if (!app && isFlashMapped(address) && address < 0x3f800000 && length >= 256 && view.getUint32(at + 8, true) === APP_DESC_MAGIC) {
      const text = (offset: number, size: number): string => {
        const raw = data.subarray(offset, offset + size);
        const end = raw.indexOf(0);
        return new TextDecoder().decode(end >= 0 ? raw.subarray(0, end) : raw);
      };
      app = { version: text(16, 32), projectName: text(48, 32), idfVersion: text(112, 32) };
    }
    segments.push({ address, length, fileOffset: at + 8 });
    at += 8 + length;
  }
  const checksumAt = at + (15 - (at % 16));
  if (checksumAt >= image.length) throw new ImageError("the checksum byte is past the end of the file");
  if (image[checksumAt] !== check) {
    throw new ImageError(`checksum mismatch: image says 0x${image[checksumAt]!.toString(16)}, data gives 0x${check.toString(16)}`);
  }
  let length = checksumAt + 1;
  const sha256Appended = image[23] === 1;
  if (sha256Appended) {
    if (length + 32 > image.length) throw new ImageError("the appended SHA-256 is missing");
    const digest = createHash("sha256").update(image.subarray(0, length)).digest();
    if (!digest.equals(image.subarray(length, length + 32))) throw new ImageError("SHA-256 mismatch: the image is corrupt");
    length += 32;
  }
  return {
    chip: CHIP_IDS[chipId] ?? `unknown chip id ${chipId}`,
    chipId,
    entry: view.getUint32(4, true),
    spiMode: SPI_MODES[image[2]!] ?? "dio",
    flashSize: FLASH_SIZES[image[3]! >> 4] ?? "unknown",
    flashFreq: FLASH_FREQS[image[3]! & 0xf] ?? "unknown",
    segments,
    length,
    sha256Appended,
    app,
  };
}
