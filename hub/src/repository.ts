/**
 * The module repository's store: content-addressed blobs (sha256) plus a name@version index.
 *
 * Layout of the directory:
 *   blobs/<sha256>.wasm       module bytes, named by their hash
 *   manifests/<sha256>.json   the manifest `liquid build` wrote for those bytes
 *   index.json                { "format": 1, "modules": { NAME: { VERSION: { sha256, size, published } } } }
 *   tmp/                      files being written
 *
 * Every write goes to tmp/, is fsynced, then renamed into place, and the index is replaced
 * last; so a crash in the middle of a publish leaves either the old index or the new one, never
 * a torn file. Blobs the index does not name (a publish cut before its index update) are
 * harmless and removed by `collectGarbage`. Versions are immutable: republishing a version
 * with other bytes is refused.
 */
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { maxSatisfying, parseRange, parseVersion, RangeError as VersionRangeError } from "./semver.js";
import { sha256Hex } from "../../compiler/src/protocol/sha256.js";

export { sha256Hex };

export interface ModuleManifest {
  name: string;
  version: string;
  sha256: string;
  size: number;
  [key: string]: unknown;
}

export interface IndexEntry {
  sha256: string;
  size: number;
  published: string;
}

export interface ResolvedModule {
  name: string;
  version: string;
  sha256: string;
  size: number;
  manifest: ModuleManifest;
}

interface IndexFile {
  format: 1;
  modules: Record<string, Record<string, IndexEntry>>;
}

/** A request the repository refuses; `status` is the HTTP status the server answers with. */
export class RepositoryError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const HASH_RE = /^[0-9a-f]{64}$/;

async function writeDurably(dir: string, tmpDir: string, name: string, data: Uint8Array | string): Promise<void> {
  const tmp = join(tmpDir, `${name}.${process.pid}.${Date.now()}.${Math.random().toString(16).slice(2)}`);
  const handle = await fs.open(tmp, "w");
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, join(dir, name));
  const d = await fs.open(dir, "r");
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

