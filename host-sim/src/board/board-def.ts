/**
 * Board definitions (boards/NAME.json): the logical pins, buses and attached peripherals of a
 * board. Validation is strict and every message names the file and the offending entry, because
 * a board file is hand-written and a silent typo would show up as an app failing to open "LED0".
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { BOARDS_DIR } from "../../../compiler/src/paths.js";

export type PinCap = "in" | "out" | "pullup" | "pulldown" | "irq";
const PIN_CAPS: readonly string[] = ["in", "out", "pullup", "pulldown", "irq"];

export interface PinDef {
  name: string;
  caps: PinCap[];
  /** "led": an output the simulator reports as on/off; "button": an input a user presses. */
  kind: "led" | "button" | "pin";
  /** For buttons: pressing pulls the line low (the usual button-to-ground with pull-up). */
  activeLow: boolean;
}

export interface DeviceDef {
  driver: string;
  addr: number;
  /** Initial physical values, e.g. { temperature: 23.5 }. */
  initial: Record<string, number>;
}

export interface BusDef {
  name: string;
  kind: "i2c";
  devices: DeviceDef[];
}

export interface BoardDef {
  name: string;
  description?: string;
  pins: PinDef[];
  buses: BusDef[];
  /** Everything else in the file (memory, transport, ...) as given, for tools that need it. */
  extra: Record<string, unknown>;
}

export class BoardError extends Error {}

export const KNOWN_DRIVERS = ["tmp105", "bme280"] as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function parseAddr(v: unknown, where: string): number {
  let n: number | undefined;
  if (typeof v === "number") n = v;
  else if (typeof v === "string" && /^(0x[0-9a-f]+|\d+)$/i.test(v)) n = Number(v);
  if (n === undefined || !Number.isInteger(n) || n < 0x08 || n > 0x77) {
    throw new BoardError(`${where}: "addr" must be a 7-bit I2C address between 0x08 and 0x77, not ${JSON.stringify(v)}`);
  }
  return n;
}

/** Validates a parsed board JSON document; `source` names it in error messages. */
export function parseBoard(json: unknown, source: string): BoardDef {
  if (!isObject(json)) throw new BoardError(`${source}: a board definition must be a JSON object`);
  const name = json.name ?? basename(source).replace(/\.json$/, "");
  if (typeof name !== "string" || !name) throw new BoardError(`${source}: "name" must be a non-empty string`);
  const seen = new Set<string>();
  const unique = (n: string, where: string): void => {
    if (seen.has(n)) throw new BoardError(`${where}: the name ${n} is used twice on this board`);
    seen.add(n);
  };

  const rawPins = json.pins ?? [];
  if (!Array.isArray(rawPins)) throw new BoardError(`${source}: "pins" must be a list`);
  const pins = rawPins.map((p, i): PinDef => {
    const where = `${source}: pins[${i}]`;
    if (!isObject(p) || typeof p.name !== "string" || !/^[A-Za-z][A-Za-z0-9_]*$/.test(p.name)) {
      throw new BoardError(`${where}: each pin needs a "name" made of letters, digits and '_'`);
    }
    unique(p.name, where);
    const caps = p.caps ?? (p.kind === "led" ? ["out"] : p.kind === "button" ? ["in", "pullup", "irq"] : ["in", "out"]);
    if (!Array.isArray(caps) || caps.some((c) => !PIN_CAPS.includes(c as string))) {
      throw new BoardError(`${where} (${p.name}): "caps" must list some of ${PIN_CAPS.join(", ")}`);
    }
    const kind = p.kind ?? (caps.includes("out") && !caps.includes("in") ? "led" : /^(BUTTON|BTN|SW)/i.test(p.name) ? "button" : "pin");
    if (kind !== "led" && kind !== "button" && kind !== "pin") {
      throw new BoardError(`${where} (${p.name}): "kind" must be "led", "button" or "pin"`);
    }
    if (p.activeLow !== undefined && typeof p.activeLow !== "boolean") {
      throw new BoardError(`${where} (${p.name}): "activeLow" must be true or false`);
    }
    return { name: p.name, caps: caps as PinCap[], kind, activeLow: p.activeLow === true };
  });

  const rawBuses = json.buses ?? [];
  if (!Array.isArray(rawBuses)) throw new BoardError(`${source}: "buses" must be a list`);
  const buses = rawBuses.map((b, i): BusDef => {
    const where = `${source}: buses[${i}]`;
    if (!isObject(b) || typeof b.name !== "string" || !b.name) throw new BoardError(`${where}: each bus needs a "name"`);
    unique(b.name, where);
    if ((b.kind ?? "i2c") !== "i2c") throw new BoardError(`${where} (${b.name}): only "kind": "i2c" buses are simulated`);
    const rawDevices = b.devices ?? [];
    if (!Array.isArray(rawDevices)) throw new BoardError(`${where} (${b.name}): "devices" must be a list`);
    const addrs = new Set<number>();
    const devices = rawDevices.map((d, j): DeviceDef => {
      const dwhere = `${where}.devices[${j}]`;
      if (!isObject(d)) throw new BoardError(`${dwhere}: a device must be an object with "driver" and "addr"`);
      if (typeof d.driver !== "string" || !(KNOWN_DRIVERS as readonly string[]).includes(d.driver)) {
        throw new BoardError(`${dwhere}: unknown driver ${JSON.stringify(d.driver)} (simulated: ${KNOWN_DRIVERS.join(", ")})`);
      }
      const addr = parseAddr(d.addr, dwhere);
      if (addrs.has(addr)) throw new BoardError(`${dwhere}: two devices at address 0x${addr.toString(16)}`);
      addrs.add(addr);
      const initial: Record<string, number> = {};
      const values = isObject(d.initial) ? d.initial : isObject(d.values) ? d.values : {};
      for (const [k, v] of Object.entries(values)) {
        if (typeof v !== "number") throw new BoardError(`${dwhere}: initial ${k} must be a number`);
        initial[k] = v;
      }
      return { driver: d.driver, addr, initial };
    });
    return { name: b.name, kind: "i2c", devices };
  });

  const extra = Object.fromEntries(Object.entries(json).filter(([k]) => !["name", "description", "pins", "buses"].includes(k)));
  return { name, description: typeof json.description === "string" ? json.description : undefined, pins, buses, extra };
}

/** Loads a board by name (boards/NAME.json in the checkout) or by path to a JSON file. */
export function loadBoard(nameOrPath: string): BoardDef {
  const isPath = nameOrPath.endsWith(".json") || nameOrPath.includes("/");
  const file = isPath ? nameOrPath : join(BOARDS_DIR, `${nameOrPath}.json`);
  if (!existsSync(file)) {
    if (isPath) throw new BoardError(`board file ${nameOrPath} does not exist`);
    const known = existsSync(BOARDS_DIR) ? readdirSync(BOARDS_DIR).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5)).sort() : [];
    throw new BoardError(`unknown board '${nameOrPath}' (no boards/${nameOrPath}.json; boards: ${known.join(", ") || "none"})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new BoardError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  return parseBoard(json, isPath ? nameOrPath : `boards/${nameOrPath}.json`);
}
