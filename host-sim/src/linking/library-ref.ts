/**
 * How an app names a library: an import whose module is "NAME@RANGE" ("bme280@^1") is a
 * function of the highest version of library NAME that satisfies the semver RANGE, linked on
 * demand (docs/linking.md). Any other import module is the HAL.
 */
export interface LibraryRef {
  name: string;
  range: string;
}

const REF_RE = /^([a-z0-9][a-z0-9._-]{0,63})@(\S+)$/;

export function parseLibraryRef(module: string): LibraryRef | undefined {
  const m = REF_RE.exec(module);
  return m ? { name: m[1]!, range: m[2]! } : undefined;
}

export function formatLibraryRef(ref: LibraryRef): string {
  return `${ref.name}@${ref.range}`;
}
