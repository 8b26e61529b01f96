import { DeviceClient, type ClientOptions } from "../protocol/client.js";
import type { HelloInfo } from "../protocol/types.js";
import { runningDevices, type RunningDevice } from "./registry.js";
import { listSerialPorts, type SerialPortInfo } from "./serial-ports.js";
import { openSerial, type SerialOptions } from "./serial.js";
import { connectTcp } from "./tcp.js";
import { TransportError, type Connector } from "./transport.js";

/** How a command reaches its device: --port, else $LIQUID_PORT, else auto-detection. */
export interface PortChoice {
  port?: string;
  baud?: number;
  dtr?: boolean;
  rts?: boolean;
}

/** Opens the stream named by a --port value: tcp://HOST:PORT, a serial path, or serial:PATH?baud=N. */
export function connectorFor(spec: string, serial: SerialOptions = {}): Connector {
  if (spec.startsWith("tcp://")) return () => connectTcp(spec);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec) && !spec.startsWith("serial:")) {
    throw new TransportError(`unsupported port '${spec}': use tcp://HOST:PORT or a serial port path such as /dev/ttyACM0`);
  }
  return () => openSerial(spec, serial);
}

/** A device auto-detection considered. */
export interface Candidate {
  url: string;
  label: string;
  running?: RunningDevice;
  serial?: SerialPortInfo;
}

export function candidates(): Candidate[] {
  const list: Candidate[] = runningDevices().map((d) => ({
    url: d.url,
    label: `${d.board} (${d.kind}, pid ${d.pid})`,
    running: d,
  }));
  for (const p of listSerialPorts()) {
    if (!p.vidPid) continue; // only USB ports: probing on-board UARTs talks to random hardware
    list.push({ url: p.path, label: [p.vidPid, p.boardGuess ?? p.product].filter(Boolean).join(" "), serial: p });
  }
  return list;
}

/** Says HELLO with a short timeout; undefined when nothing Liquid answers there. */
export async function probe(url: string, serial: SerialOptions = {}, timeoutMs = 800): Promise<HelloInfo | undefined> {
  let client: DeviceClient | undefined;
  try {
    client = await DeviceClient.open(connectorFor(url, serial), { timeoutMs, retries: 1, reconnectWindowMs: 0 });
    return client.helloInfo;
  } catch {
    return undefined;
  } finally {
    await client?.close();
  }
}

/** Finds the one connected Liquid device; none or several are errors that say what to do. */
export async function detectDevice(serial: SerialOptions = {}): Promise<string> {
  const found: Candidate[] = [];
  for (const c of candidates()) {
    if (await probe(c.url, serial)) found.push(c);
  }
  if (found.length === 0) {
    throw new TransportError("no Liquid device found: start one with 'liquid emulate' or pass --port");
  }
  if (found.length > 1) {
    const width = Math.max(...found.map((c) => c.url.length));
    const lines = found.map((c) => `  ${c.url.padEnd(width)}  ${c.label}`);
    throw new TransportError(`several Liquid devices found; pick one with --port:\n${lines.join("\n")}`);
  }
  return found[0]!.url;
}

/** Connects to the device the user means, says HELLO, and returns the client. */
export async function openDevice(choice: PortChoice, options: ClientOptions = {}): Promise<DeviceClient> {
  const serial: SerialOptions = {};
  if (choice.baud !== undefined) serial.baud = choice.baud;
  if (choice.dtr !== undefined) serial.dtr = choice.dtr;
  if (choice.rts !== undefined) serial.rts = choice.rts;
  const spec = choice.port ?? process.env.LIQUID_PORT ?? (await detectDevice(serial));
  return DeviceClient.open(connectorFor(spec, serial), options);
}
