/**
 * Can the target run this app? Checked from the target's capability document (INFO) before the
 * app is frozen on the source, so a target that lacks something is refused while the app keeps
 * running where it is. What the app needs comes from its manifest (capabilities, granted pins
 * and buses, memory) when the host has one, and from a non-stopping snapshot of the running app
 * (the pins and buses it actually opened, its memory size) otherwise.
 */
import type { AppManifest, CapabilityDocument } from "../protocol/types.js";
import type { RuntimeState } from "./snapshot-info.js";

export interface AppNeeds {
  capabilities: string[];
  pins: string[];
  buses: string[];
  /** Memory in 64 KiB pages the app has (or starts with). */
  memoryPages: number;
  /** Module bytes the target's store must take (0 when it already holds the module). */
  storeBytes: number;
  /** What the app does with the pins it holds (known from a snapshot): the caps each needs. */
  pinCaps: { pin: string; caps: string[] }[];
}

/** gpio.mode values (hal/hal.json constants) and the pin capability each needs. */
const MODE_CAPS: Record<number, string[]> = { 0: ["in"], 1: ["out"], 2: ["in", "pullup"], 3: ["in", "pulldown"] };

const PAGE = 65536;

export function needsOf(manifest: AppManifest | undefined, runtime: RuntimeState | undefined, memoryPages: number | undefined, storeBytes: number): AppNeeds {
  const union = (a: string[], b: string[]) => [...a, ...b.filter((x) => !a.includes(x))];
  const pins = union(manifest?.resources?.pins ?? [], runtime?.pins.map((p) => p.name) ?? []);
  const buses = union(manifest?.resources?.buses ?? [], runtime?.buses ?? []);
  return {
    capabilities: manifest?.capabilities ?? [],
    pins,
    buses,
    memoryPages: memoryPages ?? manifest?.memory?.initialPages ?? 0,
    storeBytes,
    pinCaps: (runtime?.pins ?? []).map((p, handle) => ({
      pin: p.name,
      caps: [...(MODE_CAPS[p.mode] ?? []), ...(runtime!.watches.some((w) => w.pinHandle === handle) ? ["irq"] : [])],
    })),
  };
}

const list = (names: string[]) => (names.length ? names.join(", ") : "none");

/** Every reason the target cannot take the app; empty when it can. */
export function targetProblems(needs: AppNeeds, target: CapabilityDocument): string[] {
  const problems: string[] = [];
  const caps = target.capabilities ?? [];
  for (const c of needs.capabilities) {
    if (!caps.includes(c)) problems.push(`it lacks the '${c}' capability the app imports (it offers ${list(caps)})`);
  }
  const pins = (target.pins ?? []).map((p) => p.name);
  for (const p of needs.pins) {
    if (!pins.includes(p)) problems.push(`it has no pin ${p} (its pins: ${list(pins)})`);
  }
  for (const { pin, caps: wanted } of needs.pinCaps) {
    const has = (target.pins ?? []).find((p) => p.name === pin)?.caps;
    const missing = has ? wanted.filter((c) => !has.includes(c)) : [];
    if (missing.length) problems.push(`its pin ${pin} cannot do ${missing.join(", ")} as the app uses it (it can: ${list(has!)})`);
  }
  const buses = (target.buses ?? []).map((b) => b.name);
  for (const b of needs.buses) {
    if (!buses.includes(b)) problems.push(`it has no bus ${b} (its buses: ${list(buses)})`);
  }
  const appMax = target.memory?.appMax;
  if (appMax !== undefined && needs.memoryPages * PAGE > appMax) {
    problems.push(`the app has ${needs.memoryPages} memory page(s) (${needs.memoryPages * 64} KiB) and the target runs apps of at most ${Math.floor(appMax / 1024)} KiB`);
  }
  const free = target.store?.free;
  if (needs.storeBytes > 0 && free !== undefined && needs.storeBytes > free) {
    problems.push(`its store has ${free} bytes free and the module needs ${needs.storeBytes}`);
  }
  return problems;
}

/**
 * Whether the target can hold a snapshot of `size` bytes, judged from its capability document
 * (`memory.snapshotMax`, the firmware's snapshot buffer): the problem, or undefined when it
 * fits; null when the document does not say (the caller then probes with RESTORE_BEGIN).
 */
export function snapshotRoomProblem(size: number, target: CapabilityDocument): string | undefined | null {
  const max = target.memory?.snapshotMax;
  if (typeof max !== "number") return null;
  return size > max ? `snapshot of ${size} bytes too large: this device takes at most ${max}` : undefined;
}
