/**
 * The HAL as one app sees it on a simulated board: the generated glue unmarshals the wasm
 * arguments and bounds-checks buffers, then calls these methods. Grants are enforced here —
 * opening a pin or bus the manifest does not list traps — and every handle is per app.
 */
import type { PinCap } from "../board/board-def.js";
import { E, HalConst, HalTrap, type HalHost, LOG_LEVELS } from "../hal.js";
import type { SimApp } from "./sim-app.js";

// Per-app limits of the firmware runtime (firmware/runtime/include/lq_app.h, hal_impl.c): an app
// that fits in the simulator must fit on a microcontroller too, so the simulator is no roomier.
export const MAX_TIMERS = 8;
export const MAX_SUBSCRIPTIONS = 4;
/** Pins (and, separately, buses) one app may hold open. */
const MAX_OPEN = 8;
/** Topics are shorter than 48 bytes (the runtime stores them NUL-terminated in 48). */
export const MAX_TOPIC = 47;
export const MAX_PAYLOAD = 256;
const MAX_DEBOUNCE_MS = 60_000;

const utf8 = new TextDecoder("utf-8");
const encoder = new TextEncoder();

export class AppHal implements HalHost {
  constructor(private readonly app: SimApp) {}

  private get board() {
    return this.app.board;
  }

  private notGranted(kind: "pin" | "bus", name: string): never {
    throw new HalTrap(`app '${this.app.name}' may not use ${kind} ${name}: not granted by its manifest`);
  }

  // ---- gpio ----

  gpio_open(nameBytes: Uint8Array): number {
    const name = utf8.decode(nameBytes);
    if (!this.app.manifest.resources.pins.includes(name)) this.notGranted("pin", name);
    const pin = this.board.pins.get(name);
    if (!pin) return E.ENOENT;
    const existing = this.app.pins.indexOf(pin);
    if (existing >= 0) return existing;
    if (this.app.pins.length >= MAX_OPEN) return E.EBUSY;
    this.app.pins.push(pin);
    return this.app.pins.length - 1;
  }

  gpio_mode(handle: number, mode: number): number {
    const pin = this.app.pins[handle];
    if (!pin) return E.EINVAL;
    const needs: Record<number, PinCap> = {
      [HalConst.PIN_INPUT]: "in",
      [HalConst.PIN_OUTPUT]: "out",
      [HalConst.PIN_INPUT_PULLUP]: "pullup",
      [HalConst.PIN_INPUT_PULLDOWN]: "pulldown",
    };
    const cap = needs[mode];
    if (!cap) return E.EINVAL;
    if (!pin.def.caps.includes(cap)) return E.ENOTSUP;
    this.board.changePin(pin, () => (pin.mode = mode));
    return E.OK;
  }

  gpio_write(handle: number, value: number): number {
    const pin = this.app.pins[handle];
    if (!pin) return E.EINVAL;
    this.board.changePin(pin, () => pin.drive(value));
    return E.OK;
  }

  gpio_read(handle: number): number {
    const pin = this.app.pins[handle];
    return pin ? pin.level : E.EINVAL;
  }

  gpio_toggle(handle: number): number {
    const pin = this.app.pins[handle];
    if (!pin) return E.EINVAL;
    this.board.changePin(pin, () => pin.drive(pin.latch ? 0 : 1));
    return pin.latch;
  }

  gpio_watch(handle: number, edges: number, debounceMs: number): number {
    const pin = this.app.pins[handle];
    if (!pin || edges < 1 || edges > 3 || debounceMs < 0 || debounceMs > MAX_DEBOUNCE_MS) return E.EINVAL;
    if (!pin.def.caps.includes("in")) return E.ENOTSUP;
    const old = this.app.watches.get(handle);
    if (old?.pending) old.pending.cancelled = true;
    this.app.watches.set(handle, { pin, edges, debounceMs, reported: pin.level });
    return E.OK;
  }

  gpio_unwatch(handle: number): number {
    const watch = this.app.watches.get(handle);
    if (!watch) return E.EINVAL;
    if (watch.pending) watch.pending.cancelled = true;
    this.app.watches.delete(handle);
    return E.OK;
  }

  // ---- i2c ----

  i2c_open(nameBytes: Uint8Array): number {
    const name = utf8.decode(nameBytes);
    if (!this.app.manifest.resources.buses.includes(name)) this.notGranted("bus", name);
    const bus = this.board.buses.get(name);
    if (!bus) return E.ENOENT;
    const existing = this.app.buses.indexOf(bus);
    if (existing >= 0) return existing;
    if (this.app.buses.length >= MAX_OPEN) return E.EBUSY;
    this.app.buses.push(bus);
    return this.app.buses.length - 1;
  }

  i2c_write(handle: number, addr: number, data: Uint8Array): number {
    const bus = this.app.buses[handle];
    if (!bus || addr < 0 || addr > 0x7f) return E.EINVAL;
    const dev = bus.devices.get(addr);
    const acked = dev ? dev.write(data) : 0;
    const ok = !!dev && acked === data.length;
    this.board.emit({ type: "i2c", bus: bus.name, addr, op: "write", write: [...data], ok, app: this.app.name });
    return ok ? data.length : E.ENACK;
  }

  i2c_read(handle: number, addr: number, out: Uint8Array): number {
    const bus = this.app.buses[handle];
    if (!bus || addr < 0 || addr > 0x7f) return E.EINVAL;
    const dev = bus.devices.get(addr);
    if (dev) out.set(dev.read(out.length));
    this.board.emit({ type: "i2c", bus: bus.name, addr, op: "read", read: dev ? [...out] : [], ok: !!dev, app: this.app.name });
    return dev ? out.length : E.ENACK;
  }

