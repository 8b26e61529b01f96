/**
 * Semantic versions and the range syntax modules use to name what they need
 * (`bme280@^1`, `sensors@~2.1.0`, `>=1.2 <2`, `1.x || 2.0.3`). Written for the module
 * repository and the device-side resolver, which must agree on what a range matches.
 * Pre-release versions match only ranges that name a pre-release of the same x.y.z, as npm does.
 */

export interface Version {
  major: number;
  minor: number;
  patch: number;
  prerelease: string[];
}

const VERSION_RE = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

export function parseVersion(text: string): Version | null {
  const m = VERSION_RE.exec(text.trim());
  if (!m) return null;
  return { major: +m[1]!, minor: +m[2]!, patch: +m[3]!, prerelease: m[4] ? m[4].split(".") : [] };
}

export function formatVersion(v: Version): string {
  return `${v.major}.${v.minor}.${v.patch}${v.prerelease.length ? "-" + v.prerelease.join(".") : ""}`;
}

function compareIdent(a: string, b: string): number {
  const an = /^\d+$/.test(a);
  const bn = /^\d+$/.test(b);
  if (an && bn) return Math.sign(+a - +b);
  if (an) return -1;
  if (bn) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareVersions(a: Version, b: Version): number {
  for (const k of ["major", "minor", "patch"] as const) if (a[k] !== b[k]) return Math.sign(a[k] - b[k]);
  if (!a.prerelease.length || !b.prerelease.length) return Math.sign(b.prerelease.length - a.prerelease.length);
  for (let i = 0; i < Math.max(a.prerelease.length, b.prerelease.length); i++) {
    if (i >= a.prerelease.length) return -1;
    if (i >= b.prerelease.length) return 1;
    const c = compareIdent(a.prerelease[i]!, b.prerelease[i]!);
    if (c) return c;
  }
  return 0;
}

type Op = "<" | "<=" | ">" | ">=" | "=";
interface Comparator {
  op: Op;
  version: Version;
}
/** A range is a union (||) of intersections of comparators. */
export interface Range {
  text: string;
  sets: Comparator[][];
}

export class RangeError extends Error {}

const PARTIAL_RE = /^v?(\*|x|X|0|[1-9]\d*)(?:\.(\*|x|X|0|[1-9]\d*))?(?:\.(\*|x|X|0|[1-9]\d*))?(?:-([0-9A-Za-z.-]+))?$/;

interface Partial {
  major?: number;
  minor?: number;
  patch?: number;
  prerelease: string[];
}

function parsePartial(text: string, whole: string): Partial {
  const m = PARTIAL_RE.exec(text);
  if (!m) throw new RangeError(`invalid version range '${whole}': cannot read '${text}'`);
  const num = (s: string | undefined) => (s === undefined || s === "*" || s === "x" || s === "X" ? undefined : +s);
  const p: Partial = { prerelease: m[4] ? m[4].split(".") : [] };
  const major = num(m[1]);
  const minor = major === undefined ? undefined : num(m[2]);
  const patch = minor === undefined ? undefined : num(m[3]);
  if (major !== undefined) p.major = major;
  if (minor !== undefined) p.minor = minor;
  if (patch !== undefined) p.patch = patch;
  return p;
}

const v = (major: number, minor: number, patch: number, prerelease: string[] = []): Version => ({ major, minor, patch, prerelease });

/** Expands one token (with an optional operator) into comparators. */
function comparatorsFor(token: string, whole: string): Comparator[] {
  const m = /^(\^|~|>=|<=|>|<|=)?(.*)$/.exec(token)!;
  const op = m[1] ?? "";
  const p = parsePartial(m[2]!, whole);
  const { major, minor, patch, prerelease } = p;
  if (major === undefined) return op === "<" || op === ">" ? [{ op: "<", version: v(0, 0, 0, ["0"]) }] : [];
  const lo = v(major, minor ?? 0, patch ?? 0, prerelease);
  switch (op) {
    case "^": {
      const hi = major > 0 || minor === undefined ? v(major + 1, 0, 0, ["0"]) : minor > 0 || patch === undefined ? v(0, minor + 1, 0, ["0"]) : v(0, 0, patch + 1, ["0"]);
      return [{ op: ">=", version: lo }, { op: "<", version: hi }];
    }
    case "~": {
      const hi = minor === undefined ? v(major + 1, 0, 0, ["0"]) : v(major, minor + 1, 0, ["0"]);
      return [{ op: ">=", version: lo }, { op: "<", version: hi }];
    }
    case ">":
      if (minor === undefined) return [{ op: ">=", version: v(major + 1, 0, 0) }];
      if (patch === undefined) return [{ op: ">=", version: v(major, minor + 1, 0) }];
      return [{ op: ">", version: lo }];
    case "<=":
      if (minor === undefined) return [{ op: "<", version: v(major + 1, 0, 0, ["0"]) }];
      if (patch === undefined) return [{ op: "<", version: v(major, minor + 1, 0, ["0"]) }];
      return [{ op: "<=", version: lo }];
    case ">=":
    case "<":
      return [{ op, version: lo }];
    default: {
      if (minor === undefined) return [{ op: ">=", version: lo }, { op: "<", version: v(major + 1, 0, 0, ["0"]) }];
      if (patch === undefined) return [{ op: ">=", version: lo }, { op: "<", version: v(major, minor + 1, 0, ["0"]) }];
      return [{ op: "=", version: lo }];
    }
  }
}

export function parseRange(text: string): Range {
  const trimmed = text.trim();
  const alternatives = trimmed === "" ? ["*"] : trimmed.split("||").map((s) => s.trim());
  const sets = alternatives.map((alt) => {
    if (alt === "") throw new RangeError(`invalid version range '${text}': empty alternative`);
    // "1.2.3 - 2.3.4" hyphen ranges
    const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(alt);
    if (hyphen) return [...comparatorsFor(">=" + hyphen[1], text), ...comparatorsFor("<=" + hyphen[2], text)];
    return alt
      .replace(/(\^|~|>=|<=|>|<|=)\s+/g, "$1")
      .split(/\s+/)
      .flatMap((tok) => comparatorsFor(tok, text));
  });
  return { text: trimmed || "*", sets };
}

function test(c: Comparator, ver: Version): boolean {
  const d = compareVersions(ver, c.version);
  switch (c.op) {
    case "<":
      return d < 0;
    case "<=":
      return d <= 0;
    case ">":
      return d > 0;
    case ">=":
      return d >= 0;
    case "=":
      return d === 0;
  }
}

export function satisfies(version: Version | string, range: Range | string): boolean {
  const ver = typeof version === "string" ? parseVersion(version) : version;
  if (!ver) return false;
  const r = typeof range === "string" ? parseRange(range) : range;
  return r.sets.some((set) => {
    if (!set.every((c) => test(c, ver))) return false;
    if (!ver.prerelease.length) return true;
    // A pre-release only matches when the range names a pre-release of the same x.y.z.
    return set.some(
      (c) => c.version.prerelease.length > 0 && c.version.prerelease[0] !== "0" && c.version.major === ver.major && c.version.minor === ver.minor && c.version.patch === ver.patch,
    );
  });
}

/** The highest of `versions` that satisfies `range`, or null. */
export function maxSatisfying(versions: string[], range: Range | string): string | null {
  const r = typeof range === "string" ? parseRange(range) : range;
  let best: { text: string; v: Version } | null = null;
  for (const text of versions) {
    const ver = parseVersion(text);
    if (!ver || !satisfies(ver, r)) continue;
    if (!best || compareVersions(ver, best.v) > 0) best = { text, v: ver };
  }
  return best?.text ?? null;
}

/** Splits `name@range` (the range defaults to `*`). */
export function parseModuleSpec(spec: string): { name: string; range: string } {
  const at = spec.lastIndexOf("@");
  if (at <= 0) return { name: spec, range: "*" };
  return { name: spec.slice(0, at), range: spec.slice(at + 1) || "*" };
}
