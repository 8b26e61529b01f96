/**
 * Finds the pins and buses an app opens: the string literals passed to the SDK's openers
 * (Pin.open/output/input, I2CBus.open) in the app's own source files. Comments are blanked
 * first so commented-out code grants nothing. A call with a computed name cannot be seen here;
 * it is reported so the developer lists the name in liquid.json.
 */
import { relative } from "node:path";

export interface ResourceScan {
  pins: string[];
  buses: string[];
  /** Human-readable notes about openers whose argument is not a string literal. */
  warnings: string[];
}

/** Replaces comments with spaces, keeping string literals and line structure intact. */
export function blankComments(text: string): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === "/" && next === "/") {
      while (i < text.length && text[i] !== "\n") {
        out += " ";
        i++;
      }
    } else if (c === "/" && next === "*") {
      out += "  ";
      i += 2;
      while (i < text.length && !(text[i] === "*" && text[i + 1] === "/")) {
        out += text[i] === "\n" ? "\n" : " ";
        i++;
      }
      if (i < text.length) {
        out += "  ";
        i += 2;
      }
    } else if (c === '"' || c === "'" || c === "`") {
      const quote = c;
      out += c;
      i++;
      while (i < text.length && text[i] !== quote) {
        if (text[i] === "\\" && i + 1 < text.length) {
          out += text[i]! + text[i + 1]!;
          i += 2;
          continue;
        }
        if (text[i] === "\n" && quote !== "`") break;
        out += text[i];
        i++;
      }
      if (i < text.length && text[i] === quote) {
        out += quote;
        i++;
      }
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const OPENERS: { kind: "pins" | "buses"; pattern: string }[] = [
  { kind: "pins", pattern: String.raw`\bPin\s*\.\s*(?:open|output|input)\s*\(` },
  { kind: "buses", pattern: String.raw`\bI2CBus\s*\.\s*open\s*\(` },
];
const LITERAL = /^\s*(?:"([^"\\\n]*)"|'([^'\\\n]*)'|`([^`\\$]*)`)/;

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

export function scanResources(files: { path: string; text: string }[], cwd = process.cwd()): ResourceScan {
  const found = { pins: [] as string[], buses: [] as string[] };
  const warnings: string[] = [];
  for (const file of files) {
    const text = blankComments(file.text);
    for (const opener of OPENERS) {
      const re = new RegExp(opener.pattern, "g");
      for (let m = re.exec(text); m; m = re.exec(text)) {
        const rest = text.slice(m.index + m[0].length);
        const lit = LITERAL.exec(rest);
        if (lit) {
          const name = lit[1] ?? lit[2] ?? lit[3] ?? "";
          if (name && !found[opener.kind].includes(name)) found[opener.kind].push(name);
        } else {
          const what = opener.kind === "pins" ? "pin" : "bus";
          warnings.push(
            `${relative(cwd, file.path)}:${lineOf(text, m.index)}: ${m[0].replace(/\s+/g, "")}...) opens a ${what} by a computed name; ` +
              `list the ${what} names in liquid.json "resources" so the device grants them`,
          );
        }
      }
    }
  }
  return { ...found, warnings };
}
