import { SerialPort } from "serialport";
import { TransportError, type Transport } from "./transport.js";

export interface SerialOptions {
  baud?: number;
  /** Levels to drive after opening; undefined leaves the driver's default (asserted on Linux). */
  dtr?: boolean;
  rts?: boolean;
}

export const DEFAULT_BAUD = 115200;

/**
 * Parses the serial forms of --port: a device path (/dev/ttyACM0, /dev/pts/3, COM3) or
 * `serial:PATH?baud=N&dtr=0&rts=0`.
 */
export function parseSerialSpec(spec: string): { path: string } & SerialOptions {
  let path = spec;
  const out: SerialOptions = {};
  if (spec.startsWith("serial:")) {
    const rest = spec.slice("serial:".length).replace(/^\/\/(?=\/)/, "");
    const q = rest.indexOf("?");
    path = q >= 0 ? rest.slice(0, q) : rest;
    if (q >= 0) {
      for (const [k, v] of new URLSearchParams(rest.slice(q + 1))) {
        if (k === "baud") out.baud = parseBaud(v);
        else if (k === "dtr" || k === "rts") out[k] = v === "1" || v === "true" || v === "on";
        else throw new TransportError(`unknown serial option '${k}' in '${spec}' (known: baud, dtr, rts)`);
      }
    }
  }
  if (!path) throw new TransportError(`no serial port path in '${spec}'`);
  return { path, ...out };
}

export function parseBaud(text: string): number {
  const baud = Number(text);
  if (!Number.isInteger(baud) || baud < 300 || baud > 12_000_000) throw new TransportError(`bad baud rate '${text}' (e.g. 115200)`);
  return baud;
}

class SerialTransport implements Transport {
  closed = false;
  /** 8N1: ten bits on the wire per byte. */
  readonly bytesPerSecond: number;
  private dataListener: (d: Uint8Array) => void = () => {};
  private closeListeners: ((e?: Error) => void)[] = [];

  constructor(
    readonly url: string,
    private readonly port: SerialPort,
    baud: number,
  ) {
    this.bytesPerSecond = baud / 10;
    port.on("data", (d: Buffer) => this.dataListener(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)));
    port.on("error", () => {});
    // A USB board that resets disappears: the port closes with an error, and the protocol
    // client reopens the same path once the board is back.
    port.on("close", (err?: Error) => {
      if (this.closed) return;
      this.closed = true;
      for (const l of this.closeListeners) l(err ?? undefined);
    });
  }
  write(data: Uint8Array): void {
    if (this.closed) throw new TransportError(`serial port ${this.port.path} is closed`);
    this.port.write(Buffer.from(data));
  }
  onData(listener: (data: Uint8Array) => void): void {
    this.dataListener = listener;
  }
  onClose(listener: (error?: Error) => void): void {
    this.closeListeners.push(listener);
  }
  /** Drives the modem control lines, e.g. to reset a board wired like an ESP32 devkit. */
  setSignals(signals: { dtr?: boolean; rts?: boolean }): Promise<void> {
    return new Promise((resolve, reject) => this.port.set(signals, (err) => (err ? reject(err) : resolve())));
  }
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.port.close(() => resolve());
    });
  }
}

export async function openSerial(spec: string, defaults: SerialOptions = {}): Promise<Transport> {
  const parsed = parseSerialSpec(spec);
  const baud = parsed.baud ?? defaults.baud ?? DEFAULT_BAUD;
  const port = new SerialPort({ path: parsed.path, baudRate: baud, autoOpen: false, lock: true });
  await new Promise<void>((resolve, reject) =>
    port.open((err) => (err ? reject(new TransportError(describeOpenError(parsed.path, err), errorCode(err))) : resolve())),
  );
  const transport = new SerialTransport(parsed.path, port, baud);
  const dtr = parsed.dtr ?? defaults.dtr;
  const rts = parsed.rts ?? defaults.rts;
  if (dtr !== undefined || rts !== undefined) {
    const signals: { dtr?: boolean; rts?: boolean } = {};
    if (dtr !== undefined) signals.dtr = dtr;
    if (rts !== undefined) signals.rts = rts;
    try {
      await transport.setSignals(signals);
    } catch (err) {
      await transport.close();
      throw new TransportError(`cannot set DTR/RTS on ${parsed.path}: ${(err as Error).message.replace(/^Error: /, "")} (ptys and some adapters have no modem lines; drop dtr/rts from --port)`);
    }
  }
  return transport;
}

function errorCode(err: Error): string {
  const m = err.message;
  if (/no such file|ENOENT/i.test(m)) return "ENOENT";
  if (/cannot lock|resource temporarily unavailable|EBUSY|busy/i.test(m)) return "EBUSY";
  if (/permission denied|EACCES/i.test(m)) return "EACCES";
  return "EIO";
}

function describeOpenError(path: string, err: Error): string {
  switch (errorCode(err)) {
    case "ENOENT":
      return `no serial port at ${path}: check the cable and the path, or run 'liquid devices' to list connected ports`;
    case "EBUSY":
      return `serial port ${path} is busy: another program (a serial monitor, another liquid command) has it open; close it and retry`;
    case "EACCES":
      return `no permission to open ${path}: add your user to the port's group (often 'dialout') and log in again`;
    default:
      return `cannot open serial port ${path}: ${err.message}`;
  }
}

/**
 * Resets a board through its USB-serial adapter's modem lines, as ESP32 devkits and many
 * boards are wired (RTS to EN/RESET through a transistor): RTS asserted for 100 ms, DTR
 * released so the chip boots normally rather than into its ROM loader.
 */
export async function pulseReset(spec: string, defaults: SerialOptions = {}): Promise<void> {
  const path = parseSerialSpec(spec).path;
  const t = (await openSerial(spec, defaults)) as SerialTransport;
  try {
    await t.setSignals({ dtr: false, rts: true });
    await new Promise((r) => setTimeout(r, 100));
    await t.setSignals({ rts: false });
  } catch (err) {
    throw new TransportError(
      `cannot pulse RTS on ${path}: ${(err as Error).message.replace(/^Error: /, "")} (a pty or an adapter without modem lines cannot reset the board; use 'liquid reset' without --hard)`,
    );
  } finally {
    await t.close();
  }
}
