import { join } from "node:path";
import { opt, parseArgs } from "../args.js";
import { CliError, type Command } from "../command.js";
import { stateDir } from "../transport/registry.js";
import { serveRepository } from "../../../hub/src/server.js";
import { RepositoryClient, RepositoryClientError } from "../../../hub/src/client.js";

export const DEFAULT_REPO_PORT = 7780;

/** The repository tools talk to: --repo, else $LIQUID_REPO, else the local default. */
export function repoUrl(explicit?: string): string {
  return explicit ?? process.env.LIQUID_REPO ?? `http://127.0.0.1:${DEFAULT_REPO_PORT}`;
}

const usage = `usage: liquid repo serve [--dir D] [--port N] [--host H]
       liquid repo ls [--repo URL] [--json]

serve  runs the module repository: a content-addressed store (sha256) with a name@version
       index, over HTTP (API in docs/repository.md). Data lives in D (default
       \$LIQUID_HOME/repo, i.e. ~/.liquid/repo) and survives restarts and crashes.
       Default port ${DEFAULT_REPO_PORT}; 0 picks a free one. Prints the URL, then serves until stopped.
ls     lists the modules and versions of a repository (default \$LIQUID_REPO or
       http://127.0.0.1:${DEFAULT_REPO_PORT}).`;

export const repo: Command = {
  name: "repo",
  summary: "run or list the module repository (serve, ls)",
  usage,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === "serve") {
      const args = parseArgs(rest, [
        { name: "dir", value: true },
        { name: "port", value: true },
        { name: "host", value: true },
      ]);
      const portText = opt(args, "port") ?? String(DEFAULT_REPO_PORT);
      const port = Number(portText);
      if (!/^\d+$/.test(portText) || port > 65535) throw new CliError(`--port must be 0..65535 (got ${portText})`, 2);
      const dir = opt(args, "dir") ?? join(stateDir(), "repo");
      let running;
      try {
        running = await serveRepository(dir, port, opt(args, "host") ?? "127.0.0.1");
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "EADDRINUSE") throw new CliError(`port ${port} is in use: another 'liquid repo serve'? pick one with --port`);
        throw new CliError((err as Error).message);
      }
      const problems = await running.repo.verify();
      for (const p of problems) console.error(`warning: ${p}`);
      console.log(`module repository at ${running.url} (${dir})`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      await running.close();
      return 0;
    }
    if (sub === "ls") {
      const args = parseArgs(rest, [
        { name: "repo", value: true },
        { name: "json", value: false },
      ]);
      const client = new RepositoryClient(repoUrl(opt(args, "repo")));
      try {
        const list = await client.list();
        if (args.options.has("json")) console.log(JSON.stringify(list));
        else if (!list.length) console.log(`no modules in ${client.base}: add one with 'liquid publish APP'`);
        else {
          const width = Math.max(...list.map((m) => m.name.length));
          for (const m of list) console.log(`${m.name.padEnd(width)}  ${m.versions.join(", ")}`);
        }
      } catch (err) {
        if (err instanceof RepositoryClientError) throw new CliError(err.message);
        throw err;
      }
      return 0;
    }
    throw new CliError(sub ? `unknown subcommand '${sub}'\n\n${usage}` : usage, 2);
  },
};