  i2c_write_read(handle: number, addr: number, wdata: Uint8Array, rdata: Uint8Array): number {
    const bus = this.app.buses[handle];
    if (!bus || addr < 0 || addr > 0x7f) return E.EINVAL;
    const dev = bus.devices.get(addr);
    const ok = !!dev && dev.write(wdata) === wdata.length;
    if (ok) rdata.set(dev!.read(rdata.length));
    this.board.emit({
      type: "i2c", bus: bus.name, addr, op: "write_read", write: [...wdata], read: ok ? [...rdata] : [], ok, app: this.app.name,
    });
    return ok ? rdata.length : E.ENACK;
  }

  i2c_scan(handle: number, out: Uint8Array): number {
    const bus = this.app.buses[handle];
    if (!bus) return E.EINVAL;
    const found = [...bus.devices.keys()].filter((a) => a >= 0x08 && a <= 0x77).sort((a, b) => a - b);
    out.set(found.slice(0, out.length));
    this.board.emit({ type: "i2c", bus: bus.name, addr: 0, op: "scan", read: found, ok: true, app: this.app.name });
    return found.length;
  }

  // ---- time ----

  time_now_ms(): bigint {
    return BigInt(Math.floor(this.board.sim.now));
  }

  time_now_us(): bigint {
    return BigInt(Math.floor(this.board.sim.now * 1000));
  }

  time_timer_start(ms: number, periodic: number): number {
    if (ms < 0 || (periodic && ms === 0)) return E.EINVAL;
    if (this.app.timers.size >= MAX_TIMERS) return E.EBUSY;
    let handle = 0;
    while (this.app.timers.has(handle)) handle++;
    this.app.armTimer(handle, ms, periodic !== 0, ms);
    return handle;
  }

  time_timer_cancel(handle: number): number {
    const timer = this.app.timers.get(handle);
    if (!timer) return E.EINVAL;
    timer.next.cancelled = true;
    this.app.timers.delete(handle);
    return E.OK;
  }

  // ---- log, device ----

  log_write(level: number, text: Uint8Array): void {
    const name = LOG_LEVELS[Math.min(Math.max(level, 0), 3)]!;
    this.board.emit({ type: "log", app: this.app.name, level: name, msg: utf8.decode(text).replace(/\n$/, "") });
  }

  device_info(out: Uint8Array): number {
    const doc = encoder.encode(JSON.stringify(this.board.info()));
    if (doc.length <= out.length) out.set(doc);
    return doc.length;
  }

  device_has(nameBytes: Uint8Array): number {
    return this.board.has(utf8.decode(nameBytes)) ? 1 : 0;
  }

  // ---- msg ----

  msg_publish(topicBytes: Uint8Array, data: Uint8Array): number {
    const topic = utf8.decode(topicBytes);
    if (!topic || topicBytes.length > MAX_TOPIC || /[#+]/.test(topic) || data.length > MAX_PAYLOAD) return E.EINVAL;
    return this.board.publish(this.app, topicBytes, data) ? E.OK : E.EBUSY;
  }

  msg_subscribe(topicBytes: Uint8Array): number {
    const pattern = utf8.decode(topicBytes);
    // Exact topics, or "prefix/#" for every topic under prefix/ — nothing else is a wildcard.
    const wildcard = pattern.indexOf("#");
    const prefixForm = pattern.length > 2 && pattern.endsWith("/#") && wildcard === pattern.length - 1;
    if (!pattern || topicBytes.length > MAX_TOPIC || (wildcard >= 0 && !prefixForm) || pattern.includes("+")) return E.EINVAL;
    if (this.app.subscriptions.size >= MAX_SUBSCRIPTIONS) return E.EBUSY;
    let handle = 0;
    while (this.app.subscriptions.has(handle)) handle++;
    this.app.subscriptions.set(handle, { pattern });
    return handle;
  }

  msg_unsubscribe(handle: number): number {
    return this.app.subscriptions.delete(handle) ? E.OK : E.EINVAL;
  }

  msg_read(out: Uint8Array): number {
    return this.copyOut(this.app.currentMessage?.data, out);
  }

  msg_topic(out: Uint8Array): number {
    return this.copyOut(this.app.currentMessage?.topic, out);
  }

  private copyOut(src: Uint8Array | undefined, out: Uint8Array): number {
    if (!src) return E.EINVAL; // only valid during on_message
    if (src.length > out.length) return E.ENOSPC;
    out.set(src);
    return src.length;
  }

  // ---- random ----

  random_u32(): number {
    return this.board.random.u32();
  }

  random_fill(out: Uint8Array): void {
    this.board.random.fill(out);
  }

  // ---- module: the explicit linking API (docs/linking.md), served by the app's linker ----

  private get linker() {
    if (!this.app.linker) throw new HalTrap(`app '${this.app.name}' called module.* while it was not running`);
    return this.app.linker;
  }

  module_load(name: Uint8Array, range: Uint8Array): number {
    return this.linker.explicitLoad(utf8.decode(name), utf8.decode(range));
  }

  module_lookup(module: number, name: Uint8Array): number {
    return this.linker.explicitLookup(module, utf8.decode(name));
  }

  module_call(fn: number, a: number, b: number, out: Uint8Array): number {
    return this.linker.explicitCall(fn, a, b, out);
  }

  module_unload(module: number): number {
    return this.linker.explicitUnload(module);
  }
}
