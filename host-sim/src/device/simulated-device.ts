import { sha256, toHex } from "../../../compiler/src/protocol/sha256.js";
import type { AppEntry, AppManifest, AppStateEvent, AppStateName, CapabilityDocument, LogLevel, LogRecord } from "../../../compiler/src/protocol/types.js";
import { fault } from "./fault.js";
import type { Peer } from "./protocol-server.js";
import type { BoardRuntime, RunningApp } from "./runtime.js";
import { MemoryStore, type ModuleStore } from "./store.js";

export interface SimulatedDeviceOptions {
  id?: string;
  store?: ModuleStore;
  /** Log records kept for LOGS; older ones are dropped. */
  logCapacity?: number;
  firmwareVersion?: string;
}

interface Upload {
  hash: string;
  name: string;
  size: number;
  manifest: string;
  data: Uint8Array<ArrayBuffer>;
  received: number;
  owner: Peer;
}

interface Restore {
  name: string;
  size: number;
  hash: string;
  data: Uint8Array;
  received: number;
  owner: Peer;
}

interface AppRuntimeState {
  state: AppStateName;
  error?: string;
  running?: RunningApp;
  /** A snapshot restored without starting: the next START resumes from it. */
  pendingRestore?: Uint8Array;
  /** The restore came from a migration: on_migrate_in runs first after START. */
  migrateIn?: boolean;
  /** start() held until the host answered the FETCHes the start caused (names still unanswered). */
  waiting?: { names: Set<string>; cancel: () => void; launch: () => void };
}

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/;
/** How long an app's start() waits for the host to answer the FETCHes it caused, in board time
 * (the firmware's LQ_LINKER_FETCH_WAIT_MS). */
export const FETCH_WAIT_MS = 3000;
const MAX_LOG_TEXT = 1024;
export const FIRMWARE_NAME = "liquid-sim";

/**
 * A device whose hardware is a simulator board: it keeps a module store, receives uploads,
 * runs apps on the board, and keeps a log, answering the device protocol through
 * ProtocolServer exactly as the firmware does.
 */
export class SimulatedDevice {
  readonly id: string;
  readonly store: ModuleStore;
  private apps = new Map<string, AppRuntimeState>();
  private log: LogRecord[] = [];
  private logSeq = 1;
  private readonly logCapacity: number;
  private upload: Upload | undefined;
  private restoreSession: Restore | undefined;
  private snapshots = new Map<string, { data: Uint8Array; hash: Uint8Array }>();
  private logListeners = new Set<(r: LogRecord) => void>();
  private stateListeners = new Set<(s: AppStateEvent) => void>();
  private fetchListeners = new Set<(name: string, range: string) => void>();
  /** FETCHes no host has answered yet (by NAME@RANGE): sent again to each host that says HELLO. */
  private unanswered = new Map<string, { name: string; range: string }>();
  private readonly firmwareVersion: string;

  constructor(
    readonly runtime: BoardRuntime,
    options: SimulatedDeviceOptions = {},
  ) {
    this.id = options.id ?? `sim-${Math.random().toString(16).slice(2, 6)}`;
    this.store = options.store ?? new MemoryStore();
    this.logCapacity = options.logCapacity ?? 1000;
    this.firmwareVersion = options.firmwareVersion ?? "0.1.0";
    runtime.listen({
      log: (level, app, msg) => this.record(level, app, msg),
      trapped: (app, message) => {
        const rt = this.apps.get(app);
        if (!rt || rt.state !== "running") return;
        rt.running = undefined;
        this.record("error", app, message);
        this.setState(app, rt, "trapped", message);
      },
    });
  }

  /** Brings the board's clock up to date before a request is served. */
  sync(): void {
    this.runtime.sync?.();
  }

