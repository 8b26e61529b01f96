import { flag, parseArgs, UsageError } from "../args.js";
import type { Command } from "../command.js";
import { table } from "../protocol/format.js";
import { runningDevices, stateDir } from "../transport/registry.js";
import { probe } from "../transport/select.js";
import { listSerialPorts } from "../transport/serial-ports.js";

interface Row {
  port: string;
  kind: "serial" | "emulated" | "simulated";
  board: string;
  detail: string;
  /** Whether a Liquid runtime answered HELLO (serial ports only with --probe). */
  liquid?: boolean;
  deviceId?: string;
}

export const devices: Command = {
  name: "devices",
  summary: "list serial ports and the emulated/simulated devices running on this machine",
  usage: `usage: liquid devices [--probe] [--json]

Lists serial ports (USB VID:PID and a board guess from it) and the devices started with
'liquid emulate' that are still running (kept in ${stateDir()}/devices.json; set
$LIQUID_HOME to move it). Running devices are asked HELLO to show whether they answer.

  --probe        also say HELLO on each USB serial port to see which run Liquid
  --json         machine-readable output`,
  async run(argv) {
    const args = parseArgs(argv, [
      { name: "probe", value: false },
      { name: "json", value: false },
    ]);
    if (args.positionals.length) throw new UsageError(`unexpected argument '${args.positionals[0]}'`);
    const rows: Row[] = [];
    for (const d of runningDevices()) {
      const hello = await probe(d.url);
      const row: Row = { port: d.url, kind: d.kind, board: d.board, detail: `pid ${d.pid}, since ${d.startedAt}`, liquid: !!hello };
      if (hello) row.deviceId = hello.deviceId;
      rows.push(row);
    }
    for (const p of listSerialPorts()) {
      const row: Row = {
        port: p.path,
        kind: "serial",
        board: p.boardGuess ?? "?",
        detail: [p.vidPid, p.manufacturer, p.product].filter(Boolean).join(" ") || "on-board UART",
      };
      if (flag(args, "probe") && p.vidPid) {
        const hello = await probe(p.path);
        row.liquid = !!hello;
        if (hello) row.deviceId = hello.deviceId;
      }
      rows.push(row);
    }
    if (flag(args, "json")) {
      console.log(JSON.stringify(rows));
      return 0;
    }
    if (rows.length === 0) {
      console.log("no serial ports and no running devices: start one with 'liquid emulate', or plug a board in");
      return 0;
    }
    const answer = (r: Row) => (r.liquid === undefined ? "?" : r.liquid ? `yes (${r.deviceId})` : "no");
    console.log(table([["PORT", "KIND", "BOARD", "LIQUID", "DETAIL"], ...rows.map((r) => [r.port, r.kind, r.board, answer(r), r.detail])]));
    return 0;
  },
};
