/**
 * One app installed on a simulated board: its metered module, its instance while it runs, the
 * runtime-side state a device keeps for it (pin and bus handles, timers, watches,
 * subscriptions), and the guarded calls into its entry points. Whatever goes wrong inside an
 * entry point — a wasm trap, a HAL trap, the watchdog — stops this app only.
 */
import type { BoardPin } from "../board/pin.js";
import type { SimBoard } from "../board/sim-board.js";
import type { Scheduled } from "../event-queue.js";
import type { AppState } from "../events.js";
import { HalTrap, createHalImports } from "../hal.js";
import type { I2CBus } from "../i2c/bus.js";
import { AppHal, MAX_TIMERS } from "./app-hal.js";
import type { AppManifest } from "./manifest.js";
import { METER_MODULE } from "./metering.js";
import { AppLinker } from "../linking/app-linker.js";
import { libraryImportsOf } from "../linking/module-imports.js";

/** Thrown from the metering hook when an entry point used up its step budget. */
class WatchdogExpired extends Error {}

export interface AppTimer {
  ms: number;
  periodic: boolean;
  next: Scheduled;
}

export interface PinWatch {
  pin: BoardPin;
  edges: number;
  debounceMs: number;
  /** The level last reported (or seen when the watch began): edges are changes from it. */
  reported: number;
  pending?: Scheduled;
}

/**
 * An event queued for an app and not yet delivered, in the form a snapshot carries it (LQRT
 * format 2, docs/snapshot.md): what its entry point is called with.
 */
export type QueuedEvent =
  | { kind: "start" }
  | { kind: "timer"; handle: number }
  | { kind: "pin"; handle: number; level: number }
  | { kind: "message"; handle: number; topic: Uint8Array; data: Uint8Array };

interface QueueEntry {
  event: QueuedEvent;
  scheduled: Scheduled;
  /** Called once when the entry was delivered or dropped (the board's message slots). */
  settle?: () => void;
}

/** How many queued events a snapshot carries at most (the firmware's per-app queue). */
export const MAX_QUEUED_EVENTS = 16;

export interface AppSnapshot {
  name: string;
  /** Identity of the module the state belongs to. */
  sha256: string;
  memory: Uint8Array;
  /** Exported mutable globals by export name (i64 as bigint). */
  globals: Record<string, number | bigint>;
  /** The pins behind handles 0, 1, ...: name, mode set (null: never) and driven level of outputs. */
  pins: { name: string; mode: number | null; level: number | null }[];
  /** Names of the buses behind handles 0, 1, ... */
  buses: string[];
  timers: { handle: number; ms: number; periodic: boolean; remainingMs: number }[];
  watches: { handle: number; edges: number; debounceMs: number; reported: number }[];
  subscriptions: { handle: number; pattern: string }[];
  /** Events queued at the freeze, in delivery order (absent or empty: none). */
  events?: QueuedEvent[];
}

function isMutable(g: WebAssembly.Global): boolean {
  try {
    g.value = g.value; // eslint-disable-line no-self-assign -- probes mutability without changing it
    return true;
  } catch {
    return false;
  }
}

export interface Subscription {
  pattern: string;
}

export class SimApp {
  state: AppState = "stopped";
  /** Why the app stopped, when it trapped. */
  error: string | undefined;
  private instance: WebAssembly.Instance | undefined;
  private readonly fuel = new WebAssembly.Global({ value: "i32", mutable: true }, 0);
  private readonly warned = new Set<string>();
  /** The libraries linked into the current instance (a new linker at every start). */
  linker: AppLinker | undefined;

  // Runtime-side state, reset at every start.
  pins: BoardPin[] = [];
  buses: I2CBus[] = [];
  timers = new Map<number, AppTimer>();
  watches = new Map<number, PinWatch>();
  subscriptions = new Map<number, Subscription>();
  /** The message being delivered, readable with msg.read/msg.topic during on_message only. */
  currentMessage: { topic: Uint8Array; data: Uint8Array } | undefined;
  /** Events scheduled for delivery and not yet delivered, oldest first (what a snapshot carries). */
  private readonly queue: QueueEntry[] = [];