  /** Boots the runtime: logs a banner and starts the autostart apps, as firmware does. */
  async boot(): Promise<void> {
    this.record("info", null, `${FIRMWARE_NAME} ${this.firmwareVersion} on ${this.runtime.board}, ${this.store.list().length} app(s) in store`);
    // Libraries kept in the store are linkable again after a reboot; all of them before the
    // first autostart app, which would otherwise ask a host for one listed after it.
    for (const m of this.store.list()) {
      this.apps.set(m.name, { state: "stopped" });
      try {
        const manifest = JSON.parse(m.manifest) as AppManifest & { kind?: string };
        if (manifest.kind === "library") this.runtime.addLibrary?.(m.wasm, manifest);
      } catch (err) {
        this.record("error", null, `library ${m.name} in the store is unusable: ${(err as Error).message}`);
      }
    }
    // A broken autostart app is logged and left trapped; the device still boots.
    for (const m of this.store.list()) if (m.autostart) await this.start(m.name).catch(() => undefined);
  }

  onLog(listener: (r: LogRecord) => void): () => void {
    this.logListeners.add(listener);
    return () => this.logListeners.delete(listener);
  }

  /** FETCH events: an app being started imports library NAME@RANGE the board lacks (docs/protocol.md). */
  onFetch(listener: (name: string, range: string) => void): () => void {
    this.fetchListeners.add(listener);
    return () => this.fetchListeners.delete(listener);
  }

  /** The FETCHes no host has answered yet, for a host that just said HELLO. */
  unansweredFetches(): { name: string; range: string }[] {
    return [...this.unanswered.values()];
  }

  /** The host's FETCH request: it could not fetch NAME@RANGE. */
  fetchFailed(name: string, range: string, reason: string): void {
    this.runtime.fetchFailed?.(name, range, reason);
    this.record("warn", null, `library ${name}@${range} could not be fetched: ${reason}`);
    this.fetchAnswered(name);
  }

