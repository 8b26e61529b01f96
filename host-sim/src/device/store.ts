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
}

/** NAME.wasm + NAME.meta.json per module in a directory; each file written to a temp name, then renamed. */
export class DirectoryStore implements ModuleStore {
  constructor(
    readonly dir: string,
    readonly capacity = 512 * 1024,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  used(): number {
    let n = 0;
    for (const f of readdirSync(this.dir)) if (!f.endsWith(".tmp")) n += statSync(join(this.dir, f)).size;
    return n;
  }
  list(): StoredModule[] {
    const out: StoredModule[] = [];
    for (const f of readdirSync(this.dir).sort()) {
      if (!f.endsWith(".meta.json")) continue;
      const m = this.get(f.slice(0, -".meta.json".length));
      if (m) out.push(m);
    }
    return out;
  }
  get(name: string): StoredModule | undefined {
    try {
      const meta = JSON.parse(readFileSync(this.metaPath(name), "utf8")) as MetaFile;
      const wasm = new Uint8Array(readFileSync(join(this.dir, `${safe(name)}.wasm`)));
      return { ...meta, wasm };
    } catch {
      return undefined;
    }
  }
  put(module: StoredModule): void {
    const base = join(this.dir, safe(module.name));
    writeAtomic(`${base}.wasm`, module.wasm);
    const meta: MetaFile = { name: module.name, version: module.version, sha256: module.sha256, autostart: module.autostart, manifest: module.manifest };
    // The meta file is written last: a module without it does not exist.
    writeAtomic(this.metaPath(module.name), JSON.stringify(meta));
  }
  setAutostart(name: string, on: boolean): void {
    const m = this.get(name);
    if (m) this.put({ ...m, autostart: on });
  }
  remove(name: string): void {
    rmSync(this.metaPath(name), { force: true });
    rmSync(join(this.dir, `${safe(name)}.wasm`), { force: true });
  }
  clear(): void {
    for (const m of this.list()) this.remove(m.name);
  }
  private metaPath(name: string): string {
    return join(this.dir, `${safe(name)}.meta.json`);
  }
}

function safe(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, "_");
}

function writeAtomic(path: string, data: Uint8Array | string): void {
  writeFileSync(`${path}.tmp`, data);
  renameSync(`${path}.tmp`, path);
}
