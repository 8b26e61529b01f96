#!/usr/bin/env node
// Converts wast2json scripts into the line format read by tests/spec_lines.c, a spec-test
// driver small enough to run on a microcontroller (no JSON parser there):
//   node spec-lines.mjs OUT_DIR SCRIPT.json...   writes OUT_DIR/NAME.txt and OUT_DIR/index.txt
// One command per line: LINE KIND ARGS..., names hex-encoded (they may contain spaces or
// NUL bytes), values TYPE:DECIMAL (floats as raw bits), module paths absolute.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

const hex = (s) => Buffer.from(s, "utf8").toString("hex") || "-";
const value = (v) => {
  if (v.type === "funcref" || v.type === "externref") return `${v.type}:${v.value}`;
  if (Array.isArray(v.value)) return null; // SIMD lanes: not part of this engine
  return `${v.type}:${v.value}`;
};

function action(a) {
  const mod = a.module ?? "-";
  if (a.type === "get") return `get ${mod} ${hex(a.field)} 0`;
  const args = a.args.map(value);
  if (args.includes(null)) return null;
  return `invoke ${mod} ${hex(a.field)} ${args.length}${args.length ? " " + args.join(" ") : ""}`;
}

function convert(file) {
  const dir = dirname(resolve(file));
  const script = JSON.parse(readFileSync(file, "utf8"));
  const out = [];
  for (const c of script.commands) {
    const L = c.line;
    switch (c.type) {
      case "module": out.push(`${L} module ${c.name ?? "-"} ${join(dir, c.filename)}`); break;
      case "register": out.push(`${L} register ${hex(c.as)} ${c.name ?? "-"}`); break;
      case "assert_return": case "action": {
        const a = action(c.action);
        const exp = (c.expected ?? []).map(value);
        if (a === null || exp.includes(null)) { out.push(`${L} skip simd`); break; }
        out.push(`${L} return ${a} ${exp.length}${exp.length ? " " + exp.join(" ") : ""}`);
        break;
      }
      case "assert_trap": case "assert_exhaustion": {
        const a = action(c.action);
        out.push(a === null ? `${L} skip simd` : `${L} trap ${a} 0`);
        break;
      }
      case "assert_invalid": case "assert_malformed": case "assert_unlinkable": case "assert_uninstantiable":
        if (c.module_type === "text") out.push(`${L} skip text`);
        else out.push(`${L} ${c.type.slice(7)} ${join(dir, c.filename)}`);
        break;
      default: out.push(`${L} skip ${c.type}`);
    }
  }
  return out.join("\n") + "\n";
}

const [outDir, ...scripts] = process.argv.slice(2);
if (!outDir || scripts.length === 0) {
  console.error("usage: node spec-lines.mjs OUT_DIR SCRIPT.json...");
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
const index = [];
for (const s of scripts) {
  const target = join(resolve(outDir), basename(s).replace(/\.json$/, ".txt"));
  writeFileSync(target, convert(s));
  index.push(target);
}
writeFileSync(join(outDir, "index.txt"), index.join("\n") + "\n");
