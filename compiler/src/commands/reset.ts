import { flag, parseArgs, UsageError, type ParsedArgs } from "../args.js";
import { CliError, type Command } from "../command.js";
import { DEVICE_OPTIONS, DEVICE_USAGE, explain, portChoice, wantsJson, withDevice } from "../transport/cli-device.js";
import { detectDevice, probe } from "../transport/select.js";
import { pulseReset } from "../transport/serial.js";

export const reset: Command = {
  name: "reset",
  summary: "reboot a device's runtime (--factory: erase its app store too)",
  usage: `usage: liquid reset [--factory | --hard] [--port P] [--json]

  --factory      erase every installed app, then reboot
  --hard         reset the board itself through the serial adapter's RTS line (ESP32
                 devkits and boards wired the same way), for a runtime that no longer answers
${DEVICE_USAGE}`,
  async run(argv) {
    const args = parseArgs(argv, [...DEVICE_OPTIONS, { name: "factory", value: false }, { name: "hard", value: false }]);
    if (args.positionals.length) throw new UsageError(`unexpected argument '${args.positionals[0]}'`);
    const factory = flag(args, "factory");
    const hard = flag(args, "hard");
    if (hard && factory) throw new UsageError("--hard and --factory do not go together (a hard reset keeps the store)");
    if (hard) return hardReset(args);
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
      report(args, factory ? "factory" : "reboot", back);
      return back ? 0 : 1;
    });
  },
};

function report(args: ParsedArgs, kind: "reboot" | "factory" | "hard", back: boolean): void {
  const done = { reboot: "rebooted", factory: "factory reset", hard: "board reset" }[kind];
  if (wantsJson(args)) console.log(JSON.stringify({ reset: kind, back }));
  else console.log(back ? `${done}: the device is back` : `reset sent; the device has not answered since (check it with 'liquid info')`);
}

/** Pulses RTS on the serial port, then waits until the runtime answers HELLO again. */
async function hardReset(args: ParsedArgs): Promise<number> {
  const choice = portChoice(args);
  const serial = choice.baud ? { baud: choice.baud } : {};
  try {
    const port = choice.port ?? process.env.LIQUID_PORT ?? (await detectDevice(serial));
    if (port.startsWith("tcp://")) {
      throw new CliError(`--hard needs a serial port (it pulses RTS); ${port} is a TCP device: use 'liquid reset' without --hard`);
    }
    await pulseReset(port, serial);
    // A USB board disappears while it resets: keep asking until it is back.
    let back = false;
    const deadline = Date.now() + 10_000;
    while (!back && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      back = (await probe(port, serial)) !== undefined;
    }
    report(args, "hard", back);
    return back ? 0 : 1;
  } catch (err) {
    return explain(err);
  }
}
