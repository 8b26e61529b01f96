/**
 * Device-local data: state that belongs to the board, not to the app (a calibration, a reading
 * taken once, a handle to local hardware), and must not follow the app to another device. An
 * app marks a global as device-local by exporting it under a name starting with `local_`
 * (`export let local_offset: i32 = 0;`); before the snapshot is restored on the target, the
 * host resets each such global to the module's initial value, so the app sees "not set yet" on
 * the new board and acquires it again, while everything else carries over.
 */
import { moduleLayout } from "../../../host-sim/src/device/wasm-layout.js";
import { SnapshotFormatError, readSnapshot } from "./snapshot-info.js";

export const LOCAL_PREFIX = "local_";

export interface LocalGlobal {
  /** Index among the module's own globals (the snapshot's GLOB order). */
  index: number;
  name: string;
  type: number;
  /** The raw 64-bit initial value, as the snapshot stores values. */
  init: bigint;
}

/** The module's device-local globals: mutable, defined here, exported as local_*. */
export function localGlobals(wasm: Uint8Array): LocalGlobal[] {
  return moduleLayout(wasm)
    .globals.map((g, index) => ({ g, index }))
    .filter(({ g }) => g.mutable && g.exportName?.startsWith(LOCAL_PREFIX))
    .map(({ g, index }) => ({ index, name: g.exportName!, type: g.type, init: g.init }));
}

/** A copy of the snapshot with those globals set back to their initial values. */
export function resetLocalGlobals(snapshot: Uint8Array, locals: LocalGlobal[]): Uint8Array {
  const out = snapshot.slice();
  if (!locals.length) return out;
  const glob = readSnapshot(snapshot).sections.find((s) => s.tag === "GLOB");
  if (!glob) throw new SnapshotFormatError("the snapshot has no globals section, but the module has device-local globals");
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const count = view.getUint32(glob.offset, true);
  for (const l of locals) {
    if (l.index >= count) throw new SnapshotFormatError(`the snapshot has ${count} globals; device-local ${l.name} is global ${l.index}`);
    const at = glob.offset + 4 + l.index * 9;
    if (out[at] !== l.type) throw new SnapshotFormatError(`global ${l.index} (${l.name}) has type 0x${out[at]!.toString(16)} in the snapshot, 0x${l.type.toString(16)} in the module`);
    view.setBigUint64(at + 1, BigInt.asUintN(64, l.init), true);
  }
  return out;
}
