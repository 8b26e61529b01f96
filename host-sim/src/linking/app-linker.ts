/**
 * The libraries of one running app. Every library import of the app (and of its libraries) is
 * bound to a trampoline; the first call through it resolves the library in the board's store,
 * checks it (exports and signatures the importer expects, capabilities the app holds),
 * instantiates it and links it — then the call proceeds. A failure traps the calling app with
 * a message naming the library. Because every call goes through the trampoline, a library can
 * be swapped for another version between two events (hot swap) or unloaded, and the next call
 * links again.
 *
 * Libraries are isolated: each has its own linear memory, scalar arguments pass by value, and
 * its HAL calls run with the importing app's grants and handles (a driver reads the bus the app
 * opened). One instance of a library serves the app and all of its libraries.
 */
import { parseRange, satisfies } from "../../../hub/src/semver.js";
import { createHalImports, E, HalTrap } from "../hal.js";
import type { AppHal } from "../app/app-hal.js";
import { METER_MODULE } from "../app/metering.js";
import { formatLibraryRef, type LibraryRef, parseLibraryRef } from "./library-ref.js";
import { MEMORY_BASE_IMPORT, type SharedDataRegion, SharedDataRegions, TABLE_BASE_IMPORT } from "./shared-data.js";
import { formatType, type FunctionType, type LibraryModule, LinkError, type LibraryStore } from "./library-store.js";

interface LinkedLibrary {
  lib: LibraryModule;
  instance: WebAssembly.Instance;
  memory: WebAssembly.Memory;
}

/** What one importer expects of a library: its range and the functions with their types. */
interface Expectation {
  ref: LibraryRef;
  importer: string;
  functions: Map<string, FunctionType>;
}

export interface LoadedLibraryInfo {
  name: string;
  version: string;
  sha256: string;
  /** Module bytes plus the linear memory its instance holds. */
  codeBytes: number;
  memoryBytes: number;
}

/** Trampoline calls nested in one another (a library calling a library ...): the C runtime's
 * LQ_LINKER_DEPTH_MAX on posix (3 on the MCU ports). */
export const LIBRARY_CALL_DEPTH_MAX = 4;

export class AppLinker {
  private readonly linked = new Map<string, LinkedLibrary>();
  /** Libraries whose trampoline call is running now, outermost first. */
  private readonly running = new Set<string>();
  private readonly expectations = new Map<string, Expectation[]>();
  private readonly linking = new Set<string>();
  /** Explicit API handles: module handle -> library name; function handle -> its export. */
  private readonly handles = new Map<number, string>();
  private readonly fnHandles = new Map<number, { module: number; name: string; instance: WebAssembly.Instance; fn: (a: number, b: number) => number }>();
  private nextHandle = 0;
  /** Where shared libraries' static data lies in the app's memory. */
  private readonly sharedData = new SharedDataRegions();
  /** The table slots each shared library's latest instance took in the app's table. */
  private readonly tableSlots = new Map<string, { base: number; size: number }>();

  constructor(
    private readonly appName: string,
    private readonly capabilities: readonly string[],
    private readonly store: LibraryStore,
    private readonly hal: AppHal,
    /** The app's fuel meter: time in a library counts against the calling app's budget. */
    private readonly meter: WebAssembly.ModuleImports,
    /** The app's linear memory, which shared-everything libraries use as theirs. */
    private readonly appMemory: () => WebAssembly.Memory | undefined = () => undefined,
    /** Called after a library was linked (for the simulator's event log). */
    private readonly onLink: (lib: LibraryModule, how: "linked" | "swapped" | "unloaded") => void = () => {},
    /** The app's heap pointer (manifest "heapPointer"), from which shared libraries' data is taken. */
    private readonly appHeapPointer: () => WebAssembly.Global | undefined = () => undefined,
    /** The app's exports: its "table" and allocator ("__lq_alloc" ...), which shared libraries use (ABI v2). */
    private readonly appExports: () => WebAssembly.Exports | undefined = () => undefined,
  ) {}