  onAppState(listener: (s: AppStateEvent) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  hello(): { firmware: string; version: string; id: string } {
    return { firmware: FIRMWARE_NAME, version: this.firmwareVersion, id: this.id };
  }

  info(): CapabilityDocument {
    const hw = this.runtime.hardware();
    const used = this.store.used();
    return {
      protocol: 1,
      firmware: FIRMWARE_NAME,
      version: this.firmwareVersion,
      id: this.id,
      board: this.runtime.board,
      arch: "wasm-v8",
      engine: `v8 ${process.versions.v8}`,
      memory: { ram: hw.ram, appMax: hw.appMax },
      store: { total: this.store.capacity, free: Math.max(0, this.store.capacity - used) },
      pins: hw.pins,
      buses: hw.buses,
      capabilities: this.runtime.capabilities(),
      apps: this.store.list().map((m) => m.name),
    };
  }

  list(): AppEntry[] {
    return this.store.list().map((m) => {
      const rt = this.apps.get(m.name) ?? { state: "stopped" as const };
      const entry: AppEntry = { name: m.name, version: m.version, sha256: m.sha256, size: m.wasm.length, state: rt.state, autostart: m.autostart };
      if (rt.error) entry.error = rt.error;
      if (isLibraryManifest(m.manifest)) entry.kind = "library";
      return entry;
    });
  }

  // ---- uploads ----

  putBegin(peer: Peer, sentName: string, size: number, hash: Uint8Array, manifest: string): number {
    // from here on (resume, store, answer) the upload goes by its store key
    const name = storeKey(sentName, manifest);
    const hex = toHex(hash);
    const u = this.upload;
    if (u && u.hash === hex && u.size === size) {
      // The same module again (a resume after a drop): keep what arrived, adopt the new peer.
      u.owner = peer;
      u.name = name;
      u.manifest = manifest;
      return u.received;
    }
    if (u && u.owner !== peer && u.owner.open) {
      throw fault.busy(`another upload ('${u.name}', ${u.received}/${u.size} bytes) is in progress on another connection`);
    }
    const existing = this.store.get(name);
    const free = this.store.capacity - this.store.used() + (existing ? existing.wasm.length + existing.manifest.length : 0);
    if (size + manifest.length > free) throw fault.noSpace(`module needs ${size + manifest.length} bytes, the store has ${free} free`);
    this.upload = { hash: hex, name, size, manifest, data: new Uint8Array(size), received: 0, owner: peer };
    return 0;
  }

  putChunk(peer: Peer, hash: Uint8Array, offset: number, data: Uint8Array): number {
    const u = this.upload;
    if (!u || u.hash !== toHex(hash)) throw fault.badRequest("no upload of this module in progress: send PUT_BEGIN first");
    u.owner = peer;
    if (offset < u.received) return u.received; // a duplicate: already written
    if (offset > u.received) throw fault.range(`chunk at offset ${offset}, expected ${u.received}`);
    if (offset + data.length > u.size) throw fault.range(`chunk ends at ${offset + data.length}, past the module size ${u.size}`);
    u.data.set(data, offset);
    u.received += data.length;
    return u.received;
  }

  async putEnd(hash: Uint8Array, flags: number): Promise<string> {
    const u = this.upload;
    const hex = toHex(hash);
    if (!u || u.hash !== hex) throw fault.badRequest("no upload of this module in progress: send PUT_BEGIN first");
    if (u.received !== u.size) throw fault.range(`upload incomplete: ${u.received} of ${u.size} bytes received`);
    const actual = toHex(sha256(u.data));
    this.upload = undefined;
    if (actual !== hex) throw fault.hash(`module sha256 is ${actual}, expected ${hex}: upload again`);
    if (!WebAssembly.validate(u.data)) throw fault.invalid(`'${u.name}' is not a valid WebAssembly module`);
    let manifest: AppManifest;
    try {
      manifest = JSON.parse(u.manifest) as AppManifest;
    } catch (err) {
      throw fault.invalid(`manifest of '${u.name}' is not JSON: ${(err as Error).message}`);
    }
    if (typeof manifest !== "object" || manifest === null || manifest.liquid !== 1) {
      throw fault.invalid(`manifest of '${u.name}' is not a Liquid manifest (expected "liquid": 1)`);
    }
    if ((manifest as { kind?: unknown }).kind === "library") {
      try {
        this.runtime.addLibrary?.(u.data, manifest);
      } catch (err) {
        throw fault.invalid(`library '${u.name}': ${(err as Error).message}`);
      }
    }
    const previous = this.apps.get(u.name);
    if (previous?.running || previous?.waiting) this.halt(u.name, "stopped");
    this.runtime.forget(u.name);
    const old = this.store.get(u.name);
    this.store.put({
      name: u.name,
      version: typeof manifest.version === "string" ? manifest.version : "0.0.0",
      sha256: hex,
      wasm: u.data,
      manifest: u.manifest,
      autostart: (flags & 2) !== 0 || (old?.autostart ?? false),
    });
    // a newer build of the same major replaces the older one on the board too
    if (old && old.version !== manifest.version && isLibraryManifest(old.manifest)) this.runtime.removeLibrary?.(libraryName(u.name), old.version);
    this.apps.set(u.name, { state: "stopped" });
    this.record("info", null, `installed ${u.name} (${u.size} bytes, sha256 ${hex.slice(0, 12)})`);
    if ((manifest as { kind?: unknown }).kind === "library") this.fetchAnswered(libraryName(u.name));
    if (flags & 1) await this.start(u.name);
    return u.name;
  }

  // ---- app lifecycle ----

  async start(name: string): Promise<void> {
    const m = this.store.get(name);
    if (!m) throw fault.notFound(name);
    const rt = this.apps.get(name) ?? { state: "stopped" as const };
    if (rt.state === "running") throw fault.exists(`app '${name}' is already running`);
    const manifest = JSON.parse(m.manifest) as AppManifest;
    const pending = rt.pendingRestore;
    const migrateIn = pending !== undefined && rt.migrateIn === true;
    const entry: AppRuntimeState = { state: "running" };
    this.apps.set(name, entry);
    this.record("info", null, pending ? `resuming ${name} from its restored snapshot` : `starting ${name}`);
    // Libraries it imports that the board lacks: ask the host (FETCH); they link at the first call.
    const missing = this.runtime.missingLibraries?.(m.wasm) ?? [];
    const asked = this.fetchListeners.size > 0;
    for (const ref of missing) {
      this.unanswered.set(`${ref.name}@${ref.range}`, { name: ref.name, range: ref.range });
      if (asked) this.record("info", null, `fetching library ${ref.name}@${ref.range} from the host`);
      else this.record("info", null, `library ${ref.name}@${ref.range} is not on this device: asking the next host that connects`);
      for (const l of [...this.fetchListeners]) l(ref.name, ref.range);
    }
    const launch = (): void => {
      const app = { name, wasm: m.wasm, manifest };
      const running = pending && this.runtime.restoreApp ? this.runtime.restoreApp(app, pending) : this.runtime.startApp(app);
      // A trap inside start() has already marked the app trapped through the listener.
      if (entry.state === "running") {
        entry.running = running;
        this.emitState({ name, state: "running" });
        // The first event after a migration restore: the app takes its hardware on this board.
        if (migrateIn) running.hook?.("on_migrate_in");
      }
    };
    const failed = (err: unknown): string => {
      const message = err instanceof Error ? err.message : String(err);
      this.record("error", name, `cannot start: ${message}`);
      this.setState(name, entry, "trapped", message);
      return message;
    };
    // Like the firmware, start() (not a restore: its libraries link on their first call) waits
    // until a host answered every FETCH it caused — a library installed under that name, or a
    // refusal; a host that connects meanwhile is asked on its HELLO — at most FETCH_WAIT_MS of
    // board time; START itself answers at once.
    if (missing.length && !pending && this.runtime.after) {
      const go = (): void => {
        if (entry.waiting !== waiting || this.apps.get(name) !== entry) return;
        entry.waiting.cancel();
        delete entry.waiting;
        try {
          launch();
        } catch (err) {
          failed(err);
        }
      };
      const waiting = { names: new Set(missing.map((r) => r.name)), cancel: this.runtime.after(FETCH_WAIT_MS, () => go()), launch: go };
      entry.waiting = waiting;
      return;
    }
    try {
      launch();
    } catch (err) {
      throw fault.invalid(`cannot start '${name}': ${failed(err)}`);
    }
  }

  /** The host answered the FETCH of library `name` (installed it, or could not fetch it). */
  private fetchAnswered(name: string): void {
    for (const [key, ref] of this.unanswered) if (ref.name === name) this.unanswered.delete(key);
    for (const rt of this.apps.values()) {
      if (!rt.waiting?.names.delete(name)) continue;
      if (rt.waiting.names.size === 0) rt.waiting.launch();
    }
  }

  stop(name: string): void {
    if (!this.store.get(name)) throw fault.notFound(name);
    const rt = this.apps.get(name);
    if (rt && rt.state !== "running" && rt.pendingRestore) {
      // Restored but never started (a rolled-back migration): drop that state, as the firmware
      // does, so that a later START starts afresh instead of resuming a stale copy.
      delete rt.pendingRestore;
      delete rt.migrateIn;
      this.record("info", null, `dropped the restored snapshot of ${name}`);
      this.emitState({ name, state: "stopped" });
      return;
    }
    if (!rt || rt.state !== "running") throw fault.exists(`app '${name}' is not running`);
    this.halt(name, "stopped");
  }

  remove(name: string): void {
    const m = this.store.get(name);
    if (!m) {
      // RM NAME of a library: every stored version (NAME@MAJOR), as the firmware does
      const versions = name.includes("@") ? [] : this.store.list().filter((v) => v.name.startsWith(`${name}@`));
      if (!versions.length) throw fault.notFound(name);
      for (const v of versions) this.remove(v.name);
      this.record("info", null, `removed every version of library ${name} (${versions.length})`);
      return;
    }
    // A library stops being linkable at once; apps that linked it keep their instance (firmware too).
    if (isLibraryManifest(m.manifest)) this.runtime.removeLibrary?.(libraryName(name), m.version);
    const rt = this.apps.get(name);
    if (rt?.running || rt?.waiting) this.halt(name, "stopped");
    this.runtime.forget(name);
    this.store.remove(name);
    this.apps.delete(name);
    this.record("info", null, `removed ${name}`);
    this.emitState({ name, state: "removed" });
  }

  setAutostart(name: string, on: boolean): void {
    if (!this.store.get(name)) throw fault.notFound(name);
    this.store.setAutostart(name, on);
  }

  async reset(factory: boolean): Promise<void> {
    for (const [name, rt] of this.apps) if (rt.running) this.halt(name, "stopped", false);
    this.apps.clear();
    this.upload = undefined;
    this.restoreSession = undefined;
    this.snapshots.clear();
    if (factory) this.store.clear();
    this.runtime.reboot();
    // Log sequence numbers keep counting across the reboot, so a follower resumes cleanly.
    this.record("warn", null, factory ? "factory reset: store erased" : "reboot");
    await this.boot();
  }

  // ---- logs ----

  logsFrom(from: number): LogRecord[] {
    return this.log.filter((r) => r.seq >= from);
  }

  // ---- snapshots ----

  /**
   * Freezes an app between two events. `migrating` (SNAPSHOT flag bit1) runs its on_migrate_out
   * hook first, to completion (simulated calls never suspend), so it can release hardware.
   */
  async snapshot(name: string, stopAfter: boolean, migrating = false): Promise<{ size: number; sha256: Uint8Array }> {
    if (!this.store.get(name)) throw fault.notFound(name);
    const rt = this.apps.get(name);
    if (!rt?.running) throw fault.exists(`app '${name}' is not running: only a running app can be snapshotted`);
    if (!rt.running.snapshot) throw fault.invalid("this simulated board cannot snapshot apps");
    // Refused before on_migrate_out runs, so the app keeps running untouched.
    const refusal = rt.running.snapshotRefusal?.();
    if (refusal) throw fault.invalid(refusal);
    if (migrating) {
      rt.running.hook?.("on_migrate_out");
      if (!rt.running) throw fault.exists(`app '${name}' trapped in on_migrate_out: ${rt.error ?? "trapped"}`);
    }
    let data: Uint8Array;
    try {
      data = rt.running.snapshot();
    } catch (err) {
      throw fault.invalid(`snapshot failed: ${(err as Error).message}`);
    }
    const hash = sha256(data);
    this.snapshots.set(name, { data, hash });
    this.record("info", null, `snapshot of '${name}': ${data.length} bytes`);
    if (stopAfter) this.halt(name, "stopped");
    return { size: data.length, sha256: hash };
  }

  snapshotRead(name: string, offset: number, max: number): Uint8Array {
    const s = this.snapshots.get(name);
    if (!s) throw fault.notFound(`${name} (no snapshot taken: send SNAPSHOT first)`);
    if (offset > s.data.length) throw fault.range(`offset ${offset} past the snapshot size ${s.data.length}`);
    return s.data.slice(offset, offset + max);
  }

  restoreBegin(peer: Peer, name: string, size: number, hash: Uint8Array): number {
    if (!this.store.get(name)) throw fault.notFound(`${name} (install the module before restoring its snapshot)`);
    const hex = toHex(hash);
    const r = this.restoreSession;
    if (r && r.hash === hex && r.name === name && r.size === size) {
      r.owner = peer;
      return r.received;
    }
    this.restoreSession = { name, size, hash: hex, data: new Uint8Array(size), received: 0, owner: peer };
    return 0;
  }

  restoreChunk(peer: Peer, offset: number, data: Uint8Array): number {
    const r = this.restoreSession;
    if (!r) throw fault.badRequest("no restore in progress: send RESTORE_BEGIN first");
    r.owner = peer;
    if (offset < r.received) return r.received;
    if (offset > r.received || offset + data.length > r.size) throw fault.range(`chunk at offset ${offset}, expected ${r.received}`);
    r.data.set(data, offset);
    r.received += data.length;
    return r.received;
  }

  async restoreEnd(_peer: Peer, start: boolean, migrating = false): Promise<void> {
    const r = this.restoreSession;
    if (!r) throw fault.badRequest("no restore in progress: send RESTORE_BEGIN first");
    this.restoreSession = undefined;
    if (r.received !== r.size) throw fault.range(`restore incomplete: ${r.received} of ${r.size} bytes`);
    if (toHex(sha256(r.data)) !== r.hash) throw fault.hash("snapshot sha256 mismatch: send it again");
    const m = this.store.get(r.name);
    if (!m) throw fault.notFound(`${r.name} (install the module before restoring its snapshot)`);
    if (this.apps.get(r.name)?.state === "running") throw fault.exists(`app '${r.name}' is running; stop it before restoring a snapshot`);
    if (!this.runtime.restoreApp || !this.runtime.checkSnapshot) throw fault.invalid("this simulated board cannot restore snapshots");
    try {
      this.runtime.checkSnapshot({ name: r.name, wasm: m.wasm }, r.data);
    } catch (err) {
      throw fault.invalid((err as Error).message);
    }
    this.apps.set(r.name, { state: "stopped", pendingRestore: r.data, migrateIn: migrating });
    this.record("info", null, `restored '${r.name}' from a ${r.size}-byte snapshot${start ? "" : " (paused until START)"}`);
    if (start) await this.start(r.name);
  }

  // ---- internals ----

  private halt(name: string, state: AppStateName, announce = true): void {
    const rt = this.apps.get(name);
    if (!rt) return;
    const running = rt.running;
    rt.running = undefined;
    rt.waiting?.cancel();
    delete rt.waiting;
    rt.state = state;
    delete rt.error;
    try {
      running?.stop();
    } catch {
      // stopping a broken instance must not keep the app marked running
    }
    if (announce) {
      this.record("info", null, `stopped ${name}`);
      this.emitState({ name, state });
    }
  }

  private setState(name: string, rt: AppRuntimeState, state: AppStateName, error?: string): void {
    rt.state = state;
    if (error) rt.error = error;
    else delete rt.error;
    const ev: AppStateEvent = { name, state };
    if (error) ev.error = error;
    this.emitState(ev);
  }

  private emitState(ev: AppStateEvent): void {
    for (const l of [...this.stateListeners]) l(ev);
  }

  /** Appends a record to the log ring and streams it to followers. */
  record(level: LogLevel, app: string | null, msg: string): LogRecord {
    const text = msg.length > MAX_LOG_TEXT ? `${msg.slice(0, MAX_LOG_TEXT)}...` : msg;
    const rec: LogRecord = { seq: this.logSeq++, t: Math.floor(this.runtime.now()), level, app, msg: text };
    this.log.push(rec);
    if (this.log.length > this.logCapacity) this.log.splice(0, this.log.length - this.logCapacity);
    for (const l of [...this.logListeners]) l(rec);
    return rec;
  }
}

/**
 * The store key of an upload, as the firmware derives it (docs/linking.md): a library (manifest
 * "kind": "library") is kept per major version as NAME@MAJOR, so that majors live side by side
 * and a newer build of one major replaces the older; an app is kept under its name, which must
 * not contain '@'. The host may send NAME or the key itself.
 */
function storeKey(name: string, manifestText: string): string {
  const at = name.indexOf("@");
  const base = at < 0 ? name : name.slice(0, at);
  if (!NAME_RE.test(base)) throw fault.invalid(`bad app name '${name}': 1-32 characters of letters, digits, '_', '-', '.'`);
  let manifest: { kind?: unknown; version?: unknown } | undefined;
  try {
    manifest = JSON.parse(manifestText) as typeof manifest;
  } catch {
    manifest = undefined; // PUT_END says what is wrong with it
  }
  if (manifest?.kind !== "library") {
    if (at >= 0) throw fault.badRequest(`invalid app name '${name}': '@' only appears in a library's store key NAME@MAJOR`);
    return name;
  }
  const major = typeof manifest.version === "string" ? /^(\d{1,6})\./.exec(manifest.version)?.[1] : undefined;
  if (!major) throw fault.invalid(`library '${base}': its manifest has no version MAJOR.MINOR.PATCH`);
  const key = `${base}@${major}`;
  if (key.length > 31) throw fault.badRequest(`library name '${base}' too long: its store key NAME@MAJOR must fit in 31 bytes`);
  if (at >= 0 && key !== name) throw fault.badRequest(`PUT of '${name}' but the library's manifest says version ${String(manifest.version)} (store key ${key})`);
  return key;
}

/** The library name of a store key NAME@MAJOR (an app's name is itself). */
function libraryName(key: string): string {
  const at = key.indexOf("@");
  return at < 0 ? key : key.slice(0, at);
}

/** Whether a stored manifest says `"kind": "library"` (LIST marks libraries, as the firmware does). */
function isLibraryManifest(manifest: string): boolean {
  try {
    return (JSON.parse(manifest) as { kind?: unknown }).kind === "library";
  } catch {
    return false;
  }
}
