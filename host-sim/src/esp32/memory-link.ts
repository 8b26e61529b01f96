import type { SerialLine } from "../../../compiler/src/flash/serial-line.js";
import type { SimulatedEsp32 } from "./simulated-esp32.js";

/** The host's end of a serial line, as the flasher needs it (compiler/src/flash/serial-line.ts):
 * a USB-UART bridge opened with `serialport` and the in-memory link below both provide it. */
export type HostSerialLine = SerialLine;

export interface MemoryLinkOptions {
  /** Sees every chunk the host writes (one SLIP frame per write with esptool) and may alter it:
   * the place to model corruption in transit. `index` counts the host's writes from 0. */
  tamper?: (bytes: Uint8Array, index: number) => Uint8Array;
  /** false: a board without the auto-reset transistors (or a bridge with DTR/RTS unwired): the
   * modem lines reach nothing, so only the BOOT and EN buttons change the chip's mode. */
  autoReset?: boolean;
}

/**
 * Connects a simulated ESP32 to a host serial line in memory: bytes flow through an event-loop
 * queue in order, the modem lines drive the chip's auto-reset circuit, and both ends have a
 * baud rate; bytes sent at one rate and received at another arrive garbled, as on a real UART.
 */
export class MemoryLink implements HostSerialLine {
  readonly path = "memory://esp32";
  private isOpen = false;
  private hostBaud = 115200;
  private listener: (data: Uint8Array) => void = () => {};
  private writes = 0;
  private unplugged = false;

  constructor(
    readonly chip: SimulatedEsp32,
    private readonly options: MemoryLinkOptions = {},
  ) {
    chip.onTransmit((bytes, baud) => {
      setImmediate(() => {
        if (this.isOpen && !this.unplugged) this.listener(garbleUnless(baud === this.hostBaud, bytes));
      });
    });
  }

  async open(baudRate: number): Promise<void> {
    if (this.isOpen) throw new Error(`${this.path} is already open`);
    this.isOpen = true;
    this.hostBaud = baudRate;
    // Opening a tty asserts DTR and RTS; through the auto-reset circuit that changes nothing.
    if (this.options.autoReset !== false) this.chip.setLines({ dtr: true, rts: true });
  }

  async close(): Promise<void> {
    if (!this.isOpen) return;
    this.isOpen = false;
    if (this.options.autoReset !== false) this.chip.setLines({ dtr: false, rts: false });
  }

  /** The USB cable is pulled: nothing crosses any more and writes fail, as with a removed
   * USB-UART bridge (EIO). */
  unplug(): void {
    this.unplugged = true;
  }

  async write(data: Uint8Array): Promise<void> {
    if (!this.isOpen) throw new Error(`${this.path} is not open`);
    if (this.unplugged) throw new Error(`${this.path}: Input/output error (device disconnected)`);
    const bytes = this.options.tamper ? this.options.tamper(Uint8Array.from(data), this.writes) : Uint8Array.from(data);
    if (this.unplugged) throw new Error(`${this.path}: Input/output error (device disconnected)`);
    this.writes++;
    const baud = this.hostBaud;
    setImmediate(() => this.chip.receive(garbleUnless(baud === this.chip.baudRate, bytes)));
  }

  onData(listener: (data: Uint8Array) => void): void {
    this.listener = listener;
  }

  async setSignals(lines: { dtr?: boolean; rts?: boolean }): Promise<void> {
    if (!this.isOpen) throw new Error(`${this.path} is not open`);
    if (this.unplugged) throw new Error(`${this.path}: Input/output error (device disconnected)`);
    if (this.options.autoReset === false) return;
    this.chip.setLines(lines);
  }

  async setBaudRate(baudRate: number): Promise<void> {
    this.hostBaud = baudRate;
  }
}

/** A receiver sampling at the wrong rate sees other bytes than were sent (and no 0xC0 framing). */
function garbleUnless(sameRate: boolean, bytes: Uint8Array): Uint8Array {
  if (sameRate) return bytes;
  return bytes.map((b) => (b === 0xc0 ? 0xf8 : (b * 7 + 3) & 0x7f));
}
