// `liquid sim` from source in its own process, for tests that need one (pipes, signals). Only
// the sim command is loaded, to keep the process quick to start.
import { sim } from "../../compiler/src/commands/sim.js";

process.exitCode = await sim.run(process.argv.slice(2));
