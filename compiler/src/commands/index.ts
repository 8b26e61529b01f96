import type { Command } from "../command.js";
import { bindings } from "./bindings.js";
import { build } from "./build.js";
import { sim } from "./sim.js";

// Every subcommand, in the order `liquid help` lists them. Add a command by adding its file
// under compiler/src/commands/ and one line here.
export const commands: Command[] = [
  build,
  bindings,
  sim,
];
