import type { MemoryRun } from "./intel-hex.js";

/**
 * UF2 (Microsoft's USB flashing format): 512-byte blocks, each carrying up to 256 bytes for one
 * target address, so a bootloader that shows up as a USB drive can flash a file copied onto it
 * block by block. Blocks here carry the family id of the nRF52840 so a bootloader for another
 * chip refuses them.
 */
export const UF2_FAMILY_NRF52840 = 0xada52840;
const MAGIC_START0 = 0x0a324655;
const MAGIC_START1 = 0x9e5d5157;
const MAGIC_END = 0x0ab16f30;
const FLAG_FAMILY_ID = 0x00002000;
const PAYLOAD = 256;

export class Uf2Error extends Error {}

export function toUf2(runs: MemoryRun[], familyId = UF2_FAMILY_NRF52840): Uint8Array {
  // Collect the 256-byte pages that hold data; bytes of a page nobody set stay 0xFF (erased).
  const pages = new Map<number, Uint8Array>();
  for (const run of runs) {
    for (let i = 0; i < run.data.length; i++) {
      const address = run.address + i;
      const page = address - (address % PAYLOAD);
      let data = pages.get(page);
      if (!data) {
        data = new Uint8Array(PAYLOAD).fill(0xff);
        pages.set(page, data);
      }
      data[address - page] = run.data[i]!;
    }
  }
  const order = [...pages.keys()].sort((a, b) => a - b);
  const out = new Uint8Array(order.length * 512);
  const view = new DataView(out.buffer);
  order.forEach((page, n) => {
    const at = n * 512;
    view.setUint32(at, MAGIC_START0, true);
    view.setUint32(at + 4, MAGIC_START1, true);
    view.setUint32(at + 8, FLAG_FAMILY_ID, true);
    view.setUint32(at + 12, page, true);
    view.setUint32(at + 16, PAYLOAD, true);
    view.setUint32(at + 20, n, true);
    view.setUint32(at + 24, order.length, true);
    view.setUint32(at + 28, familyId, true);
    out.set(pages.get(page)!, at + 32);
    view.setUint32(at + 508, MAGIC_END, true);
  });
  return out;
}

export interface Uf2Contents {
  familyId?: number;
  runs: MemoryRun[];
}

export function parseUf2(file: Uint8Array): Uf2Contents {
  if (file.length === 0 || file.length % 512 !== 0) throw new Uf2Error(`a UF2 file is a whole number of 512-byte blocks; this one is ${file.length} bytes`);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const runs: MemoryRun[] = [];
  let familyId: number | undefined;
  const count = file.length / 512;
  for (let n = 0; n < count; n++) {
    const at = n * 512;
    if (view.getUint32(at, true) !== MAGIC_START0 || view.getUint32(at + 4, true) !== MAGIC_START1 || view.getUint32(at + 508, true) !== MAGIC_END) {
      throw new Uf2Error(`block ${n} has no UF2 magic numbers`);
    }
    const size = view.getUint32(at + 16, true);
    if (size > 476) throw new Uf2Error(`block ${n} claims ${size} payload bytes (at most 476)`);
    if (view.getUint32(at + 8, true) & FLAG_FAMILY_ID) familyId = view.getUint32(at + 28, true);
    runs.push({ address: view.getUint32(at + 12, true), data: file.slice(at + 32, at + 32 + size) });
  }
  return { familyId, runs };
}
