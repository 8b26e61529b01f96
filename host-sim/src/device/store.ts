import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** One installed module of a simulated device. */
export interface StoredModule {
  name: string;
  version: string;
  sha256: string;
  wasm: Uint8Array;
  /** The manifest text as uploaded (liquid build's APP.manifest.json). */
  manifest: string;
  autostart: boolean;
}

/**
 * Where a simulated device keeps its modules. `MemoryStore` forgets everything with the
 * process; `DirectoryStore` survives a restart (liquid emulate --board sim-devkit --flash DIR).
 * Both commit a module in one step, so a crash mid-write never leaves half a module.
 */
export interface ModuleStore {
  readonly capacity: number;
  used(): number;
  list(): StoredModule[];
  get(name: string): StoredModule | undefined;
  put(module: StoredModule): void;
  setAutostart(name: string, on: boolean): void;
  remove(name: string): void;
  clear(): void;
}

export class MemoryStore implements ModuleStore {
  private modules = new Map<string, StoredModule>();
  constructor(readonly capacity = 512 * 1024) {}

  used(): number {
    let n = 0;
    for (const m of this.modules.values()) n += m.wasm.length + m.manifest.length;
    return n;
  }
  list(): StoredModule[] {
    return [...this.modules.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
  get(name: string): StoredModule | undefined {
    return this.modules.get(name);
  }
  put(module: StoredModule): void {
    this.modules.set(module.name, module);
  }
  setAutostart(name: string, on: boolean): void {
    const m = this.modules.get(name);
    if (m) m.autostart = on;
  }
  remove(name: string): void {
    this.modules.delete(name);
  }
  clear(): void {
    this.modules.clear();
  }
}

interface MetaFile {
  name: string;
  version: string;
  sha256: string;
  autostart: boolean;
  manifest: string;
  /** The module's file in the directory (named by its hash, so a new version never overwrites the old). */
  file: string;
}

/**
 * NAME.meta.json per module, pointing at the module file NAME.SHA12.wasm. A put writes the new
 * module file, then replaces the meta file in one rename, then deletes the old module file: a
 * crash at any point leaves either the old or the new version complete, never a mix.
 */
export class DirectoryStore implements ModuleStore {
  constructor(
    readonly dir: string,
    readonly capacity = 512 * 1024,
  ) {
    mkdirSync(dir, { recursive: true });
    this.sweep();
  }

  used(): number {
    let n = 0;
    for (const m of this.metas()) {
      n += m.manifest.length;
      try {
        n += statSync(join(this.dir, m.file)).size;
      } catch {
        // a meta without its module is not listed (see get)
      }
    }
    return n;
  }
  list(): StoredModule[] {
    return this.metas()
      .map((m) => this.get(m.name))
      .filter((m): m is StoredModule => m !== undefined)
      .sort((a, b) => a.name.localeCompare(b.name));
  }
  get(name: string): StoredModule | undefined {
    const meta = this.meta(name);
    if (!meta) return undefined;
    try {
      const wasm = new Uint8Array(readFileSync(join(this.dir, meta.file)));
      return { name: meta.name, version: meta.version, sha256: meta.sha256, autostart: meta.autostart, manifest: meta.manifest, wasm };
    } catch {
      return undefined;
    }
  }
  put(module: StoredModule): void {
    const old = this.meta(module.name);
    const file = `${safe(module.name)}.${module.sha256.slice(0, 12)}.wasm`;
    writeAtomic(join(this.dir, file), module.wasm);
    const meta: MetaFile = { name: module.name, version: module.version, sha256: module.sha256, autostart: module.autostart, manifest: module.manifest, file };
    writeAtomic(this.metaPath(module.name), JSON.stringify(meta));
    if (old && old.file !== file) rmSync(join(this.dir, old.file), { force: true });
  }
  setAutostart(name: string, on: boolean): void {
    const meta = this.meta(name);
    if (meta) writeAtomic(this.metaPath(name), JSON.stringify({ ...meta, autostart: on }));
  }
  remove(name: string): void {
    const meta = this.meta(name);
    rmSync(this.metaPath(name), { force: true });
    if (meta) rmSync(join(this.dir, meta.file), { force: true });
  }
  clear(): void {
    for (const m of this.metas()) this.remove(m.name);
    this.sweep();
  }
  private metaPath(name: string): string {
    return join(this.dir, `${safe(name)}.meta.json`);
  }
  private meta(name: string): MetaFile | undefined {
    try {
      const m = JSON.parse(readFileSync(this.metaPath(name), "utf8")) as MetaFile;
      return typeof m.file === "string" ? m : undefined;
    } catch {
      return undefined;
    }
  }
  private metas(): MetaFile[] {
    return readdirSync(this.dir)
      .filter((f) => f.endsWith(".meta.json"))
      .map((f) => this.meta(f.slice(0, -".meta.json".length)))
      .filter((m): m is MetaFile => m !== undefined);
  }
  /** Drops what an interrupted put left behind: temp files and module files no meta names. */
  private sweep(): void {
    const referenced = new Set(this.metas().map((m) => m.file));
    for (const f of readdirSync(this.dir)) {
      if (f.endsWith(".tmp") || (f.endsWith(".wasm") && !referenced.has(f))) rmSync(join(this.dir, f), { force: true });
    }
  }
}

function safe(name: string): string {
  // '@' stays: a library's key NAME@MAJOR must not share a file with an app named NAME_MAJOR
  return name.replace(/[^A-Za-z0-9_.@-]/g, "_");
}

function writeAtomic(path: string, data: Uint8Array | string): void {
  writeFileSync(`${path}.tmp`, data);
  renameSync(`${path}.tmp`, path);
}
