import type { AppManifest, BusInfo, LogLevel, PinInfo } from "../../../compiler/src/protocol/types.js";

/**
 * What a simulated device needs from the simulator underneath it: a board that can run apps.
 * The protocol side (store, uploads, logs, app states) lives in SimulatedDevice; this interface
 * is the seam to the simulator core, so the device speaks the protocol identically whatever
 * runs the apps.
 */
export interface BoardRuntime {
  /** Board name as INFO reports it (e.g. "sim-devkit"). */
  readonly board: string;
  /** Milliseconds since the board booted (virtual time). */
  now(): number;
  /** Pins and buses (with the I2C devices found on them) for the capability document. */
  hardware(): { pins: PinInfo[]; buses: BusInfo[]; ram: number; appMax: number };
  /** Capabilities (hal/hal.json names) the board offers. */
  capabilities(): string[];
  /** Instantiates the module with the grants of its manifest and calls start(). Throws with a readable message when it cannot. */
  startApp(app: { name: string; wasm: Uint8Array; manifest: AppManifest }, hooks: AppHooks): Promise<RunningApp>;
  /** Drops every running app and board state (a reboot). */
  reboot(): void;
}

export interface AppHooks {
  log(level: LogLevel, msg: string): void;
  /** The app trapped (or was stopped by the runtime); it no longer runs. */
  trapped(message: string): void;
}

export interface RunningApp {
  stop(): void;
  /** A portable snapshot (docs/snapshot.md) of the app at a quiescent point, when the simulator supports it. */
  snapshot?(): Uint8Array;
}
