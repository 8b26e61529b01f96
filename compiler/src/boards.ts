/**
 * Board definitions (boards/NAME.json): what a board offers to apps under logical names (pins,
 * I2C buses and the devices on them), its memory and how the toolchain reaches it. Used by the
 * CLI (`--board NAME`), the simulator and the tests; the firmware reads the same files with its
 * own JSON reader (name, pins[].name/port/caps, buses[].name/kind/port, memory.ram).
 *
 * Pins, buses and devices are validated strictly (an unknown field there is almost always a
 * typo such as "activelow"); unknown top-level fields are kept, so a port can add its own.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { BOARDS_DIR } from "./paths.js";

export const BOARD_TARGETS = ["simulator", "posix", "qemu", "nrf52840", "esp32"] as const;
export type BoardTarget = (typeof BOARD_TARGETS)[number];
export const PIN_CAPS = ["in", "out", "pullup", "pulldown", "irq"] as const;
export type PinCap = (typeof PIN_CAPS)[number];
export const PIN_KINDS = ["led", "button", "pin"] as const;
/** I2C device models the simulator and the firmware's boot scan know. */
export const DEVICE_DRIVERS = ["tmp105", "bme280"] as const;
export const TRANSPORT_KINDS = ["in-process", "tcp", "uart", "pty"] as const;

export interface BoardPin {
  name: string;
  kind: (typeof PIN_KINDS)[number];
  /** The port's pin number (e.g. 13 for nRF P0.13, the FPGAIO bit on MPS2). */
  port: number;
  caps: PinCap[];
  /** Electrically inverted: LED on / button pressed is a low level. Apps always see logical levels. */
  activeLow?: boolean;
  /** What the pin is on the hardware, for people. */
  hw?: string;
}

export interface BoardDevice {
  driver: (typeof DEVICE_DRIVERS)[number];
  addr: number;
  /** Initial physical values of a simulated device, e.g. { "temperature": 23.5 }. */
  initial?: Record<string, number>;
}

export interface BoardBus {
  name: string;
  kind: "i2c";
  port: number;
  hw?: string;
  sda?: string;
  scl?: string;
  frequency?: number;
  devices?: BoardDevice[];
}

export interface Board {
  name: string;
  description: string;
  target: BoardTarget;
  arch: string;
  cpu?: string;
  memory: { ram: number; flash: number; appMax: number };
  transport: { kind: (typeof TRANSPORT_KINDS)[number]; [key: string]: unknown };
  pins: BoardPin[];
  buses: BoardBus[];
  [key: string]: unknown;
}

export class BoardError extends Error {}

const NAME = /^[A-Z][A-Z0-9_]{0,30}$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function only(o: Record<string, unknown>, allowed: string[], where: string): void {
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key)) throw new BoardError(`${where}: unknown field "${key}" (allowed: ${allowed.join(", ")})`);
  }
}

function uint(v: unknown, where: string, max = 2 ** 32 - 1): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) throw new BoardError(`${where} must be an integer from 0 to ${max}`);
  return v;
}

function optString(v: unknown, where: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !v) throw new BoardError(`${where} must be a non-empty string`);
  return v;
}

