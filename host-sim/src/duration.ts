/** Durations as users type them: `1500ms`, `5s`, `1.5s`, `2m`, `1h`. A unit is required. */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!m) {
    if (/^\d+(\.\d+)?$/.test(text.trim())) throw new Error(`duration '${text}' needs a unit: ms, s, m or h (e.g. ${text}ms or ${text}s)`);
    throw new Error(`'${text}' is not a duration (examples: 1500ms, 5s, 2m)`);
  }
  const ms = Number(m[1]) * UNITS[m[2]!]!;
  if (!Number.isInteger(ms)) throw new Error(`duration '${text}' is not a whole number of milliseconds`);
  return ms;
}
