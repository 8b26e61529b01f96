/**
 * A byte stream to a device. The protocol client does not care what carries the bytes (TCP,
 * a serial port, a pty, an in-memory pipe to a simulated device), only that it can write,
 * hear data, and learn when the stream ends.
 */
export interface Transport {
  /** Where the stream goes, as the user would pass it to --port (e.g. tcp://127.0.0.1:7000). */
  readonly url: string;
  readonly closed: boolean;
  /** Line speed when the link is slow enough to matter (a UART: baud / 10); undefined for fast links. */
  readonly bytesPerSecond?: number;
  write(data: Uint8Array): void;
  /** Replaces the data listener (one consumer: the protocol client or server). */
  onData(listener: (data: Uint8Array) => void): void;
  /** Called once when the stream ends, for whatever reason. */
  onClose(listener: (error?: Error) => void): void;
  close(): Promise<void>;
}

/** Opens a fresh stream to the same device; used again to reconnect after a drop or a reset. */
export type Connector = () => Promise<Transport>;

/** The device could not be reached or the stream broke; the message says what to do next. */
export class TransportError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}