  /**
   * Import object entries for the library imports among `imports` (an app's or a library's),
   * each a trampoline that links on first call. `importer` names the module in messages.
   */
  importsFor(importer: string, imports: readonly { module: string; name: string; params: string[]; results: string[] }[]): WebAssembly.Imports {
    const out: WebAssembly.Imports = {};
    for (const imp of imports) {
      const ref = parseLibraryRef(imp.module);
      if (!ref) continue;
      let list = this.expectations.get(ref.name);
      if (!list) this.expectations.set(ref.name, (list = []));
      let exp = list.find((e) => e.importer === importer && e.ref.range === ref.range);
      if (!exp) list.push((exp = { ref, importer, functions: new Map() }));
      exp.functions.set(imp.name, { params: imp.params, results: imp.results });
      const name = imp.name;
      const target = (out[imp.module] ??= {}) as Record<string, WebAssembly.ImportValue>;
      target[name] = (...args: unknown[]) => {
        const fn = this.ensure(ref).instance.exports[name] as (...a: unknown[]) => unknown;
        // As on the C engine, which runs one call per instance at a time: V8 would run these.
        if (this.running.has(ref.name))
          throw new HalTrap(`library ${formatLibraryRef(ref)}: call of ${name} while the library is already running further up this call (re-entrant library calls are not supported)`);
        if (this.running.size >= LIBRARY_CALL_DEPTH_MAX)
          throw new HalTrap(`library ${formatLibraryRef(ref)}: calls through libraries nested more than ${LIBRARY_CALL_DEPTH_MAX} deep`);
        this.running.add(ref.name);
        try {
          return fn(...args);
        } finally {
          this.running.delete(ref.name);
        }
      };
    }
    return out;
  }

  /** The linked instance of `ref.name`, linking it now if needed (traps the app on failure). */
  private ensure(ref: LibraryRef): LinkedLibrary {
    const have = this.linked.get(ref.name);
    if (have) return have;
    try {
      const lib = this.store.resolve(ref.name, ref.range);
      const linked = this.instantiate(lib);
      this.onLink(lib, "linked");
      return linked;
    } catch (err) {
      if (err instanceof LinkError) throw new HalTrap(`cannot link ${formatLibraryRef(ref)} for app '${this.appName}': ${err.message}`);
      throw err;
    }
  }

  /** Every importer's expectation of library `name` that `lib` does not meet. */
  private problems(name: string, lib: LibraryModule): string[] {
    const out: string[] = [];
    for (const exp of this.expectations.get(name) ?? []) {
      for (const [fn, want] of exp.functions) {
        const got = lib.exportTypes.get(fn);
        if (!got) out.push(`${exp.importer} imports ${fn} from it, which ${lib.name}@${lib.version} does not export`);
        else if (formatType(got) !== formatType(want)) {
          out.push(`${exp.importer} imports ${fn} as ${formatType(want)}, ${lib.name}@${lib.version} exports ${formatType(got)}`);
        }
      }
    }
    const missing = lib.capabilities.filter((c) => !this.capabilities.includes(c));
    if (missing.length) out.push(`it needs the capabilities [${missing.join(", ")}], which app '${this.appName}' is not granted`);
    return out;
  }

  private instantiate(lib: LibraryModule): LinkedLibrary {
    if (this.linking.has(lib.name)) throw new LinkError(`library ${lib.name} imports itself through a cycle of libraries`);
    const problems = this.problems(lib.name, lib);
    if (problems.length) throw new LinkError(`${lib.name}@${lib.version} does not fit: ${problems.join("; ")}`);
    this.linking.add(lib.name);
    try {
      let memory: WebAssembly.Memory | undefined = lib.shared ? this.appMemory() : undefined;
      if (lib.shared && !memory) throw new LinkError(`${lib.name}@${lib.version} shares the app's memory, which does not exist yet`);
      const imports: WebAssembly.Imports = {
        ...(lib.shared ? { env: { memory: memory!, ...this.sharedAllocatorImports(lib), ...this.sharedTableImports(lib), ...this.sharedDataImport(lib, memory!) } } : {}),
        ...createHalImports(this.hal, () => {
          if (!memory) throw new HalTrap(`library ${lib.name} called the HAL while being instantiated`);
          return memory;
        }),
        ...this.importsFor(`library ${lib.name}@${lib.version}`, lib.imports),
        [METER_MODULE]: this.meter,
      };
      let instance: WebAssembly.Instance;
      try {
        instance = new WebAssembly.Instance(lib.metered, imports);
      } catch (err) {
        if (err instanceof WebAssembly.LinkError || err instanceof WebAssembly.RuntimeError) {
          throw new LinkError(`${lib.name}@${lib.version} failed to instantiate: ${err.message.replace(/^WebAssembly\.Instance\(\): /, "")}`);
        }
        throw err;
      }
      memory = lib.shared ? memory! : (instance.exports.memory as WebAssembly.Memory);
      const linked = { lib, instance, memory };
      this.linked.set(lib.name, linked);
      return linked;
    } finally {
      this.linking.delete(lib.name);
    }
  }

