import { flag, parseArgs } from "../args.js";
import { type Board, BoardError, listBoards, loadBoard } from "../boards.js";
import { CliError, type Command } from "../command.js";

const usage = `usage: liquid boards [NAME|FILE.json] [--json]

Lists the board definitions in boards/ (validating each one), or shows one board: its pins
with their hardware names, its buses and the devices on them, memory and transport.

options:
  --json   print the validated definition(s) as JSON`;

function hex(n: number): string {
  return `0x${n.toString(16).padStart(2, "0")}`;
}

function busSummary(b: Board): string {
  return b.buses
    .map((bus) => (bus.devices?.length ? `${bus.name}(${bus.devices.map((d) => `${d.driver}@${hex(d.addr)}`).join(", ")})` : bus.name))
    .join(" ");
}

function describeBoard(b: Board): string {
  const lines = [`${b.name} — ${b.description}`, `  target ${b.target}, arch ${b.arch}${b.cpu ? `, cpu ${b.cpu}` : ""}`];
  lines.push(`  memory: ram ${b.memory.ram} B, flash ${b.memory.flash} B, per app ${b.memory.appMax} B`);
  const { kind, ...rest } = b.transport;
  lines.push(`  transport: ${kind}${Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : ""}`);
  lines.push("  pins:");
  for (const p of b.pins) {
    lines.push(`    ${p.name.padEnd(8)} ${p.kind.padEnd(6)} port ${String(p.port).padEnd(3)} [${p.caps.join(", ")}]${p.activeLow ? " active-low" : ""}${p.hw ? `  ${p.hw}` : ""}`);
  }
  lines.push("  buses:");
  for (const bus of b.buses) {
    const wiring = [bus.hw, bus.sda && `SDA ${bus.sda}`, bus.scl && `SCL ${bus.scl}`, bus.frequency && `${bus.frequency / 1000} kHz`].filter(Boolean).join(", ");
    lines.push(`    ${bus.name.padEnd(8)} ${bus.kind} port ${bus.port}${wiring ? `  ${wiring}` : ""}`);
    for (const d of bus.devices ?? []) {
      const initial = d.initial ? ` ${Object.entries(d.initial).map(([k, v]) => `${k}=${v}`).join(" ")}` : "";
      lines.push(`      ${hex(d.addr)} ${d.driver}${initial}`);
    }
  }
  return lines.join("\n");
}

export const boards: Command = {
  name: "boards",
  summary: "list the board definitions, or show one",
  usage,
  async run(argv) {
    const args = parseArgs(argv, [{ name: "json", value: false }]);
    if (args.positionals.length > 1) throw new CliError(`one board at a time\n\n${usage}`, 2);
    try {
      if (args.positionals.length === 1) {
        const b = loadBoard(args.positionals[0]!);
        console.log(flag(args, "json") ? JSON.stringify(b, null, 2) : describeBoard(b));
        return 0;
      }
      const all = listBoards().map((name) => loadBoard(name));
      if (flag(args, "json")) {
        console.log(JSON.stringify(all, null, 2));
        return 0;
      }
      const width = Math.max(...all.map((b) => b.name.length));
      for (const b of all) {
        console.log(`${b.name.padEnd(width)}  ${b.target.padEnd(9)}  ${b.pins.map((p) => p.name).join(" ")}  ${busSummary(b)}`);
      }
      return 0;
    } catch (err) {
      if (err instanceof BoardError) throw new CliError(err.message);
      throw err;
    }
  },
};
