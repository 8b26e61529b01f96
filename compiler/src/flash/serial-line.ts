import { SerialPort } from "serialport";
import { CliError } from "../command.js";

/**
 * The host's end of a serial line, as flashers need it: bytes both ways, the DTR/RTS modem lines
 * (wired to EN and GPIO0 on ESP32 boards), and the baud rate. `NodeSerialLine` is a real port;
 * the simulator's in-memory link provides the same shape.
 */
export interface SerialLine {
  readonly path: string;
  open(baudRate: number): Promise<void>;
  close(): Promise<void>;
  write(data: Uint8Array): Promise<void>;
  onData(listener: (data: Uint8Array) => void): void;
  setSignals(lines: { dtr?: boolean; rts?: boolean }): Promise<void>;
  setBaudRate(baudRate: number): Promise<void>;
  /** false once the port turned out to have no DTR/RTS lines (a pty, a bare UART). */
  hasModemLines?(): boolean;
  /** USB ids when the OS knows them (lets esptool tell USB-JTAG ports from UART bridges). */
  usbIds?(): { usbVendorId?: number; usbProductId?: number };
}

const schemes = new Map<string, (path: string) => SerialLine>();

/**
 * Lets a port name like `memory://esp32` reach something other than a device file: the tests
 * connect `liquid flash` to an in-memory simulated chip this way. Returns the undo function.
 */
export function registerPortScheme(prefix: string, open: (path: string) => SerialLine): () => void {
  schemes.set(prefix, open);
  return () => schemes.delete(prefix);
}

export function isSchemePort(path: string): boolean {
  return [...schemes.keys()].some((prefix) => path.startsWith(prefix));
}

/** The line for a --port value: a registered scheme, else a real serial port. */
export function openSerialLine(path: string, onNoModemLines: (message: string) => void): SerialLine {
  for (const [prefix, open] of schemes) if (path.startsWith(prefix)) return open(path);
  return new NodeSerialLine(path, onNoModemLines);
}

/** The message a user sees when a port cannot be opened; the tests pin these texts. */
export function portBusyMessage(path: string): string {
  return `port ${path} is busy: close the program using it (another liquid logs --follow?)`;
}
export function portMissingMessage(path: string): string {
  return `port ${path} does not exist: is the board plugged in? (serial ports are usually /dev/ttyUSB* or /dev/ttyACM*)`;
}
export function portDeniedMessage(path: string): string {
  return `no permission to open ${path}: add your user to the 'dialout' group (then log in again)`;
}

export function notAPortMessage(path: string): string {
  return `${path} is not a serial port (serial ports are usually /dev/ttyUSB* or /dev/ttyACM*)`;
}

/** Turns what the OS said about an open() into a message that says what to do. */
export function explainOpenError(path: string, err: unknown): CliError {
  const text = err instanceof Error ? err.message : String(err);
  if (/cannot lock port|resource temporarily unavailable|EBUSY|device or resource busy/i.test(text)) return new CliError(portBusyMessage(path));
  if (/no such file or directory|ENOENT/i.test(text)) return new CliError(portMissingMessage(path));
  if (/permission denied|EACCES/i.test(text)) return new CliError(portDeniedMessage(path));
  if (/inappropriate ioctl|ENOTTY|is a directory|EISDIR/i.test(text)) return new CliError(notAPortMessage(path));
  return new CliError(`cannot open ${path}: ${text}`);
}

/**
 * A serial port through the `serialport` package. The port is opened with an exclusive lock, so
 * a second program (a `liquid logs --follow` left running) makes open fail instead of the two
 * stealing each other's bytes. Ports without modem lines (a pty, some bare UARTs) reject
 * DTR/RTS changes; that is reported once through `onNoModemLines` and otherwise ignored, since
 * the ROM loader can still be reached with a plain sync when the board is held in download
 * mode by hand.
 */
export class NodeSerialLine implements SerialLine {
  private port?: SerialPort;
  private listener: (data: Uint8Array) => void = () => {};
  private dtr = true;
  private rts = true;
  private modemLines = true;
  private ids: { usbVendorId?: number; usbProductId?: number } = {};

  constructor(
    readonly path: string,
    private readonly onNoModemLines: (message: string) => void = () => {},
  ) {}

  async open(baudRate: number): Promise<void> {
    const port = new SerialPort({ path: this.path, baudRate, autoOpen: false, lock: true });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(explainOpenError(this.path, err)) : resolve())));
    port.on("data", (chunk: Buffer) => this.listener(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
    // An unplugged board shows up as an error/close on the stream; the flasher then times out
    // with its own message, so the stream's error must not crash the process.
    port.on("error", () => {});
    this.port = port;
    try {
      const list = await SerialPort.list();
      const info = list.find((p) => p.path === this.path);
      if (info?.vendorId && info.productId) this.ids = { usbVendorId: parseInt(info.vendorId, 16), usbProductId: parseInt(info.productId, 16) };
    } catch {
      // Listing needs udev helpers that containers often lack; the ids are only a hint.
    }
  }

  async close(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    if (!port?.isOpen) return;
    await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  async write(data: Uint8Array): Promise<void> {
    const port = this.requirePort();
    await new Promise<void>((resolve, reject) => {
      port.write(Buffer.from(data), (err) => (err ? reject(err) : undefined));
      port.drain((err) => (err ? reject(err) : resolve()));
    });
  }

  onData(listener: (data: Uint8Array) => void): void {
    this.listener = listener;
  }

  async setSignals(lines: { dtr?: boolean; rts?: boolean }): Promise<void> {
    const port = this.requirePort();
    if (lines.dtr !== undefined) this.dtr = lines.dtr;
    if (lines.rts !== undefined) this.rts = lines.rts;
    if (!this.modemLines) return;
    // serialport's set() fills unspecified lines with defaults, so always send both.
    await new Promise<void>((resolve, reject) =>
      port.set({ dtr: this.dtr, rts: this.rts }, (err) => {
        // Only "not a tty with modem lines" means that; anything else (EIO: unplugged) is real.
        if (err && !/inappropriate ioctl|ENOTTY|invalid argument|EINVAL/i.test(err.message)) {
          reject(err);
          return;
        }
        if (err) {
          this.modemLines = false;
          this.onNoModemLines(
            `${this.path} has no DTR/RTS lines (${err.message.replace(/^Error: /, "").replace(/, cannot set$/i, "")}): ` +
              `the board cannot be reset into its bootloader automatically; if it does not answer, hold BOOT (GPIO0) and press EN/RESET`,
          );
        }
        resolve();
      }),
    );
  }

  async setBaudRate(baudRate: number): Promise<void> {
    const port = this.requirePort();
    await new Promise<void>((resolve, reject) => port.update({ baudRate }, (err) => (err ? reject(err) : resolve())));
  }

  hasModemLines(): boolean {
    return this.modemLines;
  }

  usbIds(): { usbVendorId?: number; usbProductId?: number } {
    return this.ids;
  }

  private requirePort(): SerialPort {
    if (!this.port?.isOpen) throw new Error(`${this.path} is not open`);
    return this.port;
  }
}
