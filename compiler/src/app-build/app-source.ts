/**
 * What `liquid build APP` is asked to build: APP is a .ts file, or a folder holding app.ts or
 * index.ts, optionally with a liquid.json beside the entry that names the app, its version and
 * extra resources.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";

export interface AppConfig {
  name?: string;
  version?: string;
  resources?: { pins?: string[]; buses?: string[] };
  /** Linear memory pages (64 KiB each) the app gets, initial = maximum. */
  memoryPages?: number;
}

export interface AppSource {
  /** Absolute path of the entry .ts file. */
  entry: string;
  /** Absolute folder of the entry (compiler base directory). */
  dir: string;
  /** App name: liquid.json "name", else the folder name (folder apps) or file stem. */
  name: string;
  version: string;
  config: AppConfig;
  /** Absolute path of liquid.json when present. */
  configPath?: string;
}

export class AppSourceError extends Error {}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const PIN_OR_BUS = /^[A-Za-z0-9_]{1,31}$/;

function stringList(value: unknown, where: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string" || !PIN_OR_BUS.test(v))) {
    throw new AppSourceError(`${where} must be an array of names like "LED0" (letters, digits, _; at most 31)`);
  }
  return value as string[];
}

/** Reads and checks liquid.json; errors name the file and the field. */
export function readAppConfig(path: string): AppConfig {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new AppSourceError(`${path}: not valid JSON: ${(err as Error).message}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new AppSourceError(`${path}: must be a JSON object`);
  const o = json as Record<string, unknown>;
  const known = new Set(["$schema", "name", "version", "resources", "memoryPages"]);
  for (const key of Object.keys(o)) {
    if (!known.has(key)) throw new AppSourceError(`${path}: unknown field "${key}" (known: name, version, resources, memoryPages)`);
  }
  const config: AppConfig = {};
  if (o.name !== undefined) {
    if (typeof o.name !== "string" || !NAME.test(o.name)) throw new AppSourceError(`${path}: "name" must match ${NAME}`);
    config.name = o.name;
  }
  if (o.version !== undefined) {
    if (typeof o.version !== "string" || !/^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/.test(o.version)) {
      throw new AppSourceError(`${path}: "version" must be a semantic version like 1.2.3`);
    }
    config.version = o.version;
  }
  if (o.resources !== undefined) {
    if (typeof o.resources !== "object" || o.resources === null || Array.isArray(o.resources)) {
      throw new AppSourceError(`${path}: "resources" must be an object with "pins" and/or "buses"`);
    }
    const r = o.resources as Record<string, unknown>;
    for (const key of Object.keys(r)) {
      if (key !== "pins" && key !== "buses") throw new AppSourceError(`${path}: unknown field "resources.${key}" (known: pins, buses)`);
    }
    config.resources = {};
    if (r.pins !== undefined) config.resources.pins = stringList(r.pins, `${path}: "resources.pins"`);
    if (r.buses !== undefined) config.resources.buses = stringList(r.buses, `${path}: "resources.buses"`);
  }
  if (o.memoryPages !== undefined) {
    if (typeof o.memoryPages !== "number" || !Number.isInteger(o.memoryPages) || o.memoryPages < 1 || o.memoryPages > 16) {
      throw new AppSourceError(`${path}: "memoryPages" must be an integer from 1 to 16`);
    }
    config.memoryPages = o.memoryPages;
  }
  return config;
}

/** Resolves APP (file or folder) to its entry, name and configuration. */
export function resolveAppSource(app: string): AppSource {
  const abs = resolve(app);
  if (!existsSync(abs)) throw new AppSourceError(`${app}: no such file or folder`);
  let entry: string;
  let folderApp = false;
  if (statSync(abs).isDirectory()) {
    const candidate = ["app.ts", "index.ts"].map((f) => join(abs, f)).find((f) => existsSync(f));
    if (!candidate) throw new AppSourceError(`${app}: a folder app needs an app.ts or index.ts`);
    entry = candidate;
    folderApp = true;
  } else {
    if (extname(abs) !== ".ts") throw new AppSourceError(`${app}: an app is an AssemblyScript .ts file or a folder with app.ts`);
    entry = abs;
  }
  const dir = dirname(entry);
  const configPath = join(dir, "liquid.json");
  const config = existsSync(configPath) ? readAppConfig(configPath) : {};
  const stem = folderApp ? basename(abs) : basename(entry, ".ts");
  const name = config.name ?? stem;
  if (!NAME.test(name)) {
    throw new AppSourceError(`app name '${name}' (from the ${config.name ? "liquid.json" : "file name"}) must match ${NAME}; set "name" in liquid.json`);
  }
  return {
    entry,
    dir,
    name,
    version: config.version ?? "0.1.0",
    config,
    ...(existsSync(configPath) ? { configPath } : {}),
  };
}
