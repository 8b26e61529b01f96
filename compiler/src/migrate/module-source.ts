/**
 * Where the module's code comes from when the target does not hold it yet. A device cannot hand
 * its module back over the protocol, so the host needs its own copy: a built APP.wasm (with its
 * manifest beside it) or an app source it builds, or the module repository (`liquid repo serve`),
 * asked by content hash. Whatever the origin, the bytes must hash to exactly the module that
 * runs on the source, or the snapshot would not fit them.
 */
import { existsSync, readFileSync } from "node:fs";
import { extname, resolve } from "node:path";
import { RepositoryClient } from "../../../hub/src/client.js";
import { buildApp, formatBuildProblems, manifestPathFor } from "../app-build/index.js";
import { sha256, toHex } from "../protocol/sha256.js";
import type { AppManifest } from "../protocol/types.js";

export class ModuleSourceError extends Error {}

export interface ModuleCopy {
  wasm: Uint8Array;
  manifestText: string;
  manifest: AppManifest;
  sha256: string;
  /** Where it came from, for messages: a path or a repository URL. */
  origin: string;
}

function parseManifest(text: string, where: string): AppManifest {
  try {
    const m = JSON.parse(text) as AppManifest;
    if (typeof m !== "object" || m === null || m.liquid !== 1) throw new Error("not a Liquid manifest (no \"liquid\": 1)");
    return m;
  } catch (err) {
    throw new ModuleSourceError(`${where} is not a usable manifest: ${(err as Error).message}`);
  }
}

/** A built APP.wasm with APP.manifest.json beside it, or an app source folder / .ts file to build. */
export async function moduleFromPath(path: string): Promise<ModuleCopy> {
  const full = resolve(path);
  if (!existsSync(full)) throw new ModuleSourceError(`--module ${path} does not exist: give the app's built APP.wasm or its source`);
  if (extname(full) === ".wasm") {
    const manifestPath = manifestPathFor(full);
    if (!existsSync(manifestPath)) throw new ModuleSourceError(`no manifest beside ${path} (expected ${manifestPath}): build the app with 'liquid build'`);
    const wasm = new Uint8Array(readFileSync(full));
    const manifestText = readFileSync(manifestPath, "utf8");
    return { wasm, manifestText, manifest: parseManifest(manifestText, manifestPath), sha256: toHex(sha256(wasm)), origin: path };
  }
  const built = await buildApp(full);
  if (!built.ok) throw new ModuleSourceError(`building ${path} failed:\n${formatBuildProblems(built).join("\n")}`);
  const manifestText = readFileSync(built.manifestPath!, "utf8");
  return { wasm: built.wasm!, manifestText, manifest: parseManifest(manifestText, built.manifestPath!), sha256: toHex(sha256(built.wasm!)), origin: path };
}

/** The module with this content hash from a module repository's HTTP API (hub/src/server.ts). */
export async function moduleFromRepository(url: string, hash: string): Promise<ModuleCopy> {
  const base = url.replace(/\/+$/, "");
  const get = async (path: string): Promise<Response> => {
    let res: Response;
    try {
      res = await fetch(base + path);
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new ModuleSourceError(`module repository at ${base} is unreachable (${cause})`);
    }
    if (res.status === 404) throw new ModuleSourceError(`module repository at ${base} does not have module ${hash.slice(0, 12)}: publish it there with 'liquid publish'`);
    if (!res.ok) throw new ModuleSourceError(`module repository at ${base} answered ${res.status} ${res.statusText} for ${path}`);
    return res;
  };
  const wasm = new Uint8Array(await (await get(`/v1/blobs/${hash}`)).arrayBuffer());
  const got = toHex(sha256(wasm));
  if (got !== hash) throw new ModuleSourceError(`module repository at ${base} sent bytes hashing to ${got.slice(0, 12)} for module ${hash.slice(0, 12)}: refused`);
  const manifestText = await (await get(`/v1/manifests/${hash}`)).text();
  return { wasm, manifestText, manifest: parseManifest(manifestText, `the repository's manifest of ${hash.slice(0, 12)}`), sha256: hash, origin: base };
}

/** The newest version of library NAME within RANGE from a module repository (hash-verified). */
export async function libraryFromRepository(url: string, name: string, range: string): Promise<ModuleCopy> {
  const base = url.replace(/\/+$/, "");
  let fetched;
  try {
    fetched = await new RepositoryClient(base).fetchModule(name, range);
  } catch (err) {
    throw new ModuleSourceError(`library ${name}@${range} from ${base}: ${(err as Error).message}`);
  }
  const manifestText = JSON.stringify(fetched.manifest);
  return { wasm: fetched.wasm, manifestText, manifest: parseManifest(manifestText, `the repository's manifest of ${name}@${fetched.version}`), sha256: fetched.sha256, origin: base };
}
