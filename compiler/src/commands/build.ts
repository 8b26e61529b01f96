import { relative } from "node:path";
import { flag, opt, parseArgs } from "../args.js";
import { boardFitProblems } from "../app-build/board-fit.js";
import { AppSourceError, buildApp, formatBuildProblems } from "../app-build/index.js";
import { type Board, BoardError, loadBoard } from "../boards.js";
import { formatDiagnostic } from "../app-build/compile.js";
import { CliError, type Command } from "../command.js";

const usage = `usage: liquid build APP... [-o OUT.wasm] [--board B] [--debug] [--wat] [--pages N] [--json] [--force] [--library [--shared]]

Compiles an AssemblyScript app (a .ts file, or a folder with app.ts or index.ts) into
APP.wasm plus APP.manifest.json (name, version, sha256, exports, imports, capabilities,
resources, memory). Apps import the SDK as "liquid". Default output: APPDIR/build/NAME.wasm.

options:
  -o, --out FILE   output .wasm (one APP only); the manifest is written beside it
  --board B        also check that the app fits board B (boards/B.json): every pin and bus it
                   opens exists there and its memory fits; a misfit fails the command (the
                   outputs are still written: they are valid for other boards)
  --debug          no optimisation, keep names (bigger, easier to read with a disassembler)
  --wat            also write the final module in the text format (NAME.wat beside NAME.wasm)
  --pages N        linear memory pages, initial = maximum (default 1 = 64 KiB, or
                   "memoryPages" in liquid.json)
  --json           print each manifest as one JSON line instead of a summary
  --force          rebuild even if nothing changed (unchanged apps are otherwise answered
                   from build/.NAME.buildinfo.json without running the compiler)
  --library        build a library that apps import as "NAME@RANGE" (no start() entry
                   point; the manifest says "kind": "library"; see docs/linking.md)
  --shared         with --library: the library shares the importing app's memory (imports
                   env.memory) instead of owning one; data passes by pointer. Only for
                   libraries without static data or mutable globals`;

function short(path: string): string {
  return relative(process.cwd(), path) || path;
}

export const build: Command = {
  name: "build",
  summary: "compile an AssemblyScript app to APP.wasm + APP.manifest.json",
  usage,
  async run(argv) {
    const args = parseArgs(argv, [
      { name: "out", short: "o", value: true },
      { name: "debug", value: false },
      { name: "pages", value: true },
      { name: "json", value: false },
      { name: "force", value: false },
      { name: "board", value: true },
      { name: "wat", value: false },
      { name: "library", value: false },
      { name: "shared", value: false },
    ]);
    if (!args.positionals.length) throw new CliError(`missing APP\n\n${usage}`, 2);
    const out = opt(args, "out");
    if (out && args.positionals.length > 1) throw new CliError("-o/--out takes one APP; build several apps without it", 2);
    if (out && !out.endsWith(".wasm")) throw new CliError(`-o/--out must name a .wasm file (got ${out})`, 2);
    let pages: number | undefined;
    const pagesText = opt(args, "pages");
    if (pagesText !== undefined) {
      pages = Number(pagesText);
      if (!/^\d+$/.test(pagesText) || pages < 1 || pages > 16) throw new CliError(`--pages must be an integer from 1 to 16 (got ${pagesText})`, 2);
    }
    let board: Board | undefined;
    const boardName = opt(args, "board");
    if (boardName) {
      try {
        board = loadBoard(boardName);
      } catch (err) {
        if (err instanceof BoardError) throw new CliError(err.message, 2);
        throw err;
      }
    }
    let failed = 0;
    for (const app of args.positionals) {
      let result;
      try {
        result = await buildApp(app, {
          ...(out ? { out } : {}),
          debug: flag(args, "debug"),
          force: flag(args, "force"),
          wat: flag(args, "wat"),
          library: flag(args, "library"),
          shared: flag(args, "shared"),
          ...(pages ? { pages } : {}),
        });
      } catch (err) {
        if (err instanceof AppSourceError) throw new CliError(err.message);
        throw err;
      }
      for (const d of result.diagnostics.filter((x) => x.category === "warning")) console.error(formatDiagnostic(d));
      for (const w of result.warnings) console.error(`warning: ${w}`);
      if (!result.ok) {
        for (const line of formatBuildProblems(result).filter((l) => !l.includes(": warning TS"))) console.error(line);
        console.error(`liquid build: ${result.app.name} failed`);
        failed++;
        continue;
      }
      const m = result.manifest!;
      const misfits = board ? boardFitProblems(m, board) : [];
      for (const problem of misfits) console.error(`error: ${problem}`);
      if (misfits.length) failed++;
      if (flag(args, "json")) {
        console.log(
          JSON.stringify({ ...m, wasm: result.wasmPath, manifestPath: result.manifestPath, ms: Math.round(result.timings.totalMs), cached: result.cached }),
        );
        continue;
      }
      const res = [...m.resources.pins, ...m.resources.buses];
      console.log(
        `built ${m.name} ${m.version}: ${short(result.wasmPath!)} (${m.size} bytes, sha256 ${m.sha256.slice(0, 12)}) ` +
          `capabilities [${m.capabilities.join(", ")}] resources [${res.join(", ")}] ` +
          (result.cached ? "(up to date)" : `in ${Math.round(result.timings.totalMs)} ms`),
      );
    }
    return failed ? 1 : 0;
  },
};