  constructor(
    readonly board: SimBoard,
    readonly manifest: AppManifest,
    /** The module as V8 runs it (metered); the original bytes are `wasm`. */
    private readonly metered: WebAssembly.Module,
    readonly wasm: Uint8Array,
    /** True when no manifest came with the module and one was derived (all resources granted). */
    readonly manifestDerived: boolean,
  ) {}

  get name(): string {
    return this.manifest.name;
  }

  /** The live instance (for snapshots), undefined unless running. */
  get wasmInstance(): WebAssembly.Instance | undefined {
    return this.instance;
  }

  /** Instantiates the module afresh and calls start(); a failure traps the app. */
  start(): void {
    if (this.instantiate()) this.call("start");
  }

  /**
   * The app's whole state at a quiescent point (between two events): linear memory, exported
   * mutable globals, and the runtime side (handles by name, timers with their remaining time,
   * pin watches, subscriptions). Serialising it is the migration format's job.
   */
  snapshot(): AppSnapshot {
    if (this.state !== "running" || !this.instance) throw new Error(`app '${this.name}' is not running; only a running app has a state to snapshot`);
    const refusal = this.snapshotRefusal();
    if (refusal) throw new Error(refusal);
    const exports = this.instance.exports;
    const globals: Record<string, number | bigint> = {};
    for (const [name, value] of Object.entries(exports)) {
      if (value instanceof WebAssembly.Global && isMutable(value)) globals[name] = value.value as number | bigint;
    }
    const now = this.board.sim.now;
    return {
      name: this.name,
      sha256: this.manifest.sha256,
      memory: new Uint8Array((exports.memory as WebAssembly.Memory).buffer.slice(0)),
      globals,
      pins: this.pins.map((p) => ({ name: p.name, mode: p.mode ?? null, level: p.isOutput ? p.level : null })),
      buses: this.buses.map((b) => b.name),
      timers: [...this.timers].map(([handle, t]) => ({ handle, ms: t.ms, periodic: t.periodic, remainingMs: t.next.t - now })),
      watches: [...this.watches].map(([handle, w]) => ({ handle, edges: w.edges, debounceMs: w.debounceMs, reported: w.reported })),
      subscriptions: [...this.subscriptions].map(([handle, s]) => ({ handle, pattern: s.pattern })),
      events: this.queue.map((e) => e.event),
    };
  }

  /**
   * Queues `event` for delivery later at the current virtual time (after whatever is already
   * due then), as the firmware's per-app queue does; `settle` runs once when it was delivered
   * or dropped (the app stopped first); `wanted`, if given, is asked at delivery time.
   */
  enqueue(event: QueuedEvent, settle?: () => void, wanted?: () => boolean): void {
    const entry: QueueEntry = {
      event,
      settle,
      scheduled: this.board.sim.at(this.board.sim.now, () => {
        const i = this.queue.indexOf(entry);
        if (i < 0) return;
        this.queue.splice(i, 1);
        try {
          if (!wanted || wanted()) this.deliver(event);
        } finally {
          entry.settle?.();
        }
      }),
    };
    this.queue.push(entry);
  }

  private deliver(event: QueuedEvent): void {
    switch (event.kind) {
      case "start":
        return this.call("start");
      case "timer":
        return this.call("on_timer", event.handle);
      case "pin":
        return this.call("on_pin", event.handle, event.level);
      case "message":
        this.currentMessage = { topic: event.topic, data: event.data };
        try {
          return this.call("on_message", event.handle, event.data.length);
        } finally {
          this.currentMessage = undefined;
        }
    }
  }

  /**
   * Why this app cannot be snapshotted now, if it cannot: its table holds functions of a linked
   * shared library (ABI v2), which are another instance's and cannot leave the device.
   */
  snapshotRefusal(): string | undefined {
    const libs = this.linker?.librariesInTable() ?? [];
    if (!libs.length) return undefined;
    const names = libs.join(", ");
    return `cannot snapshot ${this.name}: its function table holds entries of shared ${libs.length > 1 ? "libraries" : "library"} ${names} (function references cannot leave the device); unload the library first`;
  }