  /** env.__memory_base for a shared library with static data: the region reserved for it. */
  private sharedDataImport(lib: LibraryModule, memory: WebAssembly.Memory): Record<string, WebAssembly.Global> {
    if (!lib.sharedDataSize) return {};
    const address = this.sharedData.reserve(lib.name, lib.sharedDataSize, memory, this.appHeapPointer());
    return { [MEMORY_BASE_IMPORT]: new WebAssembly.Global({ value: "i32", mutable: false }, address) };
  }

  /**
   * env.table and env.__table_base: the app's exported table, grown by the library's slots
   * (null until its element segment fills them at instantiation), and where they start. Slots
   * are never given back while the app runs: a re-link or a swap appends new ones.
   */
  private sharedTableImports(lib: LibraryModule): Record<string, WebAssembly.Table | WebAssembly.Global> {
    if (!lib.sharedTable) return {};
    const table = this.appExports()?.table;
    if (!(table instanceof WebAssembly.Table)) {
      throw new LinkError(`${lib.name}@${lib.version} needs the app's function table, which app '${this.appName}' does not export (rebuild the app with this version of liquid build)`);
    }
    if (!lib.sharedTableSize) return { table };
    let base: number;
    try {
      base = table.grow(lib.sharedTableSize, null);
    } catch (err) {
      if (err instanceof RangeError) throw new LinkError(`${lib.name}@${lib.version} needs ${lib.sharedTableSize} slots in app '${this.appName}''s function table, which cannot grow (${err.message})`);
      throw err;
    }
    this.tableSlots.set(lib.name, { base, size: lib.sharedTableSize });
    return { table, [TABLE_BASE_IMPORT]: new WebAssembly.Global({ value: "i32", mutable: false }, base) };
  }

  /** env.__lq_alloc ...: the app's own allocator functions, so the library allocates in its heap. */
  private sharedAllocatorImports(lib: LibraryModule): Record<string, WebAssembly.ExportValue> {
    const out: Record<string, WebAssembly.ExportValue> = {};
    const exports = this.appExports();
    for (const name of lib.allocatorImports) {
      const fn = exports?.[name];
      if (typeof fn !== "function") {
        throw new LinkError(`${lib.name}@${lib.version} allocates with the app's allocator, which app '${this.appName}' does not share (it exports no ${name}; rebuild the app with this version of liquid build)`);
      }
      out[name] = fn;
    }
    return out;
  }

  /**
   * A dropped instance's slots stay the app's but are emptied (as on the C runtime), so a
   * function reference the app kept traps instead of calling into the old instance.
   */
  private emptySlots(slots: { base: number; size: number }): void {
    const table = this.appExports()?.table;
    if (!(table instanceof WebAssembly.Table)) return;
    for (let i = 0; i < slots.size; i++) table.set(slots.base + i, null);
  }

  /** The slots of the app's table that library `name`'s latest instance took (ABI v2). */
  tableSlotsOf(name: string): { base: number; size: number } | undefined {
    return this.tableSlots.get(name);
  }

  /**
   * The linked shared libraries whose functions sit in the app's table: a snapshot cannot carry
   * them (they belong to another instance), so the app cannot be snapshotted while they are linked.
   */
  librariesInTable(): string[] {
    return [...this.linked.values()].filter((l) => l.lib.sharedTableSize > 0).map((l) => l.lib.name);
  }

  /** Where library `name`'s static data lies in the app's memory (shared libraries only). */
  sharedDataRegion(name: string): SharedDataRegion | undefined {
    return this.sharedData.get(name);
  }

  /**
   * Hot swap: replaces library `name` with `lib` (another version from the store) between two
   * events; the next call goes to the new instance. The new version must satisfy every
   * importer's range and signatures; otherwise nothing changes and LinkError says why. The old
   * instance's memory (its state) is dropped: a library that must carry state across versions
   * keeps it in the app's memory (shared-everything, docs/linking.md).
   */
  swap(lib: LibraryModule): void {
    const exps = this.expectations.get(lib.name);
    if (!exps?.length) throw new LinkError(`app '${this.appName}' does not import library ${lib.name}`);
    const outside = exps.filter((e) => !satisfiesRange(lib.version, e.ref.range));
    if (outside.length) {
      throw new LinkError(`cannot swap in ${lib.name}@${lib.version}: ${outside.map((e) => `${e.importer} asks for ${formatLibraryRef(e.ref)}`).join("; ")}`);
    }
    const old = this.linked.get(lib.name);
    const oldSlots = this.tableSlots.get(lib.name);
    this.linked.delete(lib.name);
    try {
      this.instantiate(lib);
    } catch (err) {
      if (old) this.linked.set(lib.name, old);
      if (oldSlots) this.tableSlots.set(lib.name, oldSlots);
      throw err;
    }
    if (old && oldSlots) this.emptySlots(oldSlots);
    this.onLink(lib, "swapped");
  }

