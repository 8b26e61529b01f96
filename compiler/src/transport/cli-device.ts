import { flag, opt, type OptionSpec, type ParsedArgs } from "../args.js";
import { CliError } from "../command.js";
import type { DeviceClient } from "../protocol/client.js";
import { Status } from "../protocol/constants.js";
import { DeviceError, DeviceTimeoutError, ProtocolError } from "../protocol/errors.js";
import { openDevice, type PortChoice } from "./select.js";
import { parseBaud } from "./serial.js";
import { TransportError } from "./transport.js";

/** Options every device command accepts. */
export const DEVICE_OPTIONS: OptionSpec[] = [
  { name: "port", short: "p", value: true },
  { name: "baud", value: true },
  { name: "json", value: false },
];

export const DEVICE_USAGE = `  -p, --port P   the device: tcp://HOST:PORT, a serial port (/dev/ttyACM0, COM3) or
                 serial:PATH?baud=N&dtr=0&rts=0; default $LIQUID_PORT, else the one
                 connected Liquid device
  --baud N       serial baud rate (default 115200)
  --json         machine-readable output`;

export function portChoice(args: ParsedArgs): PortChoice {
  const choice: PortChoice = {};
  const port = opt(args, "port");
  const baud = opt(args, "baud");
  if (port !== undefined) choice.port = port;
  if (baud !== undefined) {
    try {
      choice.baud = parseBaud(baud);
    } catch (err) {
      throw new CliError((err as Error).message, 2);
    }
  }
  return choice;
}

export function wantsJson(args: ParsedArgs): boolean {
  return flag(args, "json");
}

/** Turns protocol and transport failures into messages that say what to do next. */
export function explain(err: unknown, app?: string): never {
  if (err instanceof CliError) throw err;
  if (err instanceof DeviceError) {
    if (err.status === Status.ENOTFOUND && app) throw new CliError(`no app named '${app}' on the device: 'liquid ps' lists the installed apps`);
    throw new CliError(`the device refused: ${err.detail || err.statusName} (${err.statusName})`);
  }
  if (err instanceof TransportError || err instanceof DeviceTimeoutError || err instanceof ProtocolError) throw new CliError(err.message);
  throw err;
}

/** Connects, runs `body`, always closes; errors come out as CliError. */
export async function withDevice<T>(args: ParsedArgs, body: (client: DeviceClient) => Promise<T>, app?: string): Promise<T> {
  let client: DeviceClient | undefined;
  try {
    client = await openDevice(portChoice(args));
    return await body(client);
  } catch (err) {
    return explain(err, app);
  } finally {
    await client?.close();
  }
}
