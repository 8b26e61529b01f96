import { parseArgs, UsageError } from "../args.js";
import type { Command } from "../command.js";
import { infoText } from "../protocol/format.js";
import { DEVICE_OPTIONS, DEVICE_USAGE, wantsJson, withDevice } from "../transport/cli-device.js";

export const info: Command = {
  name: "info",
  summary: "show a device's capabilities: board, pins, buses, sensors, store, apps",
  usage: `usage: liquid info [--port P] [--json]

Asks the device for its capability document (protocol INFO).

${DEVICE_USAGE}`,
  async run(argv) {
    const args = parseArgs(argv, DEVICE_OPTIONS);
    if (args.positionals.length) throw new UsageError(`unexpected argument '${args.positionals[0]}'`);
    return withDevice(args, async (client) => {
      const doc = await client.info();
      console.log(wantsJson(args) ? JSON.stringify(doc) : infoText(doc, client.url));
      return 0;
    });
  },
};
