import { flag, opt, parseArgs, UsageError } from "../args.js";
import type { Command } from "../command.js";
import { relayFetches } from "../protocol/fetch-relay.js";
import { DEVICE_OPTIONS, DEVICE_USAGE, wantsJson, withDevice } from "../transport/cli-device.js";

export const relay: Command = {
  name: "relay",
  summary: "serve a device's library FETCH requests from a module repository",
  usage: `usage: liquid relay --repo URL [--start APP] [--once] [--port P] [--json]

Stays attached to the device and answers each FETCH it sends (an app imports a library
"NAME@RANGE" its store lacks, docs/linking.md): resolves NAME@RANGE in the module repository
(liquid repo serve), checks the module's sha256, and installs it with PUT_*; when it cannot,
it tells the device why (the app's first call into the library then traps with that reason).
Runs until Ctrl-C, or with --once until one request was served.

  --repo URL     the module repository, e.g. http://127.0.0.1:7070
  --start APP    start app APP once attached (its FETCHes then reach this relay)
  --once         exit after serving one FETCH (status 1 if it failed)
${DEVICE_USAGE}

A device serves one host connection at a time: run the relay as the tool that stays attached
(or use liquid deploy --repo, which relays while it deploys). Prints one line per request:
"fetched tmp105@^1: 1.0.0 (170 bytes, sha256 c8afd748bed4) in 12 ms"
or "cannot fetch bme280@^2: REASON"; --json prints the same as JSON objects.`,
  async run(argv) {
    const args = parseArgs(argv, [...DEVICE_OPTIONS, { name: "repo", value: true }, { name: "once", value: false }, { name: "start", value: true }]);
    if (args.positionals.length) throw new UsageError(`unexpected argument '${args.positionals[0]}'`);
    const repo = opt(args, "repo");
    if (!repo) throw new UsageError("--repo URL is required (the module repository to fetch from)");
    if (!/^https?:\/\//.test(repo)) throw new UsageError(`--repo must be an http:// or https:// URL, got '${repo}'`);
    const once = flag(args, "once");
    const json = wantsJson(args);
    return withDevice(args, async (client) => {
      let failed = false;
      await new Promise<void>((resolve) => {
        const onSigint = () => done();
        const done = () => {
          process.removeListener("SIGINT", onSigint);
          off();
          resolve();
        };
        const off = relayFetches(client, repo, (r) => {
          if (json) console.log(JSON.stringify({ ...r, ms: Math.round(r.ms) }));
          else if (r.ok) console.log(`fetched ${r.name}@${r.range}: ${r.version} (${r.size} bytes, sha256 ${r.sha256!.slice(0, 12)}) in ${Math.round(r.ms)} ms`);
          else console.log(`cannot fetch ${r.name}@${r.range}: ${r.error}`);
          if (!r.ok) failed = true;
          if (once) done();
        });
        process.once("SIGINT", onSigint);
        const app = opt(args, "start");
        if (app) client.start(app).catch((err: Error) => {
          console.error(`liquid relay: cannot start ${app}: ${err.message}`);
          failed = true;
          done();
        });
      });
      return once && failed ? 1 : 0;
    });
  },
};
