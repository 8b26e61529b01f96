import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { Socket, createServer } from "node:net";
import { join } from "node:path";
import { LIQUID_ROOT } from "../paths.js";
import { QmpClient } from "./qmp.js";
import { TransportError } from "./transport.js";

/**
 * Starting the firmware as a local device: the posix `liquid-device` process and the QEMU
 * mps2-an386 image. Both end up as a TCP port the protocol client connects to.
 */

/** Candidate builds of the posix firmware, fastest first (release over sanitized). */
const POSIX_BUILDS = ["build/posix-release", "build/posix", "build/posix-asan"];
const QEMU_BUILD = "build/qemu";

function findFile(dir: string, name: string, depth = 5): string | undefined {
  if (depth < 0 || !existsSync(dir)) return undefined;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return undefined;
  }
  if (entries.includes(name) && statSync(join(dir, name)).isFile()) return join(dir, name);
  for (const e of entries) {
    if (e === "CMakeFiles" || e.startsWith(".")) continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) {
      const found = findFile(p, name, depth - 1);
      if (found) return found;
    }
  }
  return undefined;
}

export function findPosixDevice(): string | undefined {
  for (const b of POSIX_BUILDS) {
    const found = findFile(join(LIQUID_ROOT, b), "liquid-device");
    if (found) return found;
  }
  return undefined;
}

export function findQemuImage(): string | undefined {
  return findFile(join(LIQUID_ROOT, QEMU_BUILD), "liquid-qemu.elf");
}

function run(cmd: string, args: string[], what: string): void {
  try {
    execFileSync(cmd, args, { cwd: LIQUID_ROOT, stdio: ["ignore", "ignore", "pipe"] });
  } catch (err) {
    const e = err as { stderr?: Buffer; code?: string };
    if (e.code === "ENOENT") throw new TransportError(`${what}: '${cmd}' is not installed (run scripts/setup.sh)`);
    const tail = (e.stderr?.toString() ?? "").trim().split("\n").slice(-12).join("\n");
    throw new TransportError(`${what} failed:\n${tail}`);
  }
}

/** Builds the posix firmware (build/posix, release) when no build of it exists yet. */
export function ensurePosixDevice(log: (line: string) => void): string {
  const found = findPosixDevice();
  if (found) return found;
  const dir = join(LIQUID_ROOT, "build", "posix");
  log("building the posix firmware (cmake, build/posix) ...");
  run("cmake", ["-S", LIQUID_ROOT, "-B", dir, "-DCMAKE_BUILD_TYPE=Release"], "configuring the posix firmware");
  run("cmake", ["--build", dir, "-j2"], "building the posix firmware");
  const built = findPosixDevice();
  if (!built) throw new TransportError("the posix build finished but produced no liquid-device: this checkout's CMake project does not build the posix port yet");
  return built;
}

/** Builds the QEMU image (build/qemu, arm-none-eabi) when it does not exist yet. */
export function ensureQemuImage(log: (line: string) => void): string {
  const found = findQemuImage();
  if (found) return found;
  const dir = join(LIQUID_ROOT, QEMU_BUILD);
  log("building the QEMU firmware (cmake, build/qemu, arm-none-eabi-gcc) ...");
  run(
    "cmake",
    ["-S", LIQUID_ROOT, "-B", dir, `-DCMAKE_TOOLCHAIN_FILE=${join(LIQUID_ROOT, "cmake", "arm-none-eabi.cmake")}`, "-DLIQUID_PORT=qemu", "-DCMAKE_BUILD_TYPE=MinSizeRel"],
    "configuring the QEMU firmware",
  );
  run("cmake", ["--build", dir, "-j2"], "building the QEMU firmware");
  const built = findQemuImage();
  if (!built) throw new TransportError("the QEMU build finished but produced no liquid-qemu.elf: the full firmware is not linked for the qemu port yet (only its self-test)");
  return built;
}

