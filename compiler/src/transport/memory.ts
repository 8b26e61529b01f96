import { TransportError, type Transport } from "./transport.js";

/**
 * Both ends of an in-memory byte stream, for a simulated device in the same process as its
 * client (tests, `liquid sim` talking to its own devices). Bytes are delivered asynchronously,
 * in order, like a socket; closing either end closes both.
 */
export function createMemoryPair(url = "mem://device"): [MemoryTransport, MemoryTransport] {
  const a = new MemoryTransport(url);
  const b = new MemoryTransport(url);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

export class MemoryTransport implements Transport {
  closed = false;
  peer: MemoryTransport | undefined;
  private dataListener: (d: Uint8Array) => void = () => {};
  private closeListeners: ((e?: Error) => void)[] = [];

  constructor(readonly url: string) {}

  write(data: Uint8Array): void {
    if (this.closed) throw new TransportError(`connection to ${this.url} is closed`);
    const copy = data.slice();
    const peer = this.peer!;
    setImmediate(() => {
      if (!peer.closed) peer.dataListener(copy);
    });
  }
  onData(listener: (data: Uint8Array) => void): void {
    this.dataListener = listener;
  }
  onClose(listener: (error?: Error) => void): void {
    this.closeListeners.push(listener);
  }
  async close(): Promise<void> {
    this.shut();
    this.peer?.shut();
  }
  private shut(): void {
    if (this.closed) return;
    this.closed = true;
    // After bytes already in flight, like a socket's FIN.
    setImmediate(() => {
      for (const l of this.closeListeners) l();
    });
  }
}
