import type { SerialLine } from "./serial-line.js";

/**
 * The part of the Web Serial `SerialPort` that esptool-js's `Transport` uses, over a
 * `SerialLine`: open/close, `readable`/`writable` streams that are replaced on every open (as in
 * browsers), `setSignals`, `getInfo`, and `setBaudRate`, which esptool-js prefers to closing and
 * reopening the port when it changes speed (a reopen would drop the modem lines and reset some
 * boards).
 */
export class WebSerialPortShim {
  readable: ReadableStream<Uint8Array> | null = null;
  writable: LineWritable | null = null;

  constructor(private readonly line: SerialLine) {}

  async open(options: { baudRate: number }): Promise<void> {
    if (this.readable) throw new DOMException(`${this.line.path} is already open`, "InvalidStateError");
    await this.line.open(options.baudRate);
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let live = true;
    this.readable = new ReadableStream<Uint8Array>({
      start: (c) => {
        controller = c;
      },
      cancel: () => {
        live = false;
      },
    });
    this.line.onData((data) => {
      if (live) controller.enqueue(data);
    });
    this.writable = new LineWritable(this.line);
  }

  async close(): Promise<void> {
    const readable = this.readable;
    this.readable = null;
    this.writable = null;
    this.line.onData(() => {});
    if (readable && !readable.locked) await readable.cancel().catch(() => {});
    await this.line.close();
  }

  async setSignals(signals: { dataTerminalReady?: boolean; requestToSend?: boolean; break?: boolean }): Promise<void> {
    const lines: { dtr?: boolean; rts?: boolean } = {};
    if (signals.dataTerminalReady !== undefined) lines.dtr = signals.dataTerminalReady;
    if (signals.requestToSend !== undefined) lines.rts = signals.requestToSend;
    await this.line.setSignals(lines);
  }

  async setBaudRate(baudRate: number): Promise<void> {
    await this.line.setBaudRate(baudRate);
  }

  getInfo(): { usbVendorId?: number; usbProductId?: number } {
    return this.line.usbIds?.() ?? {};
  }
}

/**
 * The writable side. Not a WritableStream: esptool-js takes a writer, awaits write() and only
 * then releases the lock, so a failed write (an unplugged adapter) would leave a real stream
 * locked forever and hang its disconnect. This writer lets go of the lock when a write fails.
 */
class LineWritable {
  locked = false;

  constructor(private readonly line: SerialLine) {}

  getWriter(): { write(chunk: Uint8Array): Promise<void>; releaseLock(): void; close(): Promise<void> } {
    if (this.locked) throw new TypeError("the writable side is already locked");
    this.locked = true;
    return {
      write: async (chunk: Uint8Array) => {
        try {
          await this.line.write(chunk);
        } catch (err) {
          this.locked = false;
          throw err;
        }
      },
      releaseLock: () => {
        this.locked = false;
      },
      close: async () => {
        this.locked = false;
      },
    };
  }
}
