/**
 * Finds files that ship in the Liquid checkout (hal/hal.json, boards/*.json) from wherever this
 * module runs: from source under vitest (host-sim/src) or compiled under dist/host-sim/src.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

let cachedRoot: string | undefined;

/** The checkout root: the nearest ancestor directory holding hal/hal.json. */
export function repoRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = import.meta.dirname;
  for (;;) {
    if (existsSync(join(dir, "hal", "hal.json"))) return (cachedRoot = dir);
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find hal/hal.json above " + import.meta.dirname);
    dir = parent;
  }
}

export function repoFile(...parts: string[]): string {
  return join(repoRoot(), ...parts);
}
