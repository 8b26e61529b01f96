import type { AppEntry, AppStateEvent, CapabilityDocument, LogRecord } from "./types.js";

/** Left-aligned columns; the last column is not padded. */
export function table(rows: string[][]): string {
  if (rows.length === 0) return "";
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ").trimEnd()).join("\n");
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function appTable(apps: AppEntry[]): string {
  const rows = [["NAME", "VERSION", "STATE", "AUTOSTART", "SIZE", "SHA256", "ERROR"]];
  // A library is never started: "stopped" would suggest it could be.
  for (const a of apps) rows.push([a.name, a.version, a.kind === "library" ? "library" : a.state, a.autostart ? "yes" : "no", bytes(a.size), a.sha256.slice(0, 12), a.error ?? ""]);
  if (!apps.some((a) => a.error)) for (const r of rows) r.pop();
  return table(rows);
}

const LEVEL = { debug: "DBG", info: "INF", warn: "WRN", error: "ERR" } as const;

/** `  12.500 INF blinky  LED on` — time in device seconds, then level, source, text. */
export function logLine(r: LogRecord): string {
  const t = (r.t / 1000).toFixed(3).padStart(9);
  return `${t} ${LEVEL[r.level] ?? r.level} ${(r.app ?? "-").padEnd(10)} ${r.msg}`;
}

export function stateLine(s: AppStateEvent): string {
  return `          --- ${s.name} ${s.state}${s.error ? `: ${s.error}` : ""}`;
}

export function infoText(doc: CapabilityDocument, url: string): string {
  const pins = doc.pins.map((p) => `${p.name}(${p.caps.join(",")})`).join(" ") || "-";
  const buses =
    doc.buses.map((b) => `${b.name}(${b.kind}${b.devices.length ? `: ${b.devices.map((d) => `0x${d.addr.toString(16)} ${d.driver}`).join(", ")}` : ""})`).join(" ") ||
    "-";
  return table([
    ["device", `${doc.id} on ${url}`],
    ["firmware", `${doc.firmware} ${doc.version}, protocol ${doc.protocol}, engine ${doc.engine}`],
    ["board", `${doc.board} (${doc.arch})`],
    ["memory", `${bytes(doc.memory.ram)} RAM, ${bytes(doc.memory.appMax)} per app`],
    ["store", `${bytes(doc.store.free)} free of ${bytes(doc.store.total)}`],
    ["pins", pins],
    ["buses", buses],
    ["caps", doc.capabilities.join(" ")],
    ["apps", doc.apps.join(" ") || "-"],
  ]);
}
