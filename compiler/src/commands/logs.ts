import { flag, opt, parseArgs, UsageError } from "../args.js";
import type { Command } from "../command.js";
import type { DeviceClient } from "../protocol/client.js";
import { logLine, stateLine } from "../protocol/format.js";
import type { DeviceEvent } from "../protocol/types.js";
import { DEVICE_OPTIONS, DEVICE_USAGE, wantsJson, withDevice } from "../transport/cli-device.js";

export const logs: Command = {
  name: "logs",
  summary: "print a device's log; --follow keeps streaming new records",
  usage: `usage: liquid logs [--follow] [--app NAME] [--since SEQ] [--port P] [--json]

  -f, --follow   keep printing new records and app state changes until Ctrl-C
  --app NAME     only this app's records (and its state changes)
  --since SEQ    start at log sequence number SEQ (default: the oldest the device kept)
${DEVICE_USAGE}

Lines read: device time in seconds, level, app (- for the runtime), text. --json prints one
record per line as the device sends it ({"seq","t","level","app","msg"}), state changes as
{"event":"app","name","state","error"?}.`,
  async run(argv) {
    const args = parseArgs(argv, [...DEVICE_OPTIONS, { name: "follow", short: "f", value: false }, { name: "app", value: true }, { name: "since", value: true }]);
    if (args.positionals.length) throw new UsageError(`unexpected argument '${args.positionals[0]}'`);
    const sinceText = opt(args, "since") ?? "0";
    if (!/^\d+$/.test(sinceText)) throw new UsageError(`--since takes a log sequence number, got '${sinceText}'`);
    const app = opt(args, "app");
    const json = wantsJson(args);
    const print = (e: DeviceEvent) => {
      if (e.kind === "log") {
        if (app && e.record.app !== app) return;
        console.log(json ? JSON.stringify(e.record) : logLine(e.record));
      } else {
        if (app && e.state.name !== app) return;
        console.log(json ? JSON.stringify({ event: "app", ...e.state }) : stateLine(e.state));
      }
    };
    return withDevice(args, async (client) => {
      if (flag(args, "follow")) await followUntilInterrupted(client, Number(sinceText), print);
      else for (const record of await client.allLogs(Number(sinceText))) print({ kind: "log", record });
      return 0;
    });
  },
};

/** Streams events until Ctrl-C (or the device goes away for good). */
export async function followUntilInterrupted(client: DeviceClient, since: number, print: (e: DeviceEvent) => void, stop?: Promise<void>): Promise<void> {
  const events = client.follow(since);
  let interrupted: () => void = () => {};
  const onSigint = () => interrupted();
  const interruption = new Promise<"stop">((resolve) => (interrupted = () => resolve("stop")));
  process.once("SIGINT", onSigint);
  try {
    for (;;) {
      const next = await Promise.race([events.next(), interruption, ...(stop ? [stop.then(() => "stop" as const)] : [])]);
      if (next === "stop" || next.done) break;
      print(next.value);
    }
  } finally {
    process.removeListener("SIGINT", onSigint);
    await events.return(undefined);
  }
}
