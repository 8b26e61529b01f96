/**
 * Intel HEX, the format nRF toolchains emit: lines `:LLAAAATT<data>CC` with data (00), end
 * (01), extended segment (02) and linear (04) address records; the start-address records (03,
 * 05) are read and ignored. The result is the memory image as address-sorted runs of bytes.
 */
export interface MemoryRun {
  address: number;
  data: Uint8Array;
}

export class HexError extends Error {}

export function parseIntelHex(text: string): MemoryRun[] {
  const bytes = new Map<number, number>();
  let base = 0;
  let ended = false;
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (!line) continue;
    const where = `line ${n + 1}`;
    if (ended) throw new HexError(`${where}: data after the end-of-file record`);
    if (!/^:([0-9A-Fa-f]{2})+$/.test(line)) throw new HexError(`${where}: not an Intel HEX record`);
    const rec = Buffer.from(line.slice(1), "hex");
    const length = rec[0]!;
    if (rec.length !== length + 5) throw new HexError(`${where}: length field says ${length} data bytes, record has ${rec.length - 5}`);
    const sum = rec.reduce((a, b) => (a + b) & 0xff, 0);
    if (sum !== 0) throw new HexError(`${where}: checksum mismatch`);
    const offset = (rec[1]! << 8) | rec[2]!;
    const type = rec[3]!;
    const data = rec.subarray(4, 4 + length);
    switch (type) {
      case 0x00:
        for (let i = 0; i < data.length; i++) bytes.set(base + offset + i, data[i]!);
        break;
      case 0x01:
        ended = true;
        break;
      case 0x02:
        base = ((data[0]! << 8) | data[1]!) * 16;
        break;
      case 0x04:
        base = ((data[0]! << 24) | (data[1]! << 16)) >>> 0;
        break;
      case 0x03:
      case 0x05:
        break;
      default:
        throw new HexError(`${where}: unknown record type ${type}`);
    }
  }
  if (!ended) throw new HexError("no end-of-file record: the file is truncated");
  return toRuns(bytes);
}

function toRuns(bytes: Map<number, number>): MemoryRun[] {
  const addresses = [...bytes.keys()].sort((a, b) => a - b);
  const runs: MemoryRun[] = [];
  let start = -1;
  let current: number[] = [];
  for (const address of addresses) {
    if (start >= 0 && address !== start + current.length) {
      runs.push({ address: start, data: Uint8Array.from(current) });
      current = [];
      start = -1;
    }
    if (start < 0) start = address;
    current.push(bytes.get(address)!);
  }
  if (start >= 0) runs.push({ address: start, data: Uint8Array.from(current) });
  return runs;
}

export function toIntelHex(runs: MemoryRun[]): string {
  const lines: string[] = [];
  const record = (type: number, offset: number, data: Uint8Array | number[]): void => {
    const rec = [data.length, (offset >> 8) & 0xff, offset & 0xff, type, ...data];
    const sum = (0x100 - (rec.reduce((a, b) => a + b, 0) & 0xff)) & 0xff;
    lines.push(`:${Buffer.from([...rec, sum]).toString("hex").toUpperCase()}`);
  };
  let upper = -1;
  for (const run of runs) {
    for (let i = 0; i < run.data.length; ) {
      const address = run.address + i;
      if (address >>> 16 !== upper) {
        upper = address >>> 16;
        record(0x04, 0, [(upper >> 8) & 0xff, upper & 0xff]);
      }
      const n = Math.min(16, run.data.length - i, 0x10000 - (address & 0xffff));
      record(0x00, address & 0xffff, run.data.subarray(i, i + n));
      i += n;
    }
  }
  record(0x01, 0, []);
  return lines.join("\n") + "\n";
}