  /** Drops the instance of `name` (its memory becomes garbage); the next call links it again. */
  unload(name: string): boolean {
    const had = this.linked.get(name);
    if (!had) return false;
    this.linked.delete(name);
    const slots = this.tableSlots.get(name);
    if (slots) this.emptySlots(slots);
    this.tableSlots.delete(name);
    this.onLink(had.lib, "unloaded");
    return true;
  }

  // ---- the explicit API (module.load / lookup / call / unload): errors are values ----

  explicitLoad(name: string, range: string): number {
    let lib: LibraryModule;
    if (!validRange(range) || !/^[a-z0-9][a-z0-9._-]{0,63}$/.test(name)) return E.EINVAL;
    try {
      lib = this.store.resolve(name, range);
    } catch (err) {
      if (!(err instanceof LinkError)) throw err;
      return E.ENOENT; // the simulator fetches before the run (liquid sim --repo): nothing to wait for
    }
    if (!this.linked.has(name)) {
      try {
        this.instantiate(lib);
        this.onLink(lib, "linked");
      } catch (err) {
        if (!(err instanceof LinkError)) throw err;
        this.hal.log_write(2, new TextEncoder().encode(`module.load: ${err.message}`));
        return E.EINVAL;
      }
    }
    const handle = this.nextHandle++;
    this.handles.set(handle, name);
    return handle;
  }

  explicitLookup(module: number, fnName: string): number {
    const name = this.handles.get(module);
    const linked = name === undefined ? undefined : this.linked.get(name);
    if (!linked) return E.EINVAL;
    const type = linked.lib.exportTypes.get(fnName);
    if (!type) return E.ENOENT;
    if (formatType(type) !== "(i32, i32) -> i32") return E.EINVAL;
    const handle = this.nextHandle++;
    this.fnHandles.set(handle, { module, name: name!, instance: linked.instance, fn: linked.instance.exports[fnName] as (a: number, b: number) => number });
    return handle;
  }

  explicitCall(fn: number, a: number, b: number, out: Uint8Array): number {
    const h = this.fnHandles.get(fn);
    // a handle dies with its module handle, and with the instance it was looked up in (swap)
    if (!h || !this.handles.has(h.module) || this.linked.get(h.name)?.instance !== h.instance) return E.EINVAL;
    if (out.length < 4) return E.ENOSPC;
    let value: number;
    try {
      value = h.fn(a, b);
    } catch (err) {
      if (!(err instanceof WebAssembly.RuntimeError) && !(err instanceof HalTrap)) throw err; // the watchdog stops the app
      this.hal.log_write(2, new TextEncoder().encode(`module.call into ${h.name}: ${err.message}`));
      return E.EIO;
    }
    new DataView(out.buffer, out.byteOffset, 4).setInt32(0, value, true);
    return E.OK;
  }

  explicitUnload(module: number): number {
    const name = this.handles.get(module);
    if (name === undefined) return E.EINVAL;
    this.handles.delete(module);
    for (const [k, h] of this.fnHandles) if (h.module === module) this.fnHandles.delete(k);
    const stillUsed = [...this.handles.values()].includes(name) || (this.expectations.get(name)?.length ?? 0) > 0;
    if (!stillUsed) this.unload(name);
    return E.OK;
  }

  loaded(): LoadedLibraryInfo[] {
    return [...this.linked.values()].map((l) => ({
      name: l.lib.name,
      version: l.lib.version,
      sha256: l.lib.sha256,
      codeBytes: l.lib.wasm.length,
      memoryBytes: l.lib.shared ? 0 : l.memory.buffer.byteLength, // a shared library adds no memory
    }));
  }

  /** Every library an importer named, with the range it asked for. */
  references(): LibraryRef[] {
    return [...this.expectations.values()].flatMap((l) => l.map((e) => e.ref));
  }
}


function validRange(range: string): boolean {
  try {
    parseRange(range);
    return true;
  } catch {
    return false;
  }
}

function satisfiesRange(version: string, range: string): boolean {
  try {
    return satisfies(version, range);
  } catch {
    return false;
  }
}