/** A free TCP port on localhost (bind to 0, read, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface StartedProcess {
  child: ChildProcess;
  url: string;
}

/** Forwards a child's output line by line (device event lines, firmware console). */
function pipeLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (!stream) return;
  let buf = "";
  stream.setEncoding("utf8");
  stream.on("data", (text: string) => {
    buf += text;
    const lines = buf.split("\n");
    buf = lines.pop() ?? "";
    for (const l of lines) onLine(l);
  });
}

/** Starts liquid-device and waits for its `listening on tcp://...` line. */
export function startPosixDevice(
  binary: string,
  options: { port: number; flash?: string; board?: string; id?: string },
  onLine: (line: string) => void,
): Promise<StartedProcess> {
  const args = ["--board", options.board ?? join(LIQUID_ROOT, "boards", "posix.json"), "--listen", `tcp:127.0.0.1:${options.port}`];
  if (options.flash) args.push("--flash", options.flash);
  if (options.id) args.push("--id", options.id);
  const child = spawn(binary, args, { stdio: ["pipe", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let stderr = "";
    let done = false;
    const timer = setTimeout(() => fail(`liquid-device did not say where it listens within 10 s`), 10_000);
    const fail = (why: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new TransportError(`${why}${stderr ? `\n${stderr.trim()}` : ""}`));
    };
    pipeLines(child.stdout, (line) => {
      const m = /listening on (tcp:\/\/[^\s]+)/.exec(line);
      if (m && !done) {
        done = true;
        clearTimeout(timer);
        resolve({ child, url: m[1]! });
        return;
      }
      onLine(line);
    });
    pipeLines(child.stderr, (line) => {
      stderr = (stderr + line + "\n").slice(-4000);
      if (done) onLine(line);
    });
    child.once("error", (err) => fail(`cannot run ${binary}: ${err.message}`));
    child.once("exit", (code, signal) => fail(`liquid-device exited before listening (${signal ?? `exit ${code}`})`));
  });
}

/**
 * Starts QEMU with the firmware; its UART0 becomes a TCP server at the given port. With
 * `console`, the process's stdin feeds UART1, the firmware's console (`set BUTTON0 0`, `stats`);
 * with `qmp`, the returned `qmp` client sets the TMP105's temperature.
 */
export async function startQemuDevice(
  image: string,
  options: { port: number; flash?: string; console?: boolean; qmp?: boolean },
  onLine: (line: string) => void,
): Promise<StartedProcess & { qmp?: QmpClient }> {
  const qmpPort = options.qmp ? await freePort() : 0;
  const args = [
    "-M", "mps2-an386", "-nographic", "-monitor", "none", "-kernel", image,
    // UART0 carries the protocol; a client may connect, leave and connect again.
    "-serial", `tcp:127.0.0.1:${options.port},server=on,wait=off,nodelay=on`,
    "-serial", "stdio",
    "-device", "tmp105,bus=i2c,address=0x48,id=temp0",
  ];
  if (options.flash) args.push("-semihosting-config", "enable=on,target=native", "-append", `store=${options.flash}`);
  if (options.qmp) args.push("-qmp", `tcp:127.0.0.1:${qmpPort},server=on,wait=off`);
  const child = spawn("qemu-system-arm", args, { stdio: [options.console ? "pipe" : "ignore", "pipe", "pipe"] });
  pipeLines(child.stdout, onLine);
  let stderr = "";
  pipeLines(child.stderr, (line) => (stderr = (stderr + line + "\n").slice(-4000)));
  const url = `tcp://127.0.0.1:${options.port}`;
  const deadline = Date.now() + 10_000;
  // QEMU opens its socket a moment after starting; poll until it accepts.
  for (;;) {
    if (child.exitCode !== null) throw new TransportError(`qemu-system-arm exited (${child.exitCode}):\n${stderr.trim()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = new Socket();
      s.once("error", () => resolve(false));
      s.connect(options.port, "127.0.0.1", () => {
        s.destroy();
        resolve(true);
      });
    });
    if (ok) {
      if (!options.qmp) return { child, url };
      try {
        return { child, url, qmp: await QmpClient.connect(qmpPort) };
      } catch (err) {
        child.kill("SIGKILL");
        throw err;
      }
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new TransportError(`qemu-system-arm did not open its UART socket within 10 s:\n${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
