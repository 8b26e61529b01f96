/**
 * A minimal client of QEMU's machine protocol (QMP): JSON commands over a TCP socket. The
 * emulated board's peripherals that the firmware only reads — the TMP105's temperature — are
 * changed from the outside through it, as a person would warm the sensor on a real board.
 */
import { Socket } from "node:net";
import { TransportError } from "./transport.js";

/** QOM path of the TMP105 that `startQemuDevice` attaches (its `id=temp0`). */
export const QEMU_TMP105_PATH = "/machine/peripheral/temp0";

export class QmpClient {
  private buffer = "";
  private waiter: (() => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding("utf8");
    socket.on("data", (text: string) => {
      this.buffer += text;
      this.waiter?.();
    });
    socket.on("error", () => this.waiter?.());
  }

  /** Connects (QEMU opens the socket a moment after starting: retried for up to `timeoutMs`),
   * reads the greeting and leaves capabilities negotiation mode. */
  static async connect(port: number, timeoutMs = 5000): Promise<QmpClient> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = new Socket();
          s.once("error", reject);
          s.connect(port, "127.0.0.1", () => {
            s.removeListener("error", reject);
            resolve(s);
          });
        });
        const client = new QmpClient(socket);
        await client.until((text) => (text.includes('"QMP"') ? true : undefined), "the QMP greeting", deadline);
        await client.execute("qmp_capabilities");
        return client;
      } catch (err) {
        if (Date.now() > deadline) throw new TransportError(`QEMU's machine protocol (QMP) on port ${port} did not answer: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** Runs one command and returns its "return" value; a QMP "error" is thrown with its text. */
  async execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    this.buffer = "";
    this.socket.write(JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }));
    const line = await this.until(
      (text) => text.split("\n").find((l) => l.includes('"return"') || l.includes('"error"')),
      `an answer to ${command}`,
      Date.now() + 5000,
    );
    const reply = JSON.parse(line) as { return?: unknown; error?: { desc: string } };
    if (reply.error) throw new TransportError(`QEMU refused ${command}: ${reply.error.desc}`);
    return reply.return;
  }

  /** Sets the emulated TMP105's temperature (°C; the model keeps milli-degrees). */
  async setTemperature(celsius: number): Promise<void> {
    await this.execute("qom-set", { path: QEMU_TMP105_PATH, property: "temperature", value: Math.round(celsius * 1000) });
  }

  close(): void {
    this.socket.destroy();
  }

  private until<T>(found: (text: string) => T | undefined, what: string, deadline: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => finish(), Math.max(0, deadline - Date.now()));
      const finish = () => {
        const value = found(this.buffer);
        if (value !== undefined) {
          clearTimeout(timer);
          this.waiter = undefined;
          resolve(value);
        } else if (Date.now() >= deadline || this.socket.destroyed) {
          clearTimeout(timer);
          this.waiter = undefined;
          reject(new TransportError(`no ${what} from QEMU`));
        }
      };
      this.waiter = finish;
      finish();
    });
  }
}
