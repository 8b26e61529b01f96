/**
 * One simulated board: its pins and I2C buses with their peripheral models, the apps installed
 * on it, its message broker and random source. Several boards can share one Simulation (one
 * virtual clock); each is what a device would be — apps on different boards share nothing.
 */
import { type AppManifest, AppLoadError, checkImportSignatures, checkModule, compile, deriveManifest } from "../app/manifest.js";
import { MeteringError, instrumentForFuel } from "../app/metering.js";
import { SimApp } from "../app/sim-app.js";
import { LibraryStore } from "../linking/library-store.js";
import type { SimEvent } from "../events.js";
import { HAL_VERSION, HalConst } from "../hal.js";
import { QuantityError } from "../i2c/device.js";
import { I2CBus } from "../i2c/bus.js";
import { SeededRandom, hashString } from "../random.js";
import type { Simulation } from "../simulation.js";
import type { BoardDef } from "./board-def.js";
import { BoardPin } from "./pin.js";
import { topicMatches } from "./topics.js";

/** Messages published but not yet delivered to every subscriber (the runtime's MSG_SLOTS). */
const MESSAGES_IN_FLIGHT = 16;

/** A name given to `set` that the board does not have, or a value it cannot take. */
export class SettingError extends Error {}

/** An event as a board emits it: the simulation adds the time and the board id. */
type EventBody = SimEvent extends infer E ? (E extends SimEvent ? Omit<E, "t" | "board"> : never) : never;

export type PublishHook = (topic: string, data: Uint8Array, app: string) => void;

export interface InstallOptions {
  /** App name when no manifest is given (default: "app"). */
  name?: string;
  /** Start the app at the current virtual time (default true). */
  start?: boolean;
}

export class SimBoard {
  readonly pins = new Map<string, BoardPin>();
  readonly buses = new Map<string, I2CBus>();
  readonly apps = new Map<string, SimApp>();
  /** Libraries this board holds locally, linked into apps at their first call (docs/linking.md). */
  readonly libraries = new LibraryStore();
  readonly random: SeededRandom;
  private messagesInFlight = 0;
  private readonly publishHooks = new Set<PublishHook>();

  constructor(
    readonly sim: Simulation,
    readonly def: BoardDef,
    readonly id: string,
  ) {
    for (const p of def.pins) this.pins.set(p.name, new BoardPin(p));
    for (const b of def.buses) this.buses.set(b.name, new I2CBus(b));
    this.random = new SeededRandom((sim.seed ^ hashString(id)) >>> 0);
  }

  emit(body: EventBody): void {
    this.sim.dispatch({ t: this.sim.now, ...body, board: this.id } as SimEvent);
  }

  /**
   * Installs an app: checks it against its manifest (or derives one granting the whole board)
   * and the HAL, meters it, and by default schedules its start at the current virtual time.
   * Throws AppLoadError with a message for the user when the module cannot run.
   */
  install(wasm: Uint8Array, manifest?: AppManifest, options: InstallOptions = {}): SimApp {
    const name = manifest?.name ?? options.name ?? "app";
    if (this.apps.has(name)) throw new AppLoadError(`an app named '${name}' is already installed on board '${this.id}'`);
    const module = compile(wasm, name);
    const derived = !manifest;
    const effective = manifest ?? deriveManifest(wasm, name, { pins: [...this.pins.keys()], buses: [...this.buses.keys()] });
    checkModule(module, wasm, effective);
    let metered: WebAssembly.Module;
    try {
      const result = instrumentForFuel(wasm);
      checkImportSignatures(name, result.imports);
      this.checkMemory(name, result.memory?.initialPages ?? 0);
      metered = new WebAssembly.Module(result.wasm as BufferSource);
    } catch (err) {
      if (err instanceof MeteringError) throw new AppLoadError(`app '${name}': ${err.message}`);
      throw err;
    }
    const app = new SimApp(this, effective, metered, wasm, derived);
    this.apps.set(name, app);
    if (options.start !== false) this.sim.at(this.sim.now, () => app.state !== "running" && app.start());
    return app;
  }

