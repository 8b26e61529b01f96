/**
 * Does an app fit a board? Compares a manifest's resources and memory with a board definition:
 * what a device would refuse or what would fail at run time (an app opening a pin the board
 * lacks gets ENOENT). Used by `liquid build --board`, and usable by placement (hub, deploy).
 */
import type { Board } from "../boards.js";
import type { AppManifest } from "./manifest.js";

export function boardFitProblems(manifest: AppManifest, board: Board): string[] {
  const problems: string[] = [];
  const pins = board.pins.map((p) => p.name);
  const buses = board.buses.map((b) => b.name);
  for (const pin of manifest.resources.pins) {
    if (!pins.includes(pin)) problems.push(`the app opens pin ${pin}, which board ${board.name} does not have (it has ${pins.join(", ") || "no pins"})`);
  }
  for (const bus of manifest.resources.buses) {
    if (!buses.includes(bus)) problems.push(`the app opens bus ${bus}, which board ${board.name} does not have (it has ${buses.join(", ") || "no buses"})`);
  }
  const bytes = manifest.memory.maximumPages * 65536;
  if (bytes > board.memory.appMax) {
    problems.push(`the app needs ${manifest.memory.maximumPages} memory pages (${bytes} bytes); board ${board.name} gives an app at most ${board.memory.appMax} bytes`);
  }
  return problems;
}
