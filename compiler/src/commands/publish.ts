import { existsSync, readFileSync } from "node:fs";
import { flag, opt, parseArgs } from "../args.js";
import { buildApp, formatBuildProblems, manifestPathFor } from "../app-build/index.js";
import { CliError, type Command } from "../command.js";
import { RepositoryClient, RepositoryClientError } from "../../../hub/src/client.js";
import type { ModuleManifest } from "../../../hub/src/repository.js";
import { repoUrl } from "./repo.js";

const usage = `usage: liquid publish APP [--repo URL] [--json]

Adds a module to the module repository. APP is a built APP.wasm (its APP.manifest.json beside
it) or an app's source (.ts file or folder), which is built first. Versions are immutable:
publishing the same name@version with other bytes is refused; the same bytes again is a no-op.
The repository is --repo, else \$LIQUID_REPO, else http://127.0.0.1:7780 ('liquid repo serve').`;

export const publish: Command = {
  name: "publish",
  summary: "add a built module (or an app's source) to the module repository",
  usage,
  async run(argv) {
    const args = parseArgs(argv, [
      { name: "repo", value: true },
      { name: "json", value: false },
    ]);
    const [app, ...extra] = args.positionals;
    if (!app || extra.length) throw new CliError(`give one APP\n\n${usage}`, 2);
    let wasmPath = app;
    if (!app.endsWith(".wasm")) {
      const result = await buildApp(app);
      if (!result.ok || !result.wasmPath) throw new CliError(["build failed:", ...formatBuildProblems(result)].join("\n"));
      wasmPath = result.wasmPath;
    }
    if (!existsSync(wasmPath)) throw new CliError(`${wasmPath} does not exist: build it with 'liquid build'`);
    const manifestPath = manifestPathFor(wasmPath);
    if (!existsSync(manifestPath)) throw new CliError(`${manifestPath} is missing: rebuild with 'liquid build' (it writes the manifest)`);
    const wasm = new Uint8Array(readFileSync(wasmPath));
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as ModuleManifest;
    const client = new RepositoryClient(repoUrl(opt(args, "repo")));
    try {
      const done = await client.publish(wasm, manifest);
      if (flag(args, "json")) console.log(JSON.stringify(done));
      else console.log(`published ${done.name}@${done.version} (${done.size} bytes, sha256 ${done.sha256.slice(0, 12)}…) to ${client.base}`);
    } catch (err) {
      if (err instanceof RepositoryClientError) throw new CliError(err.message);
      throw err;
    }
    return 0;
  },
};
