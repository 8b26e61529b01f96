// `liquid` from source, for tests that need a separate process (pipes, signals).
import { main } from "../../compiler/src/cli.js";

process.exitCode = await main(process.argv.slice(2));
