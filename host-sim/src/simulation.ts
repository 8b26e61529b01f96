/**
 * A simulation: one virtual clock and event queue shared by any number of boards. By default
 * time is virtual — the clock jumps from one event to the next, so ten simulated seconds of a
 * blinking LED take milliseconds and every run is identical. `runRealtime` paces the same
 * queue by the wall clock instead, for watching a simulation live or talking to it from tools.
 */
import type { BoardDef } from "./board/board-def.js";
import { SimBoard } from "./board/sim-board.js";
import { EventQueue, type Scheduled } from "./event-queue.js";
import type { SimEvent, SimEventListener } from "./events.js";

export interface SimulationOptions {
  /** Seed of every board's random source (default 1). */
  seed?: number;
  /** Watchdog budget of one entry-point call, in steps (default 1,000,000). */
  budget?: number;
  /**
   * More events than this at one virtual instant means apps keep feeding each other work for
   * the same moment (a message ping-pong); the run stops with SimulationError (default 1,000,000).
   */
  maxEventsPerInstant?: number;
}

/** Something went wrong in the simulation itself (not in an app). */
export class SimulationError extends Error {}

export class Simulation {
  readonly seed: number;
  readonly budget: number;
  private readonly maxEventsPerInstant: number;
  private clock = 0;
  private readonly queue = new EventQueue();
  private readonly listeners = new Set<SimEventListener>();
  private readonly boardMap = new Map<string, SimBoard>();
  private sameInstant = 0;
  /** Events processed so far (for speed reports). */
  eventsProcessed = 0;

  constructor(options: SimulationOptions = {}) {
    this.seed = options.seed ?? 1;
    this.budget = options.budget ?? 1_000_000;
    this.maxEventsPerInstant = options.maxEventsPerInstant ?? 1_000_000;
    if (!Number.isInteger(this.budget) || this.budget < 1 || this.budget > 0x7fffffff) {
      throw new SimulationError(`the watchdog budget must be an integer between 1 and ${0x7fffffff}`);
    }
  }

  /** Current virtual time in milliseconds. */
  get now(): number {
    return this.clock;
  }

  get boards(): SimBoard[] {
    return [...this.boardMap.values()];
  }

  addBoard(def: BoardDef, id: string = def.name): SimBoard {
    if (this.boardMap.has(id)) throw new SimulationError(`a board with id '${id}' is already in the simulation`);
    const board = new SimBoard(this, def, id);
    this.boardMap.set(id, board);
    return board;
  }

  board(id: string): SimBoard {
    const board = this.boardMap.get(id);
    if (!board) throw new SimulationError(`no board '${id}' in the simulation`);
    return board;
  }

  /**
   * Makes the given boards share messages, as devices on one broker would: whatever an app on
   * one of them publishes is also delivered on the others (in a later event at the same time).
   * Returns a function that undoes the bridge.
   */
  bridgeMessages(boardIds: string[]): () => void {
    const boards = boardIds.map((id) => this.board(id));
    const undo = boards.map((from) =>
      from.onPublish((topic, data) => {
        for (const to of boards) if (to !== from) this.at(this.now, () => to.inject(topic, data));
      }),
    );
    return () => undo.forEach((u) => u());
  }

  /** Adds a listener for every event; returns a function that removes it. */
  onEvent(listener: SimEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  dispatch(event: SimEvent): void {
    for (const l of this.listeners) l(event);
  }

  /** Runs `action` at virtual time `t` (never earlier than now); cancel via `.cancelled = true`. */
  at(t: number, action: () => void): Scheduled {
    return this.queue.push(Math.max(t, this.clock), action);
  }

  /** Time of the next pending event, or undefined when nothing is scheduled. */
  nextEventTime(): number | undefined {
    return this.queue.peekTime();
  }

  /** Advances virtual time by `ms`, running every event due up to and including the end. */
  runFor(ms: number): void {
    const end = this.clock + ms;
    while (this.stepIfDue(end));
    this.clock = Math.max(this.clock, end);
  }

  /**
   * Runs until no events remain or `maxMs` of virtual time passed; returns true when it
   * stopped because nothing was left to do. The clock stays at the last event when idle.
   */
  runUntilIdle(maxMs: number): boolean {
    const end = this.clock + maxMs;
    while (this.stepIfDue(end));
    if (this.queue.peekTime() === undefined) return true;
    this.clock = end;
    return false;
  }

  /**
   * Like runFor (or runUntilIdle with `untilIdle`), but each event waits for its moment on the
   * wall clock. Resolves when the time is up, the queue is empty (untilIdle) or `signal` aborts.
   */
  async runRealtime(ms: number, options: { untilIdle?: boolean; signal?: AbortSignal } = {}): Promise<boolean> {
    const startVirtual = this.clock;
    const startWall = performance.now();
    const end = startVirtual + ms;
    for (;;) {
      if (options.signal?.aborted) return false;
      const next = this.queue.peekTime();
      if (next === undefined && options.untilIdle) return true;
      const target = Math.min(next ?? end, end);
      const wait = startWall + (target - startVirtual) - performance.now();
      if (wait > 0) await sleep(Math.min(wait, 100));
      const wallVirtual = startVirtual + (performance.now() - startWall);
      if (next !== undefined && next <= end && next <= wallVirtual) {
        while (this.stepIfDue(next));
      } else if (wallVirtual >= end) {
        this.clock = Math.max(this.clock, end);
        return this.queue.peekTime() === undefined;
      }
    }
  }

  private stepIfDue(end: number): boolean {
    const t = this.queue.peekTime();
    if (t === undefined || t > end) return false;
    const item = this.queue.pop()!;
    if (item.t === this.clock) {
      if (++this.sameInstant > this.maxEventsPerInstant) {
        throw new SimulationError(
          `more than ${this.maxEventsPerInstant.toLocaleString("en-US")} events at ${item.t} ms: apps keep scheduling work for the same instant (a message loop?)`,
        );
      }
    } else {
      this.sameInstant = 0;
    }
    this.clock = item.t;
    this.eventsProcessed++;
    item.run();
    return true;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
