/** The JSON and binary bodies of docs/protocol.md, as TypeScript types. */

export interface HelloInfo {
  protocol: number;
  maxPayload: number;
  firmware: string;
  firmwareVersion: string;
  deviceId: string;
}

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface LogRecord {
  seq: number;
  t: number;
  level: LogLevel;
  app: string | null;
  msg: string;
}

export type AppStateName = "running" | "stopped" | "trapped";

export interface AppEntry {
  name: string;
  version: string;
  sha256: string;
  size: number;
  state: AppStateName;
  autostart: boolean;
  error?: string;
  /** "library" for a library (a module apps link at run time, never started itself); absent for apps. */
  kind?: "library";
}

export interface AppStateEvent {
  name: string;
  state: AppStateName | "removed";
  error?: string;
}

export interface PinInfo {
  name: string;
  caps: string[];
}

export interface BusInfo {
  name: string;
  kind: string;
  devices: { addr: number; driver: string }[];
}

export interface CapabilityDocument {
  protocol: number;
  firmware: string;
  version: string;
  id: string;
  board: string;
  arch: string;
  engine: string;
  /** snapshotMax: the largest snapshot the device takes or restores (firmware; absent on simulators, which have no fixed buffer). */
  memory: { ram: number; appMax: number; snapshotMax?: number };
  store: { total: number; free: number };
  pins: PinInfo[];
  buses: BusInfo[];
  capabilities: string[];
  apps: string[];
  [extra: string]: unknown;
}

/** What `liquid build` writes next to APP.wasm, as the device reports it back (../manifest-format.ts). */
export type { ReceivedAppManifest as AppManifest } from "../manifest-format.js";

export type DeviceEvent =
  | { kind: "log"; record: LogRecord }
  | { kind: "app"; state: AppStateEvent };