/** Validates a parsed board document; `source` names it in messages. */
export function validateBoard(json: unknown, source: string): Board {
  if (!isObject(json)) throw new BoardError(`${source}: a board must be a JSON object`);
  const name = json.name;
  if (typeof name !== "string" || !/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new BoardError(`${source}: "name" must be lowercase letters, digits and '-'`);
  const description = optString(json.description, `${source}: "description"`);
  if (!description) throw new BoardError(`${source}: "description" is required`);
  if (typeof json.target !== "string" || !(BOARD_TARGETS as readonly string[]).includes(json.target)) {
    throw new BoardError(`${source}: "target" must be one of ${BOARD_TARGETS.join(", ")}`);
  }
  const arch = optString(json.arch, `${source}: "arch"`);
  if (!arch) throw new BoardError(`${source}: "arch" is required`);
  optString(json.cpu, `${source}: "cpu"`);

  if (!isObject(json.memory)) throw new BoardError(`${source}: "memory" must be an object with ram, flash and appMax (bytes)`);
  only(json.memory, ["ram", "flash", "appMax"], `${source}: memory`);
  const memory = {
    ram: uint(json.memory.ram, `${source}: memory.ram`),
    flash: uint(json.memory.flash, `${source}: memory.flash`),
    appMax: uint(json.memory.appMax, `${source}: memory.appMax`),
  };
  if (memory.appMax % 65536 !== 0 || memory.appMax === 0) throw new BoardError(`${source}: memory.appMax must be a positive multiple of 65536 (wasm pages)`);
  if (memory.appMax > memory.ram) throw new BoardError(`${source}: memory.appMax (${memory.appMax}) exceeds memory.ram (${memory.ram})`);

  if (!isObject(json.transport) || !(TRANSPORT_KINDS as readonly string[]).includes(json.transport.kind as string)) {
    throw new BoardError(`${source}: "transport" must be an object whose "kind" is one of ${TRANSPORT_KINDS.join(", ")}`);
  }

  const names = new Set<string>();
  const claim = (n: string, where: string) => {
    if (names.has(n)) throw new BoardError(`${where}: the name ${n} is used twice on this board`);
    names.add(n);
  };

  if (!Array.isArray(json.pins)) throw new BoardError(`${source}: "pins" must be a list`);
  const ports = new Set<number>();
  const pins = json.pins.map((p, i): BoardPin => {
    const where = `${source}: pins[${i}]`;
    if (!isObject(p)) throw new BoardError(`${where}: must be an object`);
    only(p, ["name", "kind", "port", "caps", "activeLow", "hw"], where);
    if (typeof p.name !== "string" || !NAME.test(p.name)) throw new BoardError(`${where}: "name" must be uppercase like LED0 (letters, digits, _; at most 31)`);
    claim(p.name, where);
    if (!(PIN_KINDS as readonly string[]).includes(p.kind as string)) throw new BoardError(`${where} (${p.name}): "kind" must be one of ${PIN_KINDS.join(", ")}`);
    const port = uint(p.port, `${where} (${p.name}): "port"`, 255);
    if (ports.has(port)) throw new BoardError(`${where} (${p.name}): port ${port} is used by another pin`);
    ports.add(port);
    if (!Array.isArray(p.caps) || !p.caps.length || p.caps.some((c) => !(PIN_CAPS as readonly unknown[]).includes(c))) {
      throw new BoardError(`${where} (${p.name}): "caps" must list some of ${PIN_CAPS.join(", ")}`);
    }
    if (p.kind === "led" && !p.caps.includes("out")) throw new BoardError(`${where} (${p.name}): an LED needs the "out" cap`);
    if (p.kind === "button" && !p.caps.includes("in")) throw new BoardError(`${where} (${p.name}): a button needs the "in" cap`);
    if (p.activeLow !== undefined && typeof p.activeLow !== "boolean") throw new BoardError(`${where} (${p.name}): "activeLow" must be true or false`);
    const pin: BoardPin = { name: p.name, kind: p.kind as BoardPin["kind"], port, caps: p.caps as PinCap[] };
    if (p.activeLow !== undefined) pin.activeLow = p.activeLow as boolean;
    const hw = optString(p.hw, `${where} (${p.name}): "hw"`);
    if (hw) pin.hw = hw;
    return pin;
  });

  if (!Array.isArray(json.buses)) throw new BoardError(`${source}: "buses" must be a list`);
  const busPorts = new Set<number>();
  const buses = json.buses.map((b, i): BoardBus => {
    const where = `${source}: buses[${i}]`;
    if (!isObject(b)) throw new BoardError(`${where}: must be an object`);
    only(b, ["name", "kind", "port", "hw", "sda", "scl", "frequency", "devices"], where);
    if (typeof b.name !== "string" || !NAME.test(b.name)) throw new BoardError(`${where}: "name" must be uppercase like I2C0`);
    claim(b.name, where);
    if (b.kind !== "i2c") throw new BoardError(`${where} (${b.name}): "kind" must be "i2c" (the only bus of HAL v1)`);
    const port = uint(b.port, `${where} (${b.name}): "port"`, 255);
    if (busPorts.has(port)) throw new BoardError(`${where} (${b.name}): port ${port} is used by another bus`);
    busPorts.add(port);
    const bus: BoardBus = { name: b.name, kind: "i2c", port };
    for (const key of ["hw", "sda", "scl"] as const) {
      const v = optString(b[key], `${where} (${b.name}): "${key}"`);
      if (v) bus[key] = v;
    }
    if (b.frequency !== undefined) {
      const f = uint(b.frequency, `${where} (${b.name}): "frequency"`, 3_400_000);
      if (f < 1000) throw new BoardError(`${where} (${b.name}): "frequency" is in Hz (e.g. 100000)`);
      bus.frequency = f;
    }
    if (b.devices !== undefined) {
      if (!Array.isArray(b.devices)) throw new BoardError(`${where} (${b.name}): "devices" must be a list`);
      const addrs = new Set<number>();
      bus.devices = b.devices.map((d, j): BoardDevice => {
        const dwhere = `${where}.devices[${j}]`;
        if (!isObject(d)) throw new BoardError(`${dwhere}: must be an object with "driver" and "addr"`);
        only(d, ["driver", "addr", "initial"], dwhere);
        if (!(DEVICE_DRIVERS as readonly unknown[]).includes(d.driver)) {
          throw new BoardError(`${dwhere}: unknown driver ${JSON.stringify(d.driver)} (known: ${DEVICE_DRIVERS.join(", ")})`);
        }
        const addr = uint(d.addr, `${dwhere}: "addr"`, 0x77);
        if (addr < 0x08) throw new BoardError(`${dwhere}: "addr" must be a 7-bit address from 0x08 to 0x77`);
        if (addrs.has(addr)) throw new BoardError(`${dwhere}: two devices at address 0x${addr.toString(16)}`);
        addrs.add(addr);
        const dev: BoardDevice = { driver: d.driver as BoardDevice["driver"], addr };
        if (d.initial !== undefined) {
          if (!isObject(d.initial)) throw new BoardError(`${dwhere}: "initial" must map quantities to numbers`);
          for (const [k, v] of Object.entries(d.initial)) {
            if (typeof v !== "number" || !Number.isFinite(v)) throw new BoardError(`${dwhere}: initial ${k} must be a number`);
          }
          dev.initial = d.initial as Record<string, number>;
        }
        return dev;
      });
    }
    return bus;
  });

  return { ...json, name, description, target: json.target as BoardTarget, arch, memory, transport: json.transport as Board["transport"], pins, buses };
}

/** Loads a board by name (boards/NAME.json) or by a path ending in .json. */
export function loadBoard(nameOrPath: string, dir = BOARDS_DIR): Board {
  const isPath = nameOrPath.endsWith(".json") || nameOrPath.includes("/");
  const file = isPath ? nameOrPath : join(dir, `${nameOrPath}.json`);
  if (!existsSync(file)) {
    const known = listBoards(dir).join(", ");
    throw new BoardError(isPath ? `board file ${nameOrPath} does not exist` : `unknown board '${nameOrPath}' (known: ${known})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new BoardError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  const board = validateBoard(json, isPath ? file : `boards/${nameOrPath}.json`);
  if (!isPath && board.name !== nameOrPath) throw new BoardError(`boards/${nameOrPath}.json: "name" is ${board.name}, not ${nameOrPath}`);
  return board;
}

/** Names of the boards in the boards folder, sorted. */
export function listBoards(dir = BOARDS_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json") && !f.endsWith(".schema.json"))
    .map((f) => basename(f, ".json"))
    .sort();
}
