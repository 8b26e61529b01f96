/**
 * What a simulation reports to its listeners: one object per observable event, `t` in virtual
 * milliseconds. `liquid sim --json` prints exactly these objects, one per line (without `board`
 * when only one board runs); the field order follows the shared format.
 */
import type { LogLevel } from "./hal.js";

export type AppState = "running" | "stopped" | "trapped";

export type SimEvent =
  | { t: number; type: "gpio"; pin: string; value: number; board: string }
  | { t: number; type: "log"; app: string | null; level: LogLevel; msg: string; board: string }
  | {
      t: number;
      type: "i2c";
      bus: string;
      addr: number;
      op: "write" | "read" | "write_read" | "scan";
      write?: number[];
      read?: number[];
      ok: boolean;
      app: string;
      board: string;
    }
  | { t: number; type: "trap"; app: string; entry: string; watchdog: boolean; message: string; board: string }
  | { t: number; type: "app"; app: string; state: AppState; error?: string; board: string }
  | { t: number; type: "msg"; app: string | null; topic: string; size: number; board: string };

export type SimEventListener = (event: SimEvent) => void;
