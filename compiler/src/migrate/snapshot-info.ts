/**
 * Reads a snapshot (docs/snapshot.md container + the runtime's LQRT section, docs/runtime.md)
 * on the host, between the source and the target of a migration. The devices check everything
 * again when they restore; the host reads it to refuse a damaged or foreign snapshot before
 * any target sees it, and to know what the app holds (pins, buses, timers) for the report and
 * for the capability check.
 */
import { toHex } from "../protocol/sha256.js";

export class SnapshotFormatError extends Error {}

export interface SnapshotSection {
  tag: string;
  offset: number;
  length: number;
}

export interface RuntimeState {
  pins: { name: string; mode: number; level: number }[];
  buses: string[];
  timers: { handle: number; periodic: boolean; periodMs: number; remainingMs: number }[];
  watches: { pinHandle: number; edges: number; debounceMs: number; stable: number }[];
  subscriptions: { handle: number; topic: string }[];
  /** Events queued for the app at the freeze, in delivery order (LQRT format 2; none in format 1). */
  events: QueuedEvent[];
}

export type QueuedEvent =
  | { kind: "start" }
  | { kind: "timer"; handle: number }
  | { kind: "pin"; pinHandle: number; level: number }
  | { kind: "message"; handle: number; topic: string; length: number };

/** The most events a snapshot carries (the firmware's per-app queue) and the largest payload. */
const MAX_EVENTS = 16;
const MAX_PAYLOAD = 256;

export interface SnapshotInfo {
  version: number;
  size: number;
  sections: SnapshotSection[];
  /** SHA-256 of the module the snapshot belongs to (lowercase hex). */
  moduleSha256: string;
  globals: number;
  /** Memory size in 64 KiB pages (0 when the module has no memory of its own). */
  memoryPages: number;
  /** Bytes of memory that are not zero after decoding (how full the memory really is). */
  memoryNonZero: number;
  /** Encoded size of the memory sections (what the sparse encoding made of pages x 64 KiB). */
  memoryEncodedBytes: number;
  runtime: RuntimeState | undefined;
}

const MAGIC = "LQSN";
const PAGE = 65536;

class Reader {
  at = 0;
  constructor(
    private readonly data: Uint8Array,
    private readonly end: number,
    private readonly what: string,
  ) {}
  private need(n: number): void {
    if (this.at + n > this.end) throw new SnapshotFormatError(`${this.what} is truncated`);
  }
  u8(): number {
    this.need(1);
    return this.data[this.at++]!;
  }
  i8(): number {
    const v = this.u8();
    return v >= 128 ? v - 256 : v;
  }
  u32(): number {
    this.need(4);
    const d = this.data;
    const v = (d[this.at]! | (d[this.at + 1]! << 8) | (d[this.at + 2]! << 16) | (d[this.at + 3]! << 24)) >>> 0;
    this.at += 4;
    return v;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const b = this.data.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }
  str8(): string {
    return new TextDecoder().decode(this.bytes(this.u8()));
  }
  leb(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.u8();
      result += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return result;
      shift += 7;
      if (shift > 35) throw new SnapshotFormatError(`${this.what}: LEB128 number too long`);
    }
  }
  get left(): number {
    return this.end - this.at;
  }
}

/** Decodes a memory section's token stream, counting non-zero bytes; throws on any damage. */
function scanMemory(data: Uint8Array, start: number, end: number, pages: number): number {
  const r = new Reader(data, end, "memory section");
  r.at = start;
  const limit = pages * PAGE;
  let covered = 0;
  let nonZero = 0;
  while (r.left > 0) {
    const t = r.leb();
    const len = Math.floor(t / 4);
    const kind = t % 4;
    if (covered + len > limit) throw new SnapshotFormatError(`memory tokens cover more than the ${pages} page(s) the snapshot declares`);
    if (kind === 0) {
      // zeros
    } else if (kind === 1) {
      for (const b of r.bytes(len)) if (b !== 0) nonZero++;
    } else if (kind === 2) {
      if (r.u8() !== 0) nonZero += len;
    } else throw new SnapshotFormatError("memory section uses the reserved token kind 3");
    covered += len;
  }
  return nonZero;
}

