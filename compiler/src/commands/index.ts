import type { Command } from "../command.js";
import { bindings } from "./bindings.js";
import { build } from "./build.js";
import { boards } from "./boards.js";
import { newApp } from "./new.js";
import { sim } from "./sim.js";
import { flash } from "./flash.js";
import { deploy } from "./deploy.js";
import { devices } from "./devices.js";
import { emulate } from "./emulate.js";
import { info } from "./info.js";
import { logs } from "./logs.js";
import { ps } from "./ps.js";
import { reset } from "./reset.js";
import { rm } from "./rm.js";
import { start } from "./start.js";
import { stop } from "./stop.js";
import { publish } from "./publish.js";
import { repo } from "./repo.js";
import { migrateCommand } from "./migrate.js";
import { relay } from "./relay.js";

// Every subcommand, in the order `liquid help` lists them. Add a command by adding its file
// under compiler/src/commands/ and one line here.
export const commands: Command[] = [
  newApp,
  build,
  bindings,
  boards,
  sim,
  flash,
  deploy,
  info,
  ps,
  start,
  stop,
  rm,
  logs,
  reset,
  devices,
  emulate,
  repo,
  publish,
  migrateCommand,
  relay,
];
