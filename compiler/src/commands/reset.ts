import { flag, parseArgs, UsageError } from "../args.js";
import type { Command } from "../command.js";
import { DEVICE_OPTIONS, DEVICE_USAGE, wantsJson, withDevice } from "../transport/cli-device.js";

export const reset: Command = {
  name: "reset",
  summary: "reboot a device's runtime (--factory: erase its app store too)",
  usage: `usage: liquid reset [--factory] [--port P] [--json]

  --factory      erase every installed app, then reboot
${DEVICE_USAGE}`,
  async run(argv) {
    const args = parseArgs(argv, [...DEVICE_OPTIONS, { name: "factory", value: false }]);
    if (args.positionals.length) throw new UsageError(`unexpected argument '${args.positionals[0]}'`);
    const factory = flag(args, "factory");
    return withDevice(args, async (client) => {
      await client.reset(factory);
      // Wait for the runtime to answer again: that is when the reset is over.
      let back = false;
      const deadline = Date.now() + 10_000;
      while (!back && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        back = await client.hello().then(
          () => true,
          () => false,
        );
      }
      if (wantsJson(args)) console.log(JSON.stringify({ reset: factory ? "factory" : "reboot", back }));
      else console.log(back ? `${factory ? "factory reset" : "rebooted"}: the device is back` : `reset sent; the device has not answered since (check it with 'liquid info')`);
      return back ? 0 : 1;
    });
  },
};
