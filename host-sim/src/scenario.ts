/**
 * Scenarios and settings: what changes in the outside world during a simulation. A scenario
 * file is a JSON list of `{"t": 1500, "set": "BUTTON0", "value": 1}` entries (`t` in virtual ms
 * or a duration string such as "1.5s"); `--set NAME=VALUE` is the same at t = 0.
 */
import { readFileSync } from "node:fs";
import { parseDuration } from "./duration.js";

export interface ScenarioEntry {
  t: number;
  set: string;
  value: number;
}

export class ScenarioError extends Error {}

export function parseScenario(json: unknown, source: string): ScenarioEntry[] {
  if (!Array.isArray(json)) throw new ScenarioError(`${source}: a scenario must be a JSON list of {"t", "set", "value"} entries`);
  return json.map((e, i): ScenarioEntry => {
    const where = `${source}: entry ${i}`;
    if (typeof e !== "object" || e === null || Array.isArray(e)) throw new ScenarioError(`${where}: must be an object {"t", "set", "value"}`);
    const entry = e as Record<string, unknown>;
    const unknown = Object.keys(entry).filter((k) => !["t", "set", "value", "comment"].includes(k));
    if (unknown.length) throw new ScenarioError(`${where}: unknown field ${unknown.map((k) => JSON.stringify(k)).join(", ")}`);
    let t: number;
    if (typeof entry.t === "number" && Number.isInteger(entry.t) && entry.t >= 0) t = entry.t;
    else if (typeof entry.t === "string") {
      try {
        t = parseDuration(entry.t);
      } catch (err) {
        throw new ScenarioError(`${where}: "t": ${(err as Error).message}`);
      }
    } else throw new ScenarioError(`${where}: "t" must be a whole number of milliseconds >= 0 or a duration like "1.5s"`);
    if (typeof entry.set !== "string" || !entry.set) throw new ScenarioError(`${where}: "set" must name a pin or quantity, e.g. "BUTTON0"`);
    const value = typeof entry.value === "boolean" ? Number(entry.value) : entry.value;
    if (typeof value !== "number" || !Number.isFinite(value)) throw new ScenarioError(`${where}: "value" must be a number`);
    return { t, set: entry.set, value };
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
