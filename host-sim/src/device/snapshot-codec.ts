/**
 * The simulator's app snapshots (SimApp.snapshot(), an in-memory object) in the portable format
 * the firmware writes and reads (docs/snapshot.md: engine sections MODL, GLOB, MEMY, TABL, SEGS;
 * docs/runtime.md: the runtime section LQRT), so an app moves between a simulated device, the
 * posix firmware and the Cortex-M firmware in either direction.
 */
import { MAX_PAYLOAD, MAX_SUBSCRIPTIONS, MAX_TOPIC } from "../app/app-hal.js";
import { type AppSnapshot, MAX_QUEUED_EVENTS, type QueuedEvent } from "../app/sim-app.js";
import { sha256, toHex } from "../../../compiler/src/protocol/sha256.js";
import { readUleb } from "./leb128.js";
import { type ModuleLayout, WasmLayoutError, moduleLayout } from "./wasm-layout.js";

export class SnapshotError extends Error {}

const PAGE = 65536;
const MIN_RUN = 8;
const T_I32 = 0x7f;
const T_I64 = 0x7e;
const T_F32 = 0x7d;
const T_F64 = 0x7c;
const T_EXTERNREF = 0x6f;

class Out {
  private parts: number[] = [];
  u8(v: number): void {
    this.parts.push(v & 0xff);
  }
  u32(v: number): void {
    for (let i = 0; i < 4; i++) this.parts.push((v >>> (8 * i)) & 0xff);
  }
  u16(v: number): void {
    this.parts.push(v & 0xff, (v >>> 8) & 0xff);
  }
  u64(v: bigint): void {
    this.u32(Number(v & 0xffffffffn));
    this.u32(Number((v >> 32n) & 0xffffffffn));
  }
  leb(v: number): void {
    do {
      let b = v % 128;
      v = Math.floor(v / 128);
      if (v) b |= 0x80;
      this.parts.push(b);
    } while (v);
  }
  bytes(b: ArrayLike<number>): void {
    for (let i = 0; i < b.length; i++) this.parts.push(b[i]!);
  }
  str8(s: string): void {
    const b = new TextEncoder().encode(s);
    if (b.length > 255) throw new SnapshotError(`name too long for a snapshot: ${s}`);
    this.u8(b.length);
    this.bytes(b);
  }
  tag(t: string): void {
    this.bytes([...t].map((c) => c.charCodeAt(0)));
  }
  section(tag: string, body: Out): void {
    this.tag(tag);
    this.u32(body.parts.length);
    this.bytes(body.parts);
  }
  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** Zero runs, fill runs and literals, with the firmware encoder's rule (runs of 8 or more). */
function encodeMemory(o: Out, d: Uint8Array): void {
  let i = 0;
  let lit = 0;
  while (i < d.length) {
    let j = i + 1;
    while (j < d.length && d[j] === d[i]) j++;
    if (j - i >= MIN_RUN) {
      if (lit < i) {
        o.leb((i - lit) * 4 + 1);
        o.bytes(d.subarray(lit, i));
      }
      if (d[i] === 0) o.leb((j - i) * 4);
      else {
        o.leb((j - i) * 4 + 2);
        o.u8(d[i]!);
      }
      lit = j;
    }
    i = j;
  }
  if (lit < d.length) {
    o.leb((d.length - lit) * 4 + 1);
    o.bytes(d.subarray(lit));
  }
}

function globalBits(type: number, value: number | bigint): bigint {
  const dv = new DataView(new ArrayBuffer(8));
  switch (type) {
    case T_I32:
      return BigInt(Number(value) >>> 0);
    case T_I64:
      return BigInt.asUintN(64, BigInt(value));
    case T_F32:
      dv.setFloat32(0, Number(value), true);
      return BigInt(dv.getUint32(0, true));
    case T_F64:
      dv.setFloat64(0, Number(value), true);
      return dv.getBigUint64(0, true);
    default:
      throw new SnapshotError(`a mutable global of type 0x${type.toString(16)} cannot be snapshotted by the simulator`);
  }
}

function globalValue(type: number, bits: bigint): number | bigint {
  const dv = new DataView(new ArrayBuffer(8));
  switch (type) {
    case T_I32:
      return Number(BigInt.asIntN(32, bits));
    case T_I64:
      return BigInt.asIntN(64, bits);
    case T_F32:
      dv.setUint32(0, Number(bits & 0xffffffffn), true);
      return dv.getFloat32(0, true);
    case T_F64:
      dv.setBigUint64(0, bits, true);
      return dv.getFloat64(0, true);
    default:
      throw new SnapshotError(`a mutable global of type 0x${type.toString(16)} cannot be restored by the simulator`);
  }
}

function layoutOf(wasm: Uint8Array): ModuleLayout {
  try {
    return moduleLayout(wasm);
  } catch (err) {
    if (err instanceof WasmLayoutError) throw new SnapshotError(err.message);
    throw err;
  }
}

/** The runtime section's format this side writes; it reads 1 (no queued events) and 2. */
const LQRT_FORMAT = 2;
/** Event kinds in LQRT format 2, the firmware's EV_* numbers (firmware/runtime/include/lq_app.h). */
const EV_START = 0;
const EV_TIMER = 1;
const EV_PIN = 2;
const EV_MESSAGE = 3;

function encodeEvents(o: Out, events: QueuedEvent[]): void {
  if (events.length > MAX_QUEUED_EVENTS) throw new SnapshotError(`${events.length} events are queued for the app; a snapshot carries at most ${MAX_QUEUED_EVENTS}`);
  o.u8(events.length);
  for (const e of events) {
    switch (e.kind) {
      case "start":
        o.u8(EV_START);
        break;
      case "timer":
        o.u8(EV_TIMER);
        o.u8(e.handle);
        break;
      case "pin":
        o.u8(EV_PIN);
        o.u8(e.handle);
        o.u8(e.level ? 1 : 0);
        break;
      case "message":
        if (e.topic.length > MAX_TOPIC || e.data.length > MAX_PAYLOAD) throw new SnapshotError("a queued message is larger than a snapshot carries");
        o.u8(EV_MESSAGE);
        o.u8(e.handle);
        o.u8(e.topic.length);
        o.bytes(e.topic);
        o.u16(e.data.length);
        o.bytes(e.data);
        break;
    }
  }
}

/** Reads format 2's queued events, refusing what the firmware refuses (firmware/runtime/src/apps.c). */
function decodeEvents(rt: In, pins: number): QueuedEvent[] {
  const bad = (what: string): never => {
    throw new SnapshotError(`snapshot runtime section: ${what}`);
  };
  const events: QueuedEvent[] = [];
  try {
    const n = rt.u8();
    if (n > MAX_QUEUED_EVENTS) bad(`it carries ${n} queued events; at most ${MAX_QUEUED_EVENTS}`);
    for (let i = 0; i < n; i++) {
      const kind = rt.u8();
      if (kind === EV_START) events.push({ kind: "start" });
      else if (kind === EV_TIMER) events.push({ kind: "timer", handle: rt.u8() });
      else if (kind === EV_PIN) {
        const handle = rt.u8();
        const level = rt.u8();
        if (handle >= pins || level > 1) bad(`queued event ${i}: on_pin(${handle}, ${level}) names no pin of the snapshot`);
        events.push({ kind: "pin", handle, level });
      } else if (kind === EV_MESSAGE) {
        const handle = rt.u8();
        const topic = rt.bytes(rt.u8()).slice();
        if (topic.length > MAX_TOPIC) bad(`queued event ${i}: message topic longer than ${MAX_TOPIC} bytes`);
        const len = rt.u8() | (rt.u8() << 8);
        if (len > MAX_PAYLOAD) bad(`queued event ${i}: message payload longer than ${MAX_PAYLOAD} bytes`);
        if (handle >= MAX_SUBSCRIPTIONS) bad(`queued event ${i}: message for no subscription handle`);
        events.push({ kind: "message", handle, topic, data: rt.bytes(len).slice() });
      } else bad(`queued event ${i} has an unknown kind ${kind}`);
    }
  } catch (err) {
    if (err instanceof SnapshotError && /truncated$/.test(err.message)) bad("its queued events are truncated");
    throw err;
  }
  if (rt.pos !== rt.end) bad("trailing bytes after the queued events");
  return events;
}

/** Encodes a simulator snapshot of the app whose module is `wasm`. */
export function encodeSnapshot(snap: AppSnapshot, wasm: Uint8Array): Uint8Array {
  const layout = layoutOf(wasm);
  const hash = sha256(wasm);
  if (toHex(hash) !== snap.sha256) throw new SnapshotError("the snapshot does not belong to this module (sha256 differs)");
  const o = new Out();
  o.tag("LQSN");
  o.u32(1);

  const modl = new Out();
  modl.bytes(hash);
  for (const n of [layout.functions, layout.globals.length, layout.tables.length, layout.memories.length, layout.elemDropped.length, layout.dataDropped.length]) modl.u32(n);
  o.section("MODL", modl);

  const glob = new Out();
  glob.u32(layout.globals.length);
  layout.globals.forEach((g, i) => {
    let bits = g.init;
    if (g.mutable) {
      const value = g.exportName === undefined ? undefined : snap.globals[g.exportName];
      if (value === undefined) throw new SnapshotError(`mutable global ${i} is not exported, so its value cannot be read (build the app with liquid build, which exports them)`);
      bits = globalBits(g.type, value);
    } else if (g.type === T_EXTERNREF) {
      bits = 0n; // a null externref, as the engine writes it
    }
    glob.u8(g.type);
    glob.u64(bits);
  });
  o.section("GLOB", glob);

  if (layout.memories.length > 1) throw new SnapshotError("modules with several memories cannot be snapshotted");
  if (layout.memories.length === 1) {
    const memy = new Out();
    memy.u32(0);
    memy.u32(snap.memory.length / PAGE);
    encodeMemory(memy, snap.memory);
    o.section("MEMY", memy);
  }

  // Simulator apps cannot change their tables (AssemblyScript's is constant): the contents
  // after instantiation are the contents now.
  layout.tables.forEach((t, i) => {
    const tabl = new Out();
    tabl.u32(i);
    tabl.u32(t.elem);
    tabl.u32(t.contents.length);
    for (const f of t.contents) tabl.u32(f);
    o.section("TABL", tabl);
  });

  const segs = new Out();
  segs.u32(layout.elemDropped.length);
  for (const d of layout.elemDropped) segs.u8(d);
  segs.u32(layout.dataDropped.length);
  for (const d of layout.dataDropped) segs.u8(d);
  o.section("SEGS", segs);

  const rt = new Out();
  rt.u8(LQRT_FORMAT);
  rt.u8(snap.pins.length);
  for (const p of snap.pins) {
    rt.str8(p.name);
    rt.u8(p.mode ?? -1);
    rt.u8(p.level ?? -1);
  }
  rt.u8(snap.buses.length);
  for (const b of snap.buses) rt.str8(b);
  rt.u8(snap.timers.length);
  for (const t of snap.timers) {
    rt.u8(t.handle);
    rt.u8(t.periodic ? 1 : 0);
    rt.u32(t.ms);
    rt.u32(Math.max(0, Math.round(t.remainingMs)));
  }
  rt.u8(snap.watches.length);
  for (const w of snap.watches) {
    rt.u8(w.handle);
    rt.u8(w.edges);
    rt.u32(w.debounceMs);
    rt.u8(w.reported ? 1 : 0);
  }
  rt.u8(snap.subscriptions.length);
  for (const s of snap.subscriptions) {
    rt.u8(s.handle);
    rt.str8(s.pattern);
  }
  encodeEvents(rt, snap.events ?? []);
  o.section("LQRT", rt);
  return o.done();
}

class In {
  pos: number;
  constructor(
    readonly b: Uint8Array,
    start: number,
    readonly end: number,
    readonly what: string,
  ) {
    this.pos = start;
  }
  need(n: number): void {
    if (this.pos + n > this.end) throw new SnapshotError(`snapshot ${this.what} section is truncated`);
  }
  u8(): number {
    this.need(1);
    return this.b[this.pos++]!;
  }
  i8(): number {
    const v = this.u8();
    return v > 127 ? v - 256 : v;
  }
  u32(): number {
    this.need(4);
    const v = new DataView(this.b.buffer, this.b.byteOffset + this.pos, 4).getUint32(0, true);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = new DataView(this.b.buffer, this.b.byteOffset + this.pos, 8).getBigUint64(0, true);
    this.pos += 8;
    return v;
  }
  leb(): number {
    return readUleb(() => this.u8(), 56, () => new SnapshotError("snapshot memory token too long"));
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  str8(): string {
    return new TextDecoder().decode(this.bytes(this.u8()));
  }
}

/** The sections of a snapshot container by tag (several MEMY/TABL possible: all kept). */
function sections(data: Uint8Array): Map<string, In[]> {
  if (data.length < 8 || new TextDecoder().decode(data.subarray(0, 4)) !== "LQSN") throw new SnapshotError("not a Liquid snapshot (no LQSN magic)");
  const version = new DataView(data.buffer, data.byteOffset + 4, 4).getUint32(0, true);
  if (version !== 1) throw new SnapshotError(`snapshot: unsupported version ${version}`);
  const map = new Map<string, In[]>();
  let at = 8;
  while (at + 8 <= data.length) {
    const tag = new TextDecoder().decode(data.subarray(at, at + 4));
    const len = new DataView(data.buffer, data.byteOffset + at + 4, 4).getUint32(0, true);
    if (len > data.length - at - 8) throw new SnapshotError("snapshot: truncated section");
    const list = map.get(tag) ?? [];
    list.push(new In(data, at + 8, at + 8 + len, tag));
    map.set(tag, list);
    at += 8 + len;
  }
  if (at !== data.length) throw new SnapshotError("snapshot: trailing bytes after the last section");
  return map;
}

function one(map: Map<string, In[]>, tag: string): In {
  const s = map.get(tag)?.[0];
  if (!s) throw new SnapshotError(`snapshot has no ${tag} section`);
  return s;
}

/** Decodes a portable snapshot into what SimApp.restore takes, checking it against `wasm`. */
export function decodeSnapshot(data: Uint8Array, wasm: Uint8Array, name: string): AppSnapshot {
  const layout = layoutOf(wasm);
  const map = sections(data);
  const modl = one(map, "MODL");
  const hash = toHex(modl.bytes(32));
  if (hash !== toHex(sha256(wasm))) throw new SnapshotError("restore: snapshot is of a different module (sha256 differs)");
  const counts = [layout.functions, layout.globals.length, layout.tables.length, layout.memories.length, layout.elemDropped.length, layout.dataDropped.length];
  for (const c of counts) if (modl.u32() !== c) throw new SnapshotError("snapshot: MODL counts do not match the module");

  const glob = one(map, "GLOB");
  if (glob.u32() !== layout.globals.length) throw new SnapshotError("snapshot: bad GLOB section");
  const globals: Record<string, number | bigint> = {};
  for (const g of layout.globals) {
    const type = glob.u8();
    const bits = glob.u64();
    if (type !== g.type) throw new SnapshotError("snapshot: global type mismatch");
    if (g.mutable && g.exportName !== undefined) globals[g.exportName] = globalValue(type, bits);
    else if (g.mutable) throw new SnapshotError("a mutable global of this module is not exported, so the simulator cannot restore it");
  }

  let memory = new Uint8Array(0);
  for (const m of map.get("MEMY") ?? []) {
    if (m.u32() !== 0 || layout.memories.length !== 1) throw new SnapshotError("snapshot: bad MEMY section");
    const pages = m.u32();
    const limits = layout.memories[0]!;
    if (pages < limits.min) throw new SnapshotError("snapshot: memory smaller than the module's minimum");
    if (limits.max !== undefined && pages > limits.max) throw new SnapshotError(`restore: cannot grow memory to ${pages} pages`);
    memory = new Uint8Array(pages * PAGE);
    let at = 0;
    while (m.pos < m.end) {
      const t = m.leb();
      const len = Math.floor(t / 4);
      const kind = t % 4;
      if (kind === 3 || at + len > memory.length) throw new SnapshotError("snapshot: bad memory token");
      if (kind === 1) memory.set(m.bytes(len), at);
      else if (kind === 2) memory.fill(m.u8(), at, at + len);
      at += len;
    }
  }
  if (layout.memories.length === 1 && memory.length === 0) throw new SnapshotError("snapshot has no MEMY section");

  for (const t of map.get("TABL") ?? []) {
    const index = t.u32();
    const table = layout.tables[index];
    if (!table || t.u32() !== table.elem) throw new SnapshotError("snapshot: bad TABL section");
    const size = t.u32();
    const same = size === table.contents.length && table.contents.every((f) => t.u32() === f);
    if (!same) throw new SnapshotError("the snapshot's function table differs from the module's; the simulator restores constant tables only");
  }

  const segs = one(map, "SEGS");
  if (segs.u32() !== layout.elemDropped.length) throw new SnapshotError("snapshot: bad SEGS section");

  const rt = one(map, "LQRT");
  const format = rt.u8();
  if (format !== 1 && format !== LQRT_FORMAT) throw new SnapshotError(`snapshot runtime section has an unknown format (${format}; this device reads 1 and 2)`);
  const pins: AppSnapshot["pins"] = [];
  for (let n = rt.u8(); n > 0; n--) {
    const pin = rt.str8();
    const mode = rt.i8();
    const level = rt.i8();
    // The firmware keeps the last level it drove even while a pin is an input; only an
    // output's level is part of the pin's state.
    pins.push({ name: pin, mode: mode < 0 ? null : mode, level: level < 0 || mode !== 1 ? null : level });
  }
  const buses: string[] = [];
  for (let n = rt.u8(); n > 0; n--) buses.push(rt.str8());
  const timers: AppSnapshot["timers"] = [];
  for (let n = rt.u8(); n > 0; n--) {
    const handle = rt.u8();
    const periodic = rt.u8() !== 0;
    const ms = rt.u32();
    timers.push({ handle, periodic, ms, remainingMs: rt.u32() });
  }
  const watches: AppSnapshot["watches"] = [];
  for (let n = rt.u8(); n > 0; n--) {
    const handle = rt.u8();
    const edges = rt.u8();
    const debounceMs = rt.u32();
    watches.push({ handle, edges, debounceMs, reported: rt.u8() ? 1 : 0 });
  }
  const subscriptions: AppSnapshot["subscriptions"] = [];
  for (let n = rt.u8(); n > 0; n--) {
    const handle = rt.u8();
    subscriptions.push({ handle, pattern: rt.str8() });
  }
  const events = format === 1 ? [] : decodeEvents(rt, pins.length);
  return { name, sha256: hash, memory, globals, pins, buses, timers, watches, subscriptions, events };
}

/** For tests and tools: the module sha256 a snapshot belongs to. */
export function snapshotModuleHash(data: Uint8Array): string {
  return toHex(one(sections(data), "MODL").bytes(32));
}
