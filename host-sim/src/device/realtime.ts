import type { Simulation } from "../simulation.js";

/**
 * Paces a simulation by the wall clock for a device that tools talk to live (liquid emulate
 * --board sim-devkit). Unlike Simulation.runRealtime, the virtual clock follows wall time even
 * between events, so a timer an app arms after a request starts from the true "now".
 */
export class RealtimePacer {
  private readonly wall0 = performance.now();
  private readonly virtual0: number;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly sim: Simulation) {
    this.virtual0 = sim.now;
  }

  start(): void {
    this.tick();
  }

  /** Runs everything due up to the current wall time. */
  sync(): void {
    // Whole milliseconds, as a firmware tick would count them.
    const target = this.virtual0 + Math.floor(performance.now() - this.wall0);
    if (target > this.sim.now) this.sim.runFor(target - this.sim.now);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private tick(): void {
    if (this.stopped) return;
    this.sync();
    const next = this.sim.nextEventTime();
    const wait = next === undefined ? 100 : Math.max(1, Math.min(100, next - this.sim.now));
    this.timer = setTimeout(() => this.tick(), wait);
  }
}