  /**
   * Resumes the app from a snapshot taken on this or another board, without calling start():
   * the same handles name the same pins and buses (they must exist here and be granted), and
   * timers continue with the time they had left.
   */
  restore(snap: AppSnapshot): void {
    if (this.state === "running") throw new Error(`app '${this.name}' is running; stop it before restoring a snapshot`);
    if (snap.sha256 !== this.manifest.sha256) {
      throw new Error(`the snapshot of '${snap.name}' is of another module (sha256 ${snap.sha256.slice(0, 12)}…, this app is ${this.manifest.sha256.slice(0, 12)}…)`);
    }
    const resolve = <T>(kind: "pin" | "bus", names: string[], granted: string[], table: Map<string, T>): T[] =>
      names.map((n) => {
        if (!granted.includes(n)) throw new Error(`cannot restore '${this.name}': its manifest does not grant ${kind} ${n}`);
        const found = table.get(n);
        if (!found) throw new Error(`cannot restore '${this.name}' on board '${this.board.id}': it has no ${kind} ${n}`);
        return found;
      });
    const pins = resolve("pin", snap.pins.map((p) => p.name), this.manifest.resources.pins, this.board.pins);
    const buses = resolve("bus", snap.buses, this.manifest.resources.buses, this.board.buses);
    if (!this.instantiate()) return;
    const exports = this.instance!.exports;
    const memory = exports.memory as WebAssembly.Memory;
    const pageBytes = 65536;
    if (snap.memory.length > memory.buffer.byteLength) memory.grow((snap.memory.length - memory.buffer.byteLength) / pageBytes);
    new Uint8Array(memory.buffer).set(snap.memory);
    for (const [name, value] of Object.entries(snap.globals)) {
      const g = exports[name];
      if (!(g instanceof WebAssembly.Global)) throw new Error(`cannot restore '${this.name}': it exports no global ${name}`);
      g.value = value;
    }
    this.pins = pins;
    this.buses = buses;
    // The pins' configuration is part of the app's state: an LED it left on is on here too.
    snap.pins.forEach((p, i) => {
      const pin = pins[i]!;
      this.board.changePin(pin, () => {
        if (p.mode !== null) pin.mode = p.mode;
        if (p.level !== null && pin.isOutput) pin.drive(p.level);
      });
    });
    // What was queued at the freeze comes first, in its order (queued before the timers are armed, so
    // that one due now fires after them, as on the firmware); a migration's on_migrate_in
    // (called right after this) still runs before them, as on the firmware.
    for (const e of snap.events ?? []) {
      if (e.kind === "timer" && e.handle >= MAX_TIMERS) {
        this.board.emit({ type: "log", app: this.name, level: "warn", msg: `queued on_timer(${e.handle}) dropped: this device has no timer ${e.handle}` });
        continue;
      }
      this.enqueue(e);
    }
    for (const t of snap.timers) this.armTimer(t.handle, t.ms, t.periodic, t.remainingMs);
    for (const w of snap.watches) {
      const pin = this.pins[w.handle];
      if (pin) this.watches.set(w.handle, { pin, edges: w.edges, debounceMs: w.debounceMs, reported: w.reported });
    }
    for (const s of snap.subscriptions) this.subscriptions.set(s.handle, { pattern: s.pattern });
  }

  /** Arms timer `handle` to fire after `delay` ms, then every `ms` if periodic. */
  armTimer(handle: number, ms: number, periodic: boolean, delay: number): void {
    const fire = (at: number): void => {
      const timer = this.timers.get(handle);
      if (!timer) return;
      // Re-armed before on_timer runs, from its due time, so periods do not drift and
      // timer_cancel inside on_timer works.
      if (timer.periodic) timer.next = this.board.sim.at(at + timer.ms, () => fire(at + timer.ms));
      else this.timers.delete(handle);
      this.call("on_timer", handle);
    };
    const at = this.board.sim.now + delay;
    this.timers.set(handle, { ms, periodic, next: this.board.sim.at(at, () => fire(at)) });
  }