  /** A board's `memory.appMax` (bytes) bounds each app's memory, as on the device. */
  private checkMemory(name: string, initialPages: number): void {
    const appMax = (this.def.extra.memory as { appMax?: unknown } | undefined)?.appMax;
    if (typeof appMax !== "number") return;
    const needed = initialPages * 65536;
    if (needed > appMax) {
      throw new AppLoadError(
        `app '${name}' needs ${needed / 1024} KiB of linear memory at start; board '${this.def.name}' gives an app at most ${appMax / 1024} KiB`,
      );
    }
  }

  app(name: string): SimApp {
    const app = this.apps.get(name);
    if (!app) throw new Error(`no app named '${name}' on board '${this.id}'`);
    return app;
  }

  /** Stops and forgets an app. */
  remove(name: string): void {
    this.app(name).stop();
    this.apps.delete(name);
  }

  /** Applies `mutate` to a pin and reports a level change (event, watchers). */
  changePin(pin: BoardPin, mutate: () => void): void {
    const before = pin.level;
    mutate();
    const after = pin.level;
    if (after === before) return;
    this.emit({ type: "gpio", pin: pin.name, value: after });
    for (const app of this.apps.values()) {
      for (const [handle, watch] of app.watches) {
        if (watch.pin !== pin) continue;
        if (watch.pending) watch.pending.cancelled = true;
        // Debounce: the level must hold for debounceMs; any change restarts the wait.
        watch.pending = this.sim.at(this.sim.now + watch.debounceMs, () => {
          watch.pending = undefined;
          const level = pin.level;
          if (level === watch.reported) return;
          watch.reported = level;
          const wanted = level ? HalConst.EDGE_RISING : HalConst.EDGE_FALLING;
          if (watch.edges & wanted) app.call("on_pin", handle, level);
        });
      }
    }
  }

  /**
   * Queues one delivery per app with a matching subscription (its first, by handle), as the
   * firmware runtime does. False (EBUSY for the app) when MESSAGES_IN_FLIGHT messages still
   * await delivery — the runtime's message slots.
   */
  publish(from: SimApp | null, topicBytes: Uint8Array, data: Uint8Array): boolean {
    if (this.messagesInFlight >= MESSAGES_IN_FLIGHT) return false;
    const topic = new TextDecoder().decode(topicBytes);
    this.emit({ type: "msg", app: from ? from.name : null, topic, size: data.length });
    // Hooks see what this board's apps publish (not injected messages, so bridges cannot loop).
    if (from) for (const hook of this.publishHooks) hook(topic, data, from.name);
    const deliveries: { app: SimApp; handle: number; sub: { pattern: string } }[] = [];
    for (const app of this.apps.values()) {
      const match = [...app.subscriptions].sort(([a], [b]) => a - b).find(([, sub]) => topicMatches(sub.pattern, topic));
      if (match) deliveries.push({ app, handle: match[0], sub: match[1] });
    }
    if (deliveries.length === 0) return true;
    this.messagesInFlight++;
    let pending = deliveries.length;
    for (const { app, handle, sub } of deliveries) {
      // In the app's queue (sim-app.ts) until delivered, so a snapshot taken meanwhile carries it.
      app.enqueue(
        { kind: "message", handle, topic: topicBytes, data },
        () => {
          if (--pending === 0) this.messagesInFlight--;
        },
        () => app.subscriptions.get(handle) === sub, // not unsubscribed meanwhile
      );
    }
    return true;
  }

  /**
   * A message from outside the board (another device, a bridge, a test), delivered to this
   * board's subscribers like a local publish; false when the message slots are full.
   */
  inject(topic: string, data: Uint8Array = new Uint8Array(0)): boolean {
    return this.publish(null, new TextEncoder().encode(topic), data.slice());
  }

