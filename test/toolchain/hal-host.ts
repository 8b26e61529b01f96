// A recording HalHost for running built apps in V8 against the generated glue: it keeps the
// calls an app makes and answers like a small board (pins by name, one TMP105-like register
// source, timers by handle). Only what the toolchain tests need; the full simulator is host-sim.
import { type HalHost, HalTrap, createHalImports } from "../../host-sim/src/generated/hal-imports.js";

export interface Call {
  fn: string;
  args: (number | bigint | string | number[])[];
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

export class RecordingHost implements HalHost {
  calls: Call[] = [];
  logs: { level: number; msg: string }[] = [];
  published: { topic: string; data: string }[] = [];
  levels = new Map<number, number>();
  pins: string[];
  buses: string[];
  /** Bytes the next i2c write_read returns (per address). */
  i2cRegisters = new Map<number, number[]>();
  timers = 0;

  constructor(pins = ["LED0", "LED1", "LED2", "LED3", "BUTTON0", "BUTTON1"], buses = ["I2C0"]) {
    this.pins = pins;
    this.buses = buses;
  }

  private rec(fn: string, ...args: Call["args"]) {
    this.calls.push({ fn, args });
  }

  gpio_open(name: Uint8Array) {
    this.rec("gpio_open", text(name));
    const i = this.pins.indexOf(text(name));
    return i < 0 ? -3 : i;
  }
  /** Like a real host: a handle that was never returned by gpio_open is EINVAL. */
  private badPin(pin: number) {
    return pin < 0 || pin >= this.pins.length;
  }
  gpio_mode(pin: number, mode: number) {
    this.rec("gpio_mode", pin, mode);
    return this.badPin(pin) ? -1 : 0;
  }
  gpio_write(pin: number, value: number) {
    this.rec("gpio_write", pin, value);
    if (this.badPin(pin)) return -1;
    this.levels.set(pin, value ? 1 : 0);
    return 0;
  }
  gpio_read(pin: number) {
    this.rec("gpio_read", pin);
    return this.levels.get(pin) ?? 0;
  }
  gpio_toggle(pin: number) {
    if (this.badPin(pin)) return -1;
    const v = (this.levels.get(pin) ?? 0) ^ 1;
    this.levels.set(pin, v);
    this.rec("gpio_toggle", pin);
    return v;
  }
  gpio_watch(pin: number, edges: number, debounce: number) {
    this.rec("gpio_watch", pin, edges, debounce);
    return 0;
  }
  gpio_unwatch(pin: number) {
    this.rec("gpio_unwatch", pin);
    return 0;
  }
  i2c_open(name: Uint8Array) {
    this.rec("i2c_open", text(name));
    const i = this.buses.indexOf(text(name));
    return i < 0 ? -3 : i;
  }
  i2c_write(bus: number, addr: number, data: Uint8Array) {
    this.rec("i2c_write", bus, addr, [...data]);
    return this.i2cRegisters.has(addr) ? data.length : -2;
  }
  i2c_read(bus: number, addr: number, data: Uint8Array) {
    this.rec("i2c_read", bus, addr, data.length);
    return -2;
  }
  i2c_write_read(bus: number, addr: number, w: Uint8Array, r: Uint8Array) {
    this.rec("i2c_write_read", bus, addr, [...w], r.length);
    const bytes = this.i2cRegisters.get(addr);
    if (!bytes) return -2;
    r.set(bytes.slice(0, r.length));
    return r.length;
  }
  i2c_scan(bus: number, out: Uint8Array) {
    this.rec("i2c_scan", bus);
    const addrs = [...this.i2cRegisters.keys()];
    out.set(addrs.slice(0, out.length));
    return addrs.length;
  }
  time_now_ms() {
    return 0n;
  }
  time_now_us() {
    return 0n;
  }
  time_timer_start(ms: number, periodic: number) {
    this.rec("time_timer_start", ms, periodic);
    return this.timers++;
  }
  time_timer_cancel(timer: number) {
    this.rec("time_timer_cancel", timer);
    return 0;
  }
  log_write(level: number, msg: Uint8Array) {
    this.logs.push({ level, msg: text(msg) });
  }
  device_info(out: Uint8Array) {
    const doc = new TextEncoder().encode('{"board":"test"}');
    if (doc.length <= out.length) out.set(doc);
    return doc.length;
  }
  device_has(name: Uint8Array) {
    return this.pins.includes(text(name)) || this.buses.includes(text(name)) ? 1 : 0;
  }
  msg_publish(topic: Uint8Array, data: Uint8Array) {
    this.published.push({ topic: text(topic), data: text(data) });
    return 0;
  }
  msg_subscribe(topic: Uint8Array) {
    this.rec("msg_subscribe", text(topic));
    return 0;
  }
  msg_unsubscribe() {
    return 0;
  }
  msg_read() {
    return 0;
  }
  msg_topic() {
    return 0;
  }
  random_u32() {
    return 4;
  }
  random_fill(out: Uint8Array) {
    out.fill(7);
  }
}

export interface RunningApp {
  exports: Record<string, WebAssembly.ExportValue>;
  call(name: string, ...args: number[]): unknown;
}

/** Instantiates a built app against the generated glue and the given host. */
export async function instantiate(wasm: Uint8Array, host: HalHost): Promise<RunningApp> {
  let memory: WebAssembly.Memory | undefined;
  const imports = createHalImports(host, () => {
    if (!memory) throw new HalTrap("memory not ready");
    return memory;
  });
  const { instance } = await WebAssembly.instantiate(wasm, imports);
  memory = instance.exports.memory as WebAssembly.Memory;
  return {
    exports: instance.exports,
    call(name, ...args) {
      return (instance.exports[name] as (...a: number[]) => unknown)(...args);
    },
  };
}
