import type { AppManifest as ProtocolManifest, BusInfo, PinInfo } from "../../../compiler/src/protocol/types.js";
import { parseManifest } from "../app/manifest.js";
import type { SimApp } from "../app/sim-app.js";
import type { SimBoard } from "../board/sim-board.js";
import { decodeSnapshot, encodeSnapshot } from "./snapshot-codec.js";
import { parseLibraryRef } from "../linking/library-ref.js";
import { parseVersion } from "../../../hub/src/semver.js";
import { LinkError, type LibraryModule } from "../linking/library-store.js";
import { libraryImportsOf } from "../linking/module-imports.js";
import type { BoardRuntime, RunningApp, RuntimeListener } from "./runtime.js";

const DEFAULT_RAM = 256 * 1024;
const DEFAULT_APP_MAX = 64 * 1024;

/** Adapts a simulator board (host-sim/src/board) to what a simulated device runs apps on. */
export class SimBoardRuntime implements BoardRuntime {
  private listener: RuntimeListener | undefined;
  /** Set when the simulation is paced by the wall clock (see RealtimePacer). */
  sync?: () => void;

  constructor(readonly simBoard: SimBoard) {
    simBoard.sim.onEvent((ev) => {
      if (ev.board !== simBoard.id || !this.listener) return;
      if (ev.type === "log") this.listener.log(ev.level, ev.app, ev.msg);
      else if (ev.type === "app" && ev.state === "trapped") this.listener.trapped(ev.app, ev.error ?? "trapped");
    });
  }

  get board(): string {
    return this.simBoard.def.name;
  }

  now(): number {
    return this.simBoard.sim.now;
  }

  hardware(): { pins: PinInfo[]; buses: BusInfo[]; ram: number; appMax: number } {
    const info = this.simBoard.info() as { pins: PinInfo[]; buses: BusInfo[] };
    const memory = this.simBoard.def.extra.memory as { ram?: number; appMax?: number } | undefined;
    return { pins: info.pins, buses: info.buses, ram: memory?.ram ?? DEFAULT_RAM, appMax: memory?.appMax ?? DEFAULT_APP_MAX };
  }

  capabilities(): string[] {
    return ((this.simBoard.info() as { capabilities?: string[] }).capabilities ?? []).slice();
  }

  listen(listener: RuntimeListener): void {
    this.listener = listener;
  }

  addLibrary(wasm: Uint8Array, manifest: ProtocolManifest): void {
    let lib;
    try {
      lib = this.simBoard.libraries.add(wasm, parseManifest(manifest, `manifest of library '${manifest.name}'`));
    } catch (err) {
      if (err instanceof LinkError) throw new Error(err.message);
      throw err;
    }
    this.hotSwap(lib);
  }

  /**
   * Like the firmware: apps running a version of the same major switch to a newly installed
   * build of a library (an install is handled between two events, so no event sees two
   * versions); one whose ranges it does not satisfy keeps the version it has and says why.
   */
  private hotSwap(lib: LibraryModule): void {
    const major = (v: string) => parseVersion(v)?.major;
    for (const app of this.simBoard.apps.values()) {
      const linker = app.linker;
      const current = linker?.loaded().find((l) => l.name === lib.name);
      if (!linker || !current || current.version === lib.version || major(current.version) !== major(lib.version)) continue;
      try {
        linker.swap(lib);
        this.simBoard.emit({ type: "log", app: app.name, level: "info", msg: `hot-swapped library ${lib.name} ${current.version} -> ${lib.version}` });
      } catch (err) {
        if (!(err instanceof LinkError)) throw err;
        this.simBoard.emit({ type: "log", app: app.name, level: "warn", msg: `kept library ${lib.name} ${current.version}: ${err.message}` });
      }
    }
  }

  removeLibrary(name: string, version: string): void {
    this.simBoard.libraries.remove(name, version);
  }

  missingLibraries(wasm: Uint8Array): { name: string; range: string }[] {
    const refs = libraryImportsOf(wasm).map((i) => parseLibraryRef(i.module)!);
    const unique = refs.filter((r, i) => refs.findIndex((o) => o.name === r.name && o.range === r.range) === i);
    return unique.filter((r) => {
      try {
        this.simBoard.libraries.resolve(r.name, r.range);
        return false;
      } catch {
        return true;
      }
    });
  }

  after(ms: number, action: () => void): () => void {
    const scheduled = this.simBoard.sim.at(this.simBoard.sim.now + ms, action);
    return () => {
      scheduled.cancelled = true;
    };
  }

  fetchFailed(name: string, range: string, reason: string): void {
    this.simBoard.libraries.noteFetchFailure(name, range, reason);
  }

  startApp(app: { name: string; wasm: Uint8Array; manifest: ProtocolManifest }): RunningApp {
    const installed = this.installed(app);
    installed.start();
    return this.handle(installed);
  }

  restoreApp(app: { name: string; wasm: Uint8Array; manifest: ProtocolManifest }, snapshot: Uint8Array): RunningApp {
    const installed = this.installed(app);
    installed.restore(decodeSnapshot(snapshot, installed.wasm, app.name));
    return this.handle(installed);
  }

  checkSnapshot(app: { name: string; wasm: Uint8Array }, snapshot: Uint8Array): void {
    decodeSnapshot(snapshot, app.wasm, app.name);
  }

  private installed(app: { name: string; wasm: Uint8Array; manifest: ProtocolManifest }): SimApp {
    const existing = this.simBoard.apps.get(app.name);
    if (existing) return existing;
    // The device may install a module under another name than its manifest's (deploy --name).
    const manifest = parseManifest({ ...app.manifest, name: app.name }, `manifest of '${app.name}'`);
    return this.simBoard.install(app.wasm, manifest, { start: false });
  }

  private handle(app: SimApp): RunningApp {
    return {
      stop: () => app.stop(),
      snapshot: () => encodeSnapshot(app.snapshot(), app.wasm),
      snapshotRefusal: () => app.snapshotRefusal(),
      // Optional: an app without the hook is not warned about, unlike a missing on_timer.
      hook: (entry) => {
        if (typeof app.wasmInstance?.exports[entry] === "function") app.call(entry);
      },
    };
  }

  forget(name: string): void {
    if (this.simBoard.apps.has(name)) this.simBoard.remove(name);
  }

  reboot(): void {
    for (const name of [...this.simBoard.apps.keys()]) this.simBoard.remove(name);
  }
}
