/**
 * Scenarios and settings: what changes in the outside world during a simulation. A scenario
 * file is a JSON list of `{"t": 1500, "set": "BUTTON0", "value": 1}` entries (`t` in virtual ms
 * or a duration string such as "1.5s"), plus the shorthand `{"t": 1500, "press": "BUTTON0",
 * "for": "200ms"}` for a press and its release; `--set NAME=VALUE` is a `set` at t = 0.
 */
import { readFileSync } from "node:fs";
import { parseDuration } from "./duration.js";

export interface ScenarioEntry {
  t: number;
  set: string;
  value: number;
  /** Position of the entry in the file, for messages. */
  index: number;
}

export class ScenarioError extends Error {}

const DEFAULT_PRESS_MS = 100;

function parseTime(v: unknown, field: string, where: string): number {
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) return v;
  if (typeof v === "string") {
    try {
      return parseDuration(v);
    } catch (err) {
      throw new ScenarioError(`${where}: "${field}": ${(err as Error).message}`);
    }
  }
  throw new ScenarioError(`${where}: "${field}" must be a whole number of milliseconds >= 0 or a duration like "1.5s"`);
}

/** Entries in file order; a `press` becomes its two `set` entries (1 at t, 0 at t + for). */
export function parseScenario(json: unknown, source: string): ScenarioEntry[] {
  if (!Array.isArray(json)) throw new ScenarioError(`${source}: a scenario must be a JSON list of {"t", "set", "value"} entries`);
  return json.flatMap((e, i): ScenarioEntry[] => {
    const where = `${source}: entry ${i}`;
    if (typeof e !== "object" || e === null || Array.isArray(e)) throw new ScenarioError(`${where}: must be an object {"t", "set", "value"}`);
    const entry = e as Record<string, unknown>;
    const isPress = "press" in entry;
    const allowed = isPress ? ["t", "press", "for", "comment"] : ["t", "set", "value", "comment"];
    const unknown = Object.keys(entry).filter((k) => !allowed.includes(k));
    if (unknown.length) {
      throw new ScenarioError(`${where}: unknown field ${unknown.map((k) => JSON.stringify(k)).join(", ")} (an entry has ${allowed.join(", ")})`);
    }
    const t = parseTime(entry.t, "t", where);
    if (isPress) {
      if (typeof entry.press !== "string" || !entry.press) throw new ScenarioError(`${where}: "press" must name a button, e.g. "BUTTON0"`);
      const duration = entry.for === undefined ? DEFAULT_PRESS_MS : parseTime(entry.for, "for", where);
      return [
        { t, set: entry.press, value: 1, index: i },
        { t: t + duration, set: entry.press, value: 0, index: i },
      ];
    }
    if (typeof entry.set !== "string" || !entry.set) throw new ScenarioError(`${where}: "set" must name a pin or quantity, e.g. "BUTTON0"`);
    const value = typeof entry.value === "boolean" ? Number(entry.value) : entry.value;
    if (typeof value !== "number" || !Number.isFinite(value)) throw new ScenarioError(`${where}: "value" must be a number`);
    return [{ t, set: entry.set, value, index: i }];
  });
}

export function loadScenario(file: string): ScenarioEntry[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new ScenarioError(`cannot read scenario file ${file}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ScenarioError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  return parseScenario(json, file);
}

/** Parses `NAME=VALUE` as given to --set. */
export function parseSetting(text: string): { name: string; value: number } {
  const eq = text.indexOf("=");
  const name = eq > 0 ? text.slice(0, eq).trim() : "";
  const raw = eq > 0 ? text.slice(eq + 1).trim() : "";
  if (!name || !raw) throw new ScenarioError(`--set ${text}: expected NAME=VALUE, e.g. BUTTON0=1 or I2C0.tmp105.temperature=26.5`);
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new ScenarioError(`--set ${text}: '${raw}' is not a number`);
  return { name, value };
}
