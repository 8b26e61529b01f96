import { parseArgs, UsageError } from "../args.js";
import type { Command } from "../command.js";
import { appTable } from "../protocol/format.js";
import { DEVICE_OPTIONS, DEVICE_USAGE, wantsJson, withDevice } from "../transport/cli-device.js";

export const ps: Command = {
  name: "ps",
  summary: "list the apps installed on a device and their state",
  usage: `usage: liquid ps [--port P] [--json]

${DEVICE_USAGE}`,
  async run(argv) {
    const args = parseArgs(argv, DEVICE_OPTIONS);
    if (args.positionals.length) throw new UsageError(`unexpected argument '${args.positionals[0]}'`);
    return withDevice(args, async (client) => {
      const apps = await client.list();
      if (wantsJson(args)) console.log(JSON.stringify(apps));
      else if (apps.length === 0) console.log(`no apps on ${client.url}: deploy one with 'liquid deploy APP.ts'`);
      else console.log(appTable(apps));
      return 0;
    });
  },
};