  /** A fresh instance with empty runtime state; false (and the app trapped) if that failed. */
  private instantiate(): boolean {
    if (this.state === "running") throw new Error(`app '${this.name}' is already running`);
    this.resetRuntimeState();
    this.error = undefined;
    this.state = "running";
    this.board.emit({ type: "app", app: this.name, state: "running" });
    const hal = new AppHal(this);
    let memory: WebAssembly.Memory | undefined;
    const imports = createHalImports(hal, () => {
      if (!memory) throw new HalTrap("a HAL function was called while the module was being instantiated; call it from start() instead");
      return memory;
    });
    imports[METER_MODULE] = {
      fuel: this.fuel,
      out_of_fuel: () => {
        throw new WatchdogExpired();
      },
    };
    // Library imports ("NAME@RANGE") link at their first call, through trampolines.
    this.linker = new AppLinker(this.name, this.manifest.capabilities, this.board.libraries, hal, imports[METER_MODULE], () => memory, (lib, how) =>
      this.board.emit({ type: "log", app: null, level: "info", msg: `app '${this.name}': library ${lib.name}@${lib.version} ${how}` }),
      () => {
        const heap = this.manifest.heapPointer ? this.instance?.exports[this.manifest.heapPointer] : undefined;
        return heap instanceof WebAssembly.Global ? heap : undefined;
      },
      () => this.instance?.exports,
    );
    Object.assign(imports, this.linker.importsFor(`app '${this.name}'`, libraryImportsOf(this.wasm)));
    return this.guarded("start", () => {
      this.instance = new WebAssembly.Instance(this.metered, imports);
      memory = this.instance.exports.memory as WebAssembly.Memory;
    });
  }

  /** Stops the app as a device's STOP command does: its timers, watches and subscriptions end. */
  stop(): void {
    if (this.state !== "running") return;
    this.resetRuntimeState();
    this.instance = undefined;
    this.state = "stopped";
    this.board.emit({ type: "app", app: this.name, state: "stopped" });
  }

  /** Calls an exported entry point if the app runs and exports it. */
  call(entry: string, ...args: number[]): void {
    if (this.state !== "running" || !this.instance) return;
    const fn = this.instance.exports[entry];
    if (typeof fn !== "function") {
      this.warnOnce(entry, `app '${this.name}' does not export ${entry}(); its ${entry.replace("on_", "")} events are dropped`);
      return;
    }
    this.guarded(entry, () => (fn as (...a: number[]) => unknown)(...args));
  }

  warnOnce(key: string, msg: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.board.emit({ type: "log", app: null, level: "warn", msg });
  }

  private guarded(entry: string, body: () => void): boolean {
    this.fuel.value = this.board.sim.budget;
    try {
      body();
      return true;
    } catch (err) {
      this.trap(entry, err);
      return false;
    }
  }

  private trap(entry: string, err: unknown): void {
    let message: string;
    let watchdog = false;
    if (err instanceof WatchdogExpired) {
      watchdog = true;
      const budget = this.board.sim.budget.toLocaleString("en-US");
      message = `stopped by the watchdog: ${entry} did not return within its budget (${budget} steps)`;
    } else if (err instanceof HalTrap || err instanceof WebAssembly.RuntimeError || err instanceof WebAssembly.LinkError) {
      message = err.message.replace(/^WebAssembly\.Instance\(\): /, "");
      if (message === "unreachable") message = "unreachable instruction executed";
    } else if (err instanceof RangeError && /call stack/i.test(err.message)) {
      message = "call stack exhausted (recursion too deep)";
    } else {
      throw err; // not the app's fault: a simulator bug must not pass for an app trap
    }
    this.error = watchdog ? message : `trapped in ${entry}: ${message}`;
    this.resetRuntimeState();
    this.instance = undefined;
    this.state = "trapped";
    this.board.emit({ type: "trap", app: this.name, entry, watchdog, message });
    this.board.emit({ type: "app", app: this.name, state: "trapped", error: this.error });
  }

  private resetRuntimeState(): void {
    // Queued events go with the instance they were for (a snapshot has taken its copy).
    for (const e of this.queue.splice(0)) {
      e.scheduled.cancelled = true;
      e.settle?.();
    }
    for (const t of this.timers.values()) t.next.cancelled = true;
    for (const w of this.watches.values()) if (w.pending) w.pending.cancelled = true;
    this.pins = [];
    this.buses = [];
    this.timers.clear();
    this.watches.clear();
    this.subscriptions.clear();
    this.currentMessage = undefined;
  }
}
