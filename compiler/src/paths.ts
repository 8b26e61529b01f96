/**
 * Where the toolchain finds the files it ships with (hal/hal.json, sdk/, boards/). The CLI runs
 * both compiled (dist/compiler/src/...) and from source (tests), so the root is found by walking
 * up to the checkout's package.json instead of a fixed number of "..".
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && existsSync(join(dir, "hal", "hal.json"))) {
      try {
        if ((JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "liquid") return dir;
      } catch {
        // not ours; keep walking
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find the Liquid checkout (package.json + hal/hal.json) above the toolchain");
    dir = parent;
  }
}

/** The root of the Liquid checkout the toolchain belongs to. */
export const LIQUID_ROOT = findRoot();
export const HAL_SPEC_PATH = join(LIQUID_ROOT, "hal", "hal.json");
export const SDK_DIR = join(LIQUID_ROOT, "sdk");
export const BOARDS_DIR = join(LIQUID_ROOT, "boards");
