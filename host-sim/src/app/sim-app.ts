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
import { AppHal } from "./app-hal.js";
import type { AppManifest } from "./manifest.js";
import { METER_MODULE } from "./metering.js";

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

  // Runtime-side state, reset at every start.
  pins: BoardPin[] = [];
  buses: I2CBus[] = [];
  timers = new Map<number, AppTimer>();
  watches = new Map<number, PinWatch>();
  subscriptions = new Map<number, Subscription>();
  /** The message being delivered, readable with msg.read/msg.topic during on_message only. */
  currentMessage: { topic: Uint8Array; data: Uint8Array } | undefined;

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
    const ok = this.guarded("start", () => {
      this.instance = new WebAssembly.Instance(this.metered, imports);
      memory = this.instance.exports.memory as WebAssembly.Memory;
    });
    if (ok) this.call("start");
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
