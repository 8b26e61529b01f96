// Helpers of the QEMU and Cortex-M cross-build suites: build the firmware with the ARM
// toolchain, run it on qemu-system-arm -M mps2-an386 with the protocol UART on a TCP socket,
// watch the debug console (UART1 on stdout) and the LED register (QEMU trace on stderr), and
// change the TMP105 temperature over QMP.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { createServer, Socket } from "node:net";
import { join } from "node:path";
import { QmpClient } from "../../compiler/src/transport/qmp.js";
import { ROOT } from "../helpers/native-build.js";

export { ROOT };

/** True when the named program can be run (found on PATH). */
export function haveProgram(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export const HAVE_QEMU = haveProgram("qemu-system-arm");
export const HAVE_ARM_GCC = haveProgram("arm-none-eabi-gcc");

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Serialises builds of one directory across vitest workers (mkdir is atomic). */
async function withLock<T>(dir: string, fn: () => T): Promise<T> {
  const lock = `${dir}.lock`;
  for (let i = 0; ; i++) {
    try {
      mkdirSync(lock, { recursive: false });
      break;
    } catch {
      if (i > 6000) rmSync(lock, { recursive: true, force: true }); // stale after 10 minutes
      await sleep(100);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Configures and builds the top-level CMake project for a Cortex-M port with the ARM
 * toolchain file, and returns the build directory. `targets` limits what is built.
 * Returns the combined output of the build (it contains the size reports).
 */
export async function buildArmPort(port: "qemu" | "nrf52840", targets: string[] = []): Promise<{ dir: string; output: string }> {
  mkdirSync(join(ROOT, "build"), { recursive: true });
  const dir = join(ROOT, "build", port);
  return withLock(dir, () => {
    execFileSync(
      "cmake",
      ["-S", ROOT, "-B", dir, `-DCMAKE_TOOLCHAIN_FILE=${join(ROOT, "cmake", "arm-none-eabi.cmake")}`, `-DLIQUID_PORT=${port}`, "-DCMAKE_BUILD_TYPE=MinSizeRel"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const args = ["--build", dir, "-j2"];
    for (const t of targets) args.push("--target", t);
    const output = execFileSync("cmake", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return { dir, output };
  });
}

/** A free TCP port on 127.0.0.1 (closed again, so QEMU can bind it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** An LED changing state, from QEMU's trace of the LED registers. */
export interface LedEdge {
  /** Milliseconds since the guest started, from QEMU's own trace timestamp (QEMU's virtual
   * clock follows the host clock, so this is also the firmware's time, give or take). */
  ms: number;
  led: string;
  value: number;
}

export interface QemuOptions {
  kernel: string;
  semihosting?: boolean;
  append?: string;
  tmp105?: boolean;
  qmp?: boolean;
  cwd?: string;
}

/** One running QEMU with the firmware; UART0 is `uart` (TCP), UART1 is `console` text. */
export class Qemu {
  uartText = "";
  uartBytes: Buffer = Buffer.alloc(0);
  console = "";
  leds: LedEdge[] = [];
  private ledState = new Map<string, number>();
  exitCode: number | null | undefined = undefined;
  started = 0;
  private process: ChildProcess;
  private socket!: Socket;
  private qmpClient?: QmpClient;
  private stderrTail = "";
  private onUartData?: (chunk: Buffer) => void;

  private constructor(process: ChildProcess) {
    this.process = process;
  }

  static async start(options: QemuOptions): Promise<Qemu> {
    const uartPort = await freePort();
    const qmpPort = options.qmp ? await freePort() : 0;
    const args = ["-M", "mps2-an386", "-nographic", "-monitor", "none", "-kernel", options.kernel,
      // wait=on: the guest starts only once the test is connected, so no byte is lost.
      "-serial", `tcp:127.0.0.1:${uartPort},server=on,wait=on`, "-serial", "stdio",
      // LED0-1 live in the FPGAIO register, LED2-9 in the SCC's CFG1; timestamps on.
      "-trace", "mps2_fpgaio_write", "-trace", "mps2_scc_write", "-msg", "timestamp=on"];
    if (options.semihosting) args.push("-semihosting-config", "enable=on,target=native");
    if (options.append) args.push("-append", options.append);
    if (options.tmp105) args.push("-device", "tmp105,bus=i2c,address=0x48,id=temp0");
    if (options.qmp) args.push("-qmp", `tcp:127.0.0.1:${qmpPort},server=on,wait=off`);
    // stdin is UART1's input: the firmware reads "set BUTTON0 0|1" there (virtual buttons).
    const child = spawn("qemu-system-arm", args, { cwd: options.cwd ?? ROOT, stdio: ["pipe", "pipe", "pipe"] });
    const qemu = new Qemu(child);
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (text: string) => (qemu.console += text));
    let lineBuffer = "";
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (text: string) => {
      lineBuffer += text;
      const lines = lineBuffer.split("\n");
      lineBuffer = lines.pop() ?? "";
      for (const line of lines) {
        const fpgaio = /@(\d+\.\d+):mps2_fpgaio_write .*offset 0x0 data 0x([0-9a-f]+)/.exec(line);
        const scc = /@(\d+\.\d+):mps2_scc_write .*offset 0x4 data 0x([0-9a-f]+)/.exec(line);
        if (fpgaio) qemu.ledRegister(Number(fpgaio[1]) * 1000, 0, 2, parseInt(fpgaio[2], 16));
        else if (scc) qemu.ledRegister(Number(scc[1]) * 1000, 2, 8, parseInt(scc[2], 16));
        else if (!/mps2_scc_write/.test(line)) qemu.stderrTail = (qemu.stderrTail + line + "\n").slice(-4000);
      }
    });
    child.on("exit", (code) => (qemu.exitCode = code));

    // QEMU needs a moment to listen; retry the connection for a few seconds.
    for (let attempt = 0; ; attempt++) {
      try {
        qemu.socket = await new Promise<Socket>((resolve, reject) => {
          const s = new Socket();
          s.once("error", reject);
          s.connect(uartPort, "127.0.0.1", () => resolve(s));
        });
        break;
      } catch (error) {
        if (attempt > 100 || qemu.exitCode !== undefined) {
          qemu.kill();
          throw new Error(`qemu did not open its UART socket: ${String(error)}\n${qemu.stderrTail}`);
        }
        await sleep(50);
      }
    }
    qemu.started = Date.now();
    qemu.socket.on("data", (chunk: Buffer) => {
      qemu.uartBytes = Buffer.concat([qemu.uartBytes, chunk]);
      qemu.uartText += chunk.toString("latin1");
      qemu.onUartData?.(chunk);
    });
    qemu.socket.on("error", () => undefined);
    if (options.qmp) await qemu.connectQmp(qmpPort);
    return qemu;
  }

  /** Turns one traced register write into edges of the LEDs whose bit changed. */
  private ledRegister(epochMs: number, firstLed: number, count: number, bits: number): void {
    for (let i = 0; i < count; i++) {
      const led = `LED${firstLed + i}`;
      const value = (bits >> i) & 1;
      if ((this.ledState.get(led) ?? 0) === value) continue;
      this.ledState.set(led, value);
      this.leds.push({ ms: Math.round(epochMs - this.started), led, value });
    }
  }

  /** LED edges the firmware itself reported on its console, with device time: the runtime
   * traces every pin write as "gpio <ms> <pin> <0|1>" (the time of the event being handled,
   * e.g. the timer's due time); writes that change nothing are not edges. */
  deviceEdges(led: string): Array<{ t: number; value: number }> {
    const out: Array<{ t: number; value: number }> = [];
    let level = 0;
    for (const m of this.console.matchAll(/^gpio (\d+) (LED\d+) ([01])\r?$/gm)) {
      if (m[2] !== led || Number(m[3]) === level) continue;
      level = Number(m[3]);
      out.push({ t: Number(m[1]), value: level });
    }
    return out;
  }

  /** The edges of one LED. */
  edges(led: string): LedEdge[] {
    return this.leds.filter((e) => e.led === led);
  }

  /** The protocol UART as a raw stream (for the device protocol client). */
  get uart(): Socket {
    return this.socket;
  }

  /** Replaces the buffered UART listener (the protocol client takes over the bytes). */
  onUart(listener: (chunk: Buffer) => void): void {
    this.onUartData = listener;
  }

  send(text: string): void {
    this.socket.write(text);
  }

  /** Writes raw text to the console UART's input (UART1 RX). */
  consoleInput(text: string): void {
    this.process.stdin!.write(text);
  }

  /** Sets a virtual button's line level through the console UART and waits for the ack. */
  async setButton(name: string, level: 0 | 1): Promise<void> {
    const from = this.console.length;
    this.process.stdin!.write(`set ${name} ${level}\n`);
    const ack = `control ok: ${name} ${level}`;
    await this.waitFor(() => (this.console.slice(from).includes(ack) ? true : null), () => `no "${ack}" on the console:\n${this.console.slice(from)}`, 5000);
  }

  /** Waits until `pattern` appears in the UART0 text after `from`, returns the match. */
  async waitUart(pattern: RegExp, timeoutMs = 10_000, from = 0): Promise<RegExpExecArray> {
    return this.waitFor(() => pattern.exec(this.uartText.slice(from)), () => `UART0 never matched ${pattern}; got:\n${this.uartText}`, timeoutMs);
  }

  async waitConsole(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray> {
    return this.waitFor(() => pattern.exec(this.console), () => `console never matched ${pattern}; got:\n${this.console}`, timeoutMs);
  }

  /** Sends a command line and returns the reply line that follows it. */
  async command(line: string, timeoutMs = 10_000): Promise<string> {
    const from = this.uartText.length;
    this.send(line + "\n");
    return (await this.waitUart(/^(.*)\n/, timeoutMs, from))[1];
  }

  async waitExit(timeoutMs = 10_000): Promise<number | null> {
    await this.waitFor(() => (this.exitCode !== undefined ? true : null), () => `qemu did not exit; console:\n${this.console}`, timeoutMs);
    return this.exitCode ?? null;
  }

  async waitFor<T>(probe: () => T | null | undefined | Promise<T | null | undefined>, explain: () => string, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== null && value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(explain());
      if (this.exitCode !== undefined && (await probe()) == null) {
        throw new Error(`qemu exited with ${this.exitCode} while waiting: ${explain()}\nconsole:\n${this.console}\n${this.stderrTail}`);
      }
      await sleep(20);
    }
  }

  private async connectQmp(port: number): Promise<void> {
    this.qmpClient = await QmpClient.connect(port);
  }

  /** Sets the TMP105's temperature in milli-degrees Celsius. */
  async setTemperature(milliCelsius: number): Promise<void> {
    if (!this.qmpClient) throw new Error("qemu was started without qmp: true");
    await this.qmpClient.setTemperature(milliCelsius / 1000);
  }

  kill(): void {
    this.socket?.destroy();
    this.qmpClient?.close();
    if (this.exitCode === undefined) this.process.kill("SIGKILL");
  }
}

/** Path of a firmware image built by buildArmPort. */
export function armImage(dir: string, name: string): string {
  const path = join(dir, "firmware", "ports", name.startsWith("liquid-qemu") ? "qemu" : "nrf52840", `${name}.elf`);
  if (!existsSync(path)) throw new Error(`firmware image missing: ${path}`);
  return path;
}
