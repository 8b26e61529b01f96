import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { LIQUID_ROOT } from "../paths.js";

/**
 * Finds a firmware file another part of the build produced, by name, under build/ (any
 * sub-folder except CMake's own), newest first, so `liquid flash` works without a path right
 * after a build.
 */
export function findBuildOutput(dirs: string[], names: RegExp): string | undefined {
  const hits: Array<{ path: string; mtime: number }> = [];
  const walk = (dir: string, depth: number): void => {
    if (depth > 4 || !existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === "CMakeFiles") continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path, depth + 1);
      else if (entry.isFile() && names.test(entry.name)) hits.push({ path, mtime: statSync(path).mtimeMs });
    }
  };
  for (const dir of dirs) walk(join(LIQUID_ROOT, dir), 0);
  hits.sort((a, b) => b.mtime - a.mtime);
  return hits[0]?.path;
}

/** Like findBuildOutput, but the folders are in order of preference (a release build before a
 * sanitized one), newest only within a folder. */
export function findPreferredBuildOutput(dirs: string[], names: RegExp): string | undefined {
  for (const dir of dirs) {
    const found = findBuildOutput([dir], names);
    if (found) return found;
  }
  return undefined;
}
