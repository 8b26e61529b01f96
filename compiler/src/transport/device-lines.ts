import { readFileSync } from "node:fs";

/**
 * The firmware's event lines (posix stdout, QEMU's console UART: `gpio T PIN V`,
 * `app T NAME STATE[: ERROR]`, `log T LEVEL APP: TEXT`) as `liquid emulate` shows them, in the
 * same words as the simulated devkit: `   500 ms  LED0 on`. Log lines are left to
 * `liquid logs`; anything else (boot banner, "ready") passes through.
 */
export function deviceLineFormatter(boardFile: string): (line: string) => string | undefined {
  const kinds = new Map<string, { kind: string; activeLow: boolean }>();
  try {
    const board = JSON.parse(readFileSync(boardFile, "utf8")) as { pins?: { name: string; kind?: string; activeLow?: boolean }[] };
    for (const p of board.pins ?? []) kinds.set(p.name, { kind: p.kind ?? "pin", activeLow: p.activeLow === true });
  } catch {
    // without the board file every pin reads high/low
  }
  return (line) => {
    let m = /^gpio (\d+) (\S+) (\d+)$/.exec(line);
    if (m) {
      const [, t, pin, v] = m;
      const info = kinds.get(pin!) ?? { kind: "pin", activeLow: false };
      const value = Number(v);
      const word =
        info.kind === "led" ? (value ? "on" : "off") : info.kind === "button" ? (value === (info.activeLow ? 0 : 1) ? "pressed" : "released") : value ? "high" : "low";
      return `${t!.padStart(6)} ms  ${pin} ${word}`;
    }
    m = /^app (\d+) (\S+) (running|stopped|trapped)(?:: (.*))?$/.exec(line);
    if (m) {
      const [, t, app, state, error] = m;
      const what = state === "running" ? "started" : state === "stopped" ? "stopped" : `trapped: ${error ?? ""}`;
      return `${t!.padStart(6)} ms  app '${app}' ${what}`;
    }
    if (/^log \d+ /.test(line)) return undefined;
    return line;
  };
}