function readRuntime(data: Uint8Array, start: number, end: number): RuntimeState {
  const r = new Reader(data, end, "runtime section (LQRT)");
  r.at = start;
  const format = r.u8();
  if (format !== 1 && format !== 2) throw new SnapshotFormatError(`runtime section (LQRT) has format ${format}; this liquid reads formats 1 and 2`);
  const state: RuntimeState = { pins: [], buses: [], timers: [], watches: [], subscriptions: [], events: [] };
  for (let n = r.u8(), i = 0; i < n; i++) state.pins.push({ name: r.str8(), mode: r.i8(), level: r.i8() });
  for (let n = r.u8(), i = 0; i < n; i++) state.buses.push(r.str8());
  for (let n = r.u8(), i = 0; i < n; i++) {
    state.timers.push({ handle: r.u8(), periodic: r.u8() !== 0, periodMs: r.u32(), remainingMs: r.u32() });
  }
  for (let n = r.u8(), i = 0; i < n; i++) {
    state.watches.push({ pinHandle: r.u8(), edges: r.u8(), debounceMs: r.u32(), stable: r.u8() });
  }
  for (let n = r.u8(), i = 0; i < n; i++) state.subscriptions.push({ handle: r.u8(), topic: r.str8() });
  if (format === 2) {
    const n = r.u8();
    if (n > MAX_EVENTS) throw new SnapshotFormatError(`runtime section (LQRT) carries ${n} queued events; at most ${MAX_EVENTS}`);
    for (let i = 0; i < n; i++) {
      const kind = r.u8();
      if (kind === 0) state.events.push({ kind: "start" });
      else if (kind === 1) state.events.push({ kind: "timer", handle: r.u8() });
      else if (kind === 2) state.events.push({ kind: "pin", pinHandle: r.u8(), level: r.u8() });
      else if (kind === 3) {
        const handle = r.u8();
        const topic = r.str8();
        const length = r.u8() | (r.u8() << 8);
        if (length > MAX_PAYLOAD) throw new SnapshotFormatError(`runtime section (LQRT): queued event ${i}: message payload longer than ${MAX_PAYLOAD} bytes`);
        r.bytes(length);
        state.events.push({ kind: "message", handle, topic, length });
      } else throw new SnapshotFormatError(`runtime section (LQRT): queued event ${i} has an unknown kind ${kind}`);
    }
  }
  if (r.left !== 0) throw new SnapshotFormatError(`runtime section (LQRT) has ${r.left} trailing bytes`);
  return state;
}

/** Parses and checks a whole snapshot; throws SnapshotFormatError with the reason. */
export function readSnapshot(data: Uint8Array): SnapshotInfo {
  if (data.length < 8) throw new SnapshotFormatError(`snapshot of ${data.length} bytes is too short to be one`);
  const magic = new TextDecoder().decode(data.subarray(0, 4));
  if (magic !== MAGIC) throw new SnapshotFormatError(`not a Liquid snapshot (magic '${magic.replace(/[^\x20-\x7e]/g, "?")}', expected '${MAGIC}')`);
  const head = new Reader(data, data.length, "snapshot");
  head.at = 4;
  const version = head.u32();
  if (version !== 1) throw new SnapshotFormatError(`snapshot version ${version} is not supported (this liquid reads version 1)`);
  const sections: SnapshotSection[] = [];
  while (head.left > 0) {
    if (head.left < 8) throw new SnapshotFormatError("snapshot ends inside a section header (truncated)");
    const tag = new TextDecoder().decode(head.bytes(4));
    const length = head.u32();
    if (length > head.left) throw new SnapshotFormatError(`section ${tag} claims ${length} bytes, only ${head.left} remain (truncated)`);
    sections.push({ tag, offset: head.at, length });
    head.at += length;
  }
  const find = (tag: string) => sections.filter((s) => s.tag === tag);
  const modl = find("MODL");
  if (modl.length !== 1 || modl[0]!.length !== 56) throw new SnapshotFormatError("snapshot has no valid module identity (MODL) section");
  const moduleSha256 = toHex(data.subarray(modl[0]!.offset, modl[0]!.offset + 32));
  let globals = 0;
  const glob = find("GLOB")[0];
  if (glob) {
    const r = new Reader(data, glob.offset + glob.length, "globals section");
    r.at = glob.offset;
    globals = r.u32();
    if (globals * 9 !== r.left) throw new SnapshotFormatError(`globals section length does not match its ${globals} globals`);
  }
  let memoryPages = 0;
  let memoryNonZero = 0;
  let memoryEncodedBytes = 0;
  for (const s of find("MEMY")) {
    const r = new Reader(data, s.offset + s.length, "memory section");
    r.at = s.offset;
    r.u32();
    const pages = r.u32();
    memoryPages += pages;
    memoryEncodedBytes += s.length;
    memoryNonZero += scanMemory(data, r.at, s.offset + s.length, pages);
  }
  const rt = find("LQRT")[0];
  const runtime = rt ? readRuntime(data, rt.offset, rt.offset + rt.length) : undefined;
  return { version, size: data.length, sections, moduleSha256, globals, memoryPages, memoryNonZero, memoryEncodedBytes, runtime };
}
