/**
 * How `liquid sim` prints events: JSON lines (the shared format) or aligned human lines such as
 * `   500 ms  LED0 on` and `  1000 ms  [thermometer] 23.50 C`.
 */
import type { SimEvent } from "./events.js";

export interface FormatOptions {
  /** Keep the `board` field (simulations with several boards). */
  withBoard?: boolean;
}

export function formatEventJson(event: SimEvent, options: FormatOptions = {}): string {
  if (options.withBoard) return JSON.stringify(event);
  const { board: _board, ...rest } = event;
  return JSON.stringify(rest);
}

export interface HumanOptions extends FormatOptions {
  /** Also show I2C transactions and published messages (hidden by default: they are chatty). */
  trace?: boolean;
  /** Kind of each pin by name, to say "on"/"pressed"/"high". */
  pinKind?: (board: string, pin: string) => "led" | "button" | "pin" | undefined;
  /** Whether pressing the button pulls its line low. */
  activeLow?: (board: string, pin: string) => boolean;
}

const hex = (bytes: number[]): string => bytes.map((b) => b.toString(16).padStart(2, "0")).join(" ");

/** One human line for an event, or undefined when the event is not shown. */
export function formatEventHuman(event: SimEvent, options: HumanOptions = {}): string | undefined {
  const time = `${String(event.t).padStart(6)} ms  ${options.withBoard ? `${event.board}: ` : ""}`;
  switch (event.type) {
    case "gpio": {
      const kind = options.pinKind?.(event.board, event.pin) ?? "pin";
      if (kind === "led") return `${time}${event.pin} ${event.value ? "on" : "off"}`;
      if (kind === "button") {
        const pressed = event.value === (options.activeLow?.(event.board, event.pin) ? 0 : 1);
        return `${time}${event.pin} ${pressed ? "pressed" : "released"}`;
      }
      return `${time}${event.pin} ${event.value ? "high" : "low"}`;
    }
    case "log": {
      const who = event.app === null ? "sim" : event.app;
      const level = event.level === "info" ? "" : `${event.level}: `;
      return `${time}[${who}] ${level}${event.msg}`;
    }
    case "trap":
      return event.watchdog
        ? `${time}app '${event.app}' ${event.message}`
        : `${time}app '${event.app}' trapped in ${event.entry}: ${event.message}`;
    case "app":
      // A trap already printed its own line.
      if (event.state === "trapped") return undefined;
      return `${time}app '${event.app}' ${event.state === "running" ? "started" : "stopped"}`;
    case "i2c": {
      if (!options.trace) return undefined;
      const head = `${time}${event.bus} `;
      if (event.op === "scan") return `${head}scan -> ${event.read!.map((a) => "0x" + a.toString(16)).join(" ") || "nothing"}`;
      const addr = `0x${event.addr.toString(16).padStart(2, "0")}`;
      const w = event.write ? ` [${hex(event.write)}]` : "";
      const r = event.ok && event.read ? ` -> [${hex(event.read)}]` : "";
      return `${head}${addr} ${event.op}${w}${r}${event.ok ? "" : " NACK"}`;
    }
    case "msg":
      return options.trace ? `${time}[${event.app ?? "external"}] publish ${event.topic} (${event.size} bytes)` : undefined;
  }
}
