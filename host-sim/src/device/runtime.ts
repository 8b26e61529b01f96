import type { AppManifest, BusInfo, LogLevel, PinInfo } from "../../../compiler/src/protocol/types.js";

/**
 * What a simulated device needs from the simulator underneath it: a board that can run apps.
 * The protocol side (store, uploads, logs, app states) lives in SimulatedDevice; this interface
 * is the seam to the simulator core (sim-runtime.ts adapts a SimBoard to it).
 */
export interface BoardRuntime {
  /** Board name as INFO reports it (e.g. "sim-devkit"). */
  readonly board: string;
  /** Milliseconds since the board booted. */
  now(): number;
  /** Pins and buses (with the I2C devices found on them) for the capability document. */
  hardware(): { pins: PinInfo[]; buses: BusInfo[]; ram: number; appMax: number };
  /** Capabilities (hal/hal.json names) the board offers. */
  capabilities(): string[];
  /** Where the board reports app logs, runtime logs and traps. */
  listen(listener: RuntimeListener): void;
  /**
   * Instantiates the module with the grants of its manifest and calls start(). Throws with a
   * readable message when the module cannot run at all; a trap inside start() is reported
   * through the listener and the app is left trapped.
   */
  startApp(app: { name: string; wasm: Uint8Array; manifest: AppManifest }): RunningApp;
  /**
   * Resumes an app from a portable snapshot (docs/snapshot.md) instead of calling start().
   * Throws with a readable message when the snapshot does not fit the module or the board.
   */
  restoreApp?(app: { name: string; wasm: Uint8Array; manifest: AppManifest }, snapshot: Uint8Array): RunningApp;
  /** Throws with a readable message when restoreApp would refuse this snapshot. */
  checkSnapshot?(app: { name: string; wasm: Uint8Array }, snapshot: Uint8Array): void;
  /** Forgets an app (removed or replaced by a new version); stops it first if it runs. */
  forget(name: string): void;
  /** Drops every app and all board-side state (a reboot). */
  reboot(): void;
  /** Puts a library (manifest "kind": "library") in the board's store; throws with a readable message when it is refused (docs/linking.md). */
  addLibrary?(wasm: Uint8Array, manifest: AppManifest): void;
  /** Takes version VERSION of library NAME out of the board's store (RM): later links no longer find it. */
  removeLibrary?(name: string, version: string): void;
  /** The libraries ("NAME@RANGE") an app imports that the board cannot link now. */
  missingLibraries?(wasm: Uint8Array): { name: string; range: string }[];
  /** The host could not fetch NAME@RANGE: calls into it trap with this reason. */
  fetchFailed?(name: string, range: string, reason: string): void;
  /** Catches the board's clock up with the wall clock before a request is served (realtime boards). */
  sync?(): void;
  /** Runs `action` after `ms` of the board's time; returns a function that cancels it. */
  after?(ms: number, action: () => void): () => void;
}

export interface RuntimeListener {
  log(level: LogLevel, app: string | null, msg: string): void;
  /** The app trapped (or the watchdog stopped it); it no longer runs. */
  trapped(app: string, message: string): void;
}

export interface RunningApp {
  stop(): void;
  /** A portable snapshot (docs/snapshot.md) of the app at a quiescent point, when the simulator supports it. */
  snapshot?(): Uint8Array;
  /** Why the app cannot be snapshotted now (e.g. a shared library's functions in its table), checked before anything is frozen. */
  snapshotRefusal?(): string | undefined;
  /** Runs a migration hook (on_migrate_out / on_migrate_in) if the app exports it; a trap is reported through the listener. */
  hook?(entry: MigrationHook): void;
}

/** The optional entry points (hal/hal.json) a migration calls around the freeze and after the restore. */
export type MigrationHook = "on_migrate_out" | "on_migrate_in";
