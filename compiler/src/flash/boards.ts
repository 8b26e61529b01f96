import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CliError } from "../command.js";
import { BOARDS_DIR } from "../paths.js";

/** The fields of a board definition (boards/NAME.json) that flashing needs. */
export interface BoardInfo {
  name: string;
  /** esp32 | nrf52840 | qemu | posix | simulator */
  target: string;
  memory?: { flash?: number };
  transport?: { kind?: string; baud?: number };
}

export function listBoards(): string[] {
  if (!existsSync(BOARDS_DIR)) return [];
  return readdirSync(BOARDS_DIR)
    .filter((f) => f.endsWith(".json"))
    .map((f) => f.slice(0, -5))
    .sort();
}

export function loadBoard(name: string): BoardInfo {
  const path = join(BOARDS_DIR, `${name}.json`);
  if (!/^[a-z0-9][a-z0-9._-]*$/i.test(name) || !existsSync(path)) {
    throw new CliError(`unknown board '${name}'; boards: ${listBoards().join(", ")}`, 2);
  }
  const board = JSON.parse(readFileSync(path, "utf8")) as BoardInfo;
  if (typeof board.target !== "string") throw new CliError(`${path} has no "target"`, 2);
  return { ...board, name };
}