  /** Calls `hook` for every message an app on this board publishes; returns an unsubscribe function. */
  onPublish(hook: PublishHook): () => void {
    this.publishHooks.add(hook);
    return () => this.publishHooks.delete(hook);
  }

  /** Every name `set` accepts on this board, e.g. BUTTON0, I2C0.tmp105.temperature. */
  settableNames(): string[] {
    const names = [...this.pins.values()].filter((p) => p.def.kind !== "led" && p.def.caps.includes("in")).map((p) => p.name);
    for (const bus of this.buses.values()) {
      for (const dev of bus.devices.values()) {
        for (const q of Object.keys(dev.quantities)) names.push(`${bus.name}.${dev.driver}.${q}`);
      }
    }
    return names;
  }

  /**
   * Sets something outside the apps: a button (1 pressed, 0 released), an input pin's level, or
   * a peripheral's physical quantity as BUS.DEVICE.QUANTITY (DEVICE = driver or address).
   */
  set(name: string, value: number): void {
    if (!Number.isFinite(value)) throw new SettingError(`${name}: the value must be a number`);
    const pin = this.pins.get(name);
    if (pin) {
      if (!pin.def.caps.includes("in") || pin.def.kind === "led") {
        throw new SettingError(`${name} is an output driven by apps; it cannot be set from outside`);
      }
      if (value !== 0 && value !== 1) throw new SettingError(`${name} takes 0 or 1${pin.def.kind === "button" ? " (1 = pressed)" : ""}, not ${value}`);
      this.changePin(pin, () => pin.setExternal(value));
      return;
    }
    const parts = name.split(".");
    const bus = parts.length === 3 ? this.buses.get(parts[0]!) : undefined;
    let dev;
    try {
      dev = bus?.find(parts[1]!);
    } catch (err) {
      throw new SettingError((err as Error).message);
    }
    if (!dev) {
      throw new SettingError(`board '${this.def.name}' has nothing named ${name} (settable: ${this.settableNames().join(", ") || "nothing"})`);
    }
    try {
      dev.setQuantity(parts[2]!, value);
    } catch (err) {
      if (err instanceof QuantityError) throw new SettingError(`${name}: ${err.message}`);
      throw err;
    }
  }

  /** Current value of a pin (pressed state for buttons) or peripheral quantity, by `set` names. */
  get(name: string): number {
    const pin = this.pins.get(name);
    if (pin) return pin.def.kind === "button" ? pin.userValue : pin.level;
    const parts = name.split(".");
    const dev = parts.length === 3 ? this.buses.get(parts[0]!)?.find(parts[1]!) : undefined;
    if (!dev) {
      throw new SettingError(`board '${this.def.name}' has nothing named ${name} (settable: ${this.settableNames().join(", ") || "nothing"})`);
    }
    return dev.getQuantity(parts[2]!);
  }

  has(name: string): boolean {
    if (this.pins.has(name) || this.buses.has(name)) return true;
    return [...this.buses.values()].some((b) => [...b.devices.values()].some((d) => d.driver === name));
  }

  /** The capability document, as the device protocol's INFO returns it. */
  info(): Record<string, unknown> {
    const caps = (p: BoardPin): string[] => p.def.caps.slice();
    return {
      protocol: 1,
      firmware: "liquid-sim",
      version: "0.1.0",
      id: this.id,
      board: this.def.name,
      arch: "wasm32-v8",
      engine: `v8 ${process.versions.v8}`,
      hal: HAL_VERSION,
      ...(this.def.extra.memory ? { memory: this.def.extra.memory } : {}),
      pins: [...this.pins.values()].map((p) => ({ name: p.name, caps: caps(p) })),
      buses: [...this.buses.values()].map((b) => ({
        name: b.name,
        kind: "i2c",
        devices: [...b.devices.values()].map((d) => ({ addr: d.addr, driver: d.driver })),
      })),
      capabilities: ["gpio", "i2c", "time", "log", "device", "msg", "random"],
      apps: [...this.apps.keys()],
    };
  }
}
