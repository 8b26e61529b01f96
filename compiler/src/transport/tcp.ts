import { Socket } from "node:net";
import { TransportError, type Transport } from "./transport.js";

export interface TcpAddress {
  host: string;
  port: number;
}

/** Parses `tcp://HOST:PORT`; anything else is a usage mistake worth a precise message. */
export function parseTcpUrl(url: string): TcpAddress {
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(url);
  if (!m) throw new TransportError(`not a TCP address: '${url}' (expected tcp://HOST:PORT, e.g. tcp://127.0.0.1:7000)`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new TransportError(`TCP port out of range in '${url}' (1..65535)`);
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port };
}

class TcpTransport implements Transport {
  closed = false;
  private dataListener: (d: Uint8Array) => void = () => {};
  private closeListeners: ((e?: Error) => void)[] = [];

  constructor(
    readonly url: string,
    private readonly socket: Socket,
  ) {
    socket.setNoDelay(true);
    socket.on("data", (d) => this.dataListener(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)));
    socket.on("error", () => {}); // reported through "close"
    socket.on("close", () => {
      if (this.closed) return;
      this.closed = true;
      for (const l of this.closeListeners) l();
    });
  }
  write(data: Uint8Array): void {
    if (this.closed) throw new TransportError(`connection to ${this.url} is closed`);
    this.socket.write(data);
  }
  onData(listener: (data: Uint8Array) => void): void {
    this.dataListener = listener;
  }
  onClose(listener: (error?: Error) => void): void {
    this.closeListeners.push(listener);
  }
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once("close", () => resolve());
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 200).unref();
    });
  }
}

/** Wraps an accepted or connected socket (a simulated device's server side uses this too). */
export function socketTransport(url: string, socket: Socket): Transport {
  return new TcpTransport(url, socket);
}

/** Connects to a device listening on TCP (liquid-device, QEMU's UART socket, a simulated device). */
export function connectTcp(url: string, timeoutMs = 3000): Promise<Transport> {
  const { host, port } = parseTcpUrl(url);
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TransportError(`cannot connect to ${url}: no answer within ${timeoutMs} ms (is the host reachable and the device running?)`, "ETIMEDOUT"));
    }, timeoutMs);
    socket.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new TransportError(describeConnectError(url, err), err.code));
    });
    socket.connect(port, host, () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      resolve(new TcpTransport(url, socket));
    });
  });
}

function describeConnectError(url: string, err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case "ECONNREFUSED":
      return `cannot connect to ${url}: connection refused, no device is listening there (start one with 'liquid emulate', or run 'liquid devices' to see running devices)`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `cannot connect to ${url}: unknown host`;
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return `cannot connect to ${url}: host unreachable`;
    default:
      return `cannot connect to ${url}: ${err.message}`;
  }
}
