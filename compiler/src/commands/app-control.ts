import { flag, parseArgs, UsageError } from "../args.js";
import type { Command } from "../command.js";
import type { DeviceClient } from "../protocol/client.js";
import { DEVICE_OPTIONS, DEVICE_USAGE, wantsJson, withDevice } from "../transport/cli-device.js";

/**
 * start, stop and rm share one shape: one app name, one request, one line of output. The
 * three commands are declared in start.ts, stop.ts and rm.ts with this helper.
 */
export function appCommand(spec: {
  name: string;
  summary: string;
  verb: string;
  extra?: { option: string; help: string };
  /** Returns what it acted on when that is more than the name given (rm of every version of a library). */
  act: (client: DeviceClient, app: string, extra: boolean) => Promise<string[] | void>;
}): Command {
  const options = spec.extra ? [...DEVICE_OPTIONS, { name: spec.extra.option, value: false }] : DEVICE_OPTIONS;
  return {
    name: spec.name,
    summary: spec.summary,
    usage: `usage: liquid ${spec.name} NAME [--port P] [--json]${spec.extra ? ` [--${spec.extra.option}]` : ""}

${spec.extra ? `  --${spec.extra.option.padEnd(12)} ${spec.extra.help}\n` : ""}${DEVICE_USAGE}`,
    async run(argv) {
      const args = parseArgs(argv, options);
      if (args.positionals.length !== 1) throw new UsageError(args.positionals.length ? "give exactly one app name" : "which app? give its NAME ('liquid ps' lists them)");
      const app = args.positionals[0]!;
      const extra = spec.extra ? flag(args, spec.extra.option) : false;
      return withDevice(
        args,
        async (client) => {
          const what = await spec.act(client, app, extra);
          if (wantsJson(args)) console.log(JSON.stringify({ app, action: spec.name, ok: true, ...(what ? { names: what } : {}) }));
          else console.log(`${spec.verb} ${what ? what.join(", ") : app}`);
          return 0;
        },
        app,
      );
    },
  };
}