export class ModuleRepository {
  private index: IndexFile = { format: 1, modules: {} };
  /** Publishes are serialised so two at once cannot lose each other's index update. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(readonly dir: string) {}

  /** Opens (creating if needed) the repository in `dir`. */
  static async open(dir: string): Promise<ModuleRepository> {
    const repo = new ModuleRepository(dir);
    for (const sub of ["blobs", "manifests", "tmp"]) await fs.mkdir(join(dir, sub), { recursive: true });
    // Leftovers of writes cut by a crash.
    for (const f of await fs.readdir(join(dir, "tmp"))) await fs.rm(join(dir, "tmp", f), { force: true });
    try {
      const text = await fs.readFile(join(dir, "index.json"), "utf8");
      const parsed = JSON.parse(text) as IndexFile;
      if (parsed.format !== 1 || typeof parsed.modules !== "object") throw new Error("unknown index format");
      repo.index = parsed;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        throw new RepositoryError(`cannot read ${join(dir, "index.json")}: ${(err as Error).message}`, 500);
      }
    }
    return repo;
  }

  /** Every module name with its versions, sorted. */
  list(): { name: string; versions: string[] }[] {
    return Object.keys(this.index.modules)
      .sort()
      .map((name) => ({ name, versions: Object.keys(this.index.modules[name]!).sort() }));
  }

  versions(name: string): Record<string, IndexEntry> | undefined {
    return this.index.modules[name];
  }

  /** The highest version of `name` matching `range`. */
  async resolve(name: string, range: string): Promise<ResolvedModule> {
    const versions = this.index.modules[name];
    if (!versions) throw new RepositoryError(`no module named '${name}' in the repository`, 404);
    let version: string | null;
    try {
      version = maxSatisfying(Object.keys(versions), parseRange(range));
    } catch (err) {
      if (err instanceof VersionRangeError) throw new RepositoryError(err.message, 400);
      throw err;
    }
    if (!version) {
      throw new RepositoryError(`no version of '${name}' matches '${range}' (available: ${Object.keys(versions).sort().join(", ")})`, 404);
    }
    const entry = versions[version]!;
    return { name, version, sha256: entry.sha256, size: entry.size, manifest: await this.manifest(entry.sha256) };
  }

  async blob(sha256: string): Promise<Uint8Array> {
    if (!HASH_RE.test(sha256)) throw new RepositoryError(`'${sha256}' is not a sha256 in hex`, 400);
    try {
      return new Uint8Array(await fs.readFile(join(this.dir, "blobs", `${sha256}.wasm`)));
    } catch {
      throw new RepositoryError(`no module with sha256 ${sha256}`, 404);
    }
  }

  async manifest(sha256: string): Promise<ModuleManifest> {
    if (!HASH_RE.test(sha256)) throw new RepositoryError(`'${sha256}' is not a sha256 in hex`, 400);
    try {
      return JSON.parse(await fs.readFile(join(this.dir, "manifests", `${sha256}.json`), "utf8")) as ModuleManifest;
    } catch {
      throw new RepositoryError(`no manifest for sha256 ${sha256}`, 404);
    }
  }

  /** Adds a built module. Idempotent for the same bytes; refuses a version reused for other bytes. */
  publish(wasm: Uint8Array, manifest: ModuleManifest): Promise<ResolvedModule> {
    const run = this.queue.then(() => this.publishNow(wasm, manifest));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async publishNow(wasm: Uint8Array, manifest: ModuleManifest): Promise<ResolvedModule> {
    if (typeof manifest !== "object" || manifest === null) throw new RepositoryError("the manifest must be a JSON object");
    const { name, version } = manifest;
    if (typeof name !== "string" || !NAME_RE.test(name)) {
      throw new RepositoryError(`invalid module name ${JSON.stringify(name)}: use lower-case letters, digits, '.', '_' and '-' (at most 64)`);
    }
    if (typeof version !== "string" || !parseVersion(version)) throw new RepositoryError(`invalid version ${JSON.stringify(version)} for '${name}': expected x.y.z`);
    const sha256 = sha256Hex(wasm);
    if (manifest.sha256 !== sha256) {
      throw new RepositoryError(`the manifest of ${name}@${version} says sha256 ${manifest.sha256} but the module's bytes hash to ${sha256}: rebuild it`);
    }
    if (manifest.size !== wasm.length) throw new RepositoryError(`the manifest of ${name}@${version} says ${manifest.size} bytes but the module has ${wasm.length}`);
    if (!WebAssembly.validate(wasm as Uint8Array<ArrayBuffer>)) throw new RepositoryError(`${name}@${version} is not a valid WebAssembly module`);

    const existing = this.index.modules[name]?.[version];
    if (existing) {
      if (existing.sha256 === sha256) return { name, version, sha256, size: wasm.length, manifest: await this.manifest(sha256) };
      throw new RepositoryError(`${name}@${version} is already published with other content (sha256 ${existing.sha256}); publish a new version`, 409);
    }
    const tmp = join(this.dir, "tmp");
    await writeDurably(join(this.dir, "blobs"), tmp, `${sha256}.wasm`, wasm);
    await writeDurably(join(this.dir, "manifests"), tmp, `${sha256}.json`, JSON.stringify(manifest, null, 2) + "\n");
    const next: IndexFile = JSON.parse(JSON.stringify(this.index)) as IndexFile;
    (next.modules[name] ??= {})[version] = { sha256, size: wasm.length, published: new Date().toISOString() };
    await writeDurably(this.dir, tmp, "index.json", JSON.stringify(next, null, 2) + "\n");
    this.index = next;
    return { name, version, sha256, size: wasm.length, manifest };
  }

  /** Removes blobs and manifests no index entry names; returns how many files were removed. */
  async collectGarbage(): Promise<number> {
    const live = new Set(Object.values(this.index.modules).flatMap((vs) => Object.values(vs).map((e) => e.sha256)));
    let removed = 0;
    for (const [sub, ext] of [["blobs", ".wasm"], ["manifests", ".json"]] as const) {
      for (const f of await fs.readdir(join(this.dir, sub))) {
        if (!live.has(f.slice(0, -ext.length))) {
          await fs.rm(join(this.dir, sub, f), { force: true });
          removed++;
        }
      }
    }
    return removed;
  }

  /** Checks every indexed blob against its hash; returns a message per damaged or missing module. */
  async verify(): Promise<string[]> {
    const problems: string[] = [];
    for (const [name, versions] of Object.entries(this.index.modules)) {
      for (const [version, entry] of Object.entries(versions)) {
        try {
          const got = sha256Hex(await fs.readFile(join(this.dir, "blobs", `${entry.sha256}.wasm`)));
          if (got !== entry.sha256) problems.push(`${name}@${version}: blob hashes to ${got}, expected ${entry.sha256} (tampered or damaged)`);
        } catch {
          problems.push(`${name}@${version}: blob ${entry.sha256} is missing`);
        }
      }
    }
    return problems;
  }
}
