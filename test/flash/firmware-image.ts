import { createHash } from "node:crypto";
import { appDescription, buildEsp32Image } from "../../compiler/src/flash/esp32-image.js";

/** Deterministic bytes (xorshift32) so every run flashes the same image. */
export function pseudoRandom(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * An ESP32 app image laid out like an ESP-IDF build: app description and read-only data in
 * DROM, initialised data in DRAM, code in IRAM and IROM. The "code" is not Xtensa machine code
 * (there is no ESP32 toolchain here): part of it is incompressible, part repetitive, so the
 * compressed transfer has both kinds of blocks.
 */
export function testFirmwareImage(kib = 192, seed = 0x1c0ffee): Uint8Array {
  const text = new TextEncoder().encode("liquid runtime: wasm engine, module store, device protocol. ".repeat(400));
  return buildEsp32Image({
    entry: 0x40081000,
    segments: [
      { address: 0x3f400020, data: Uint8Array.from([...appDescription({ projectName: "liquid", version: "0.1.0", idfVersion: "v5.2" }), ...text]) },
      { address: 0x3ffb0000, data: pseudoRandom(4096, seed + 1) },
      { address: 0x40080000, data: pseudoRandom(8192, seed + 2) },
      { address: 0x400d0020, data: pseudoRandom(kib * 1024, seed) },
    ],
  });
}

/** A second-stage bootloader image shaped like ESP-IDF's (DRAM + IRAM segments; not real code). */
export function bootloaderImage(seed = 0xb007): Uint8Array {
  return buildEsp32Image({
    entry: 0x40080404,
    flashOffset: 0x1000,
    segments: [
      { address: 0x3fff0030, data: pseudoRandom(2896, seed) },
      { address: 0x40078000, data: pseudoRandom(13264, seed + 1) },
      { address: 0x40080400, data: pseudoRandom(3480, seed + 2) },
    ],
  });
}

/** An ESP-IDF partition table (nvs, phy_init, factory app) with its MD5 entry, 3 KiB. */
export function partitionTable(): Uint8Array {
  const out = new Uint8Array(0xc00).fill(0xff);
  const view = new DataView(out.buffer);
  const rows: Array<[number, number, number, number, string]> = [
    [1, 0x02, 0x9000, 0x6000, "nvs"],
    [1, 0x01, 0xf000, 0x1000, "phy_init"],
    [0, 0x00, 0x10000, 0x100000, "factory"],
  ];
  rows.forEach(([type, subtype, offset, size, label], i) => {
    const at = i * 32;
    view.setUint16(at, 0x50aa, true);
    out[at + 2] = type;
    out[at + 3] = subtype;
    view.setUint32(at + 4, offset, true);
    view.setUint32(at + 8, size, true);
    out.fill(0, at + 12, at + 28);
    out.set(new TextEncoder().encode(label), at + 12);
    view.setUint32(at + 28, 0, true);
  });
  const md5At = rows.length * 32;
  view.setUint16(md5At, 0xebeb, true);
  out.set(createHash("md5").update(out.subarray(0, md5At)).digest(), md5At + 16);
  return out;
}
