// The serial transport over a real pseudo-terminal pair (socat): a simulated device on one end,
// the CLI and client on the other — the same path a USB board takes, minus the cable.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DeviceClient } from "../../compiler/src/protocol/client.js";
import { openSerial } from "../../compiler/src/transport/serial.js";
import { connectorFor } from "../../compiler/src/transport/select.js";
import type { Transport } from "../../compiler/src/transport/transport.js";
import { liquid, until } from "../cli/support.js";
import { type BuiltApp, fixtureApp, gpio, simDevice } from "./support.js";

const HAVE_SOCAT = spawnSync("socat", ["-V"]).status === 0;
const DIR = mkdtempSync(join(tmpdir(), "liquid-serial-"));
const HOST_END = join(DIR, "ttyHOST");
const DEVICE_END = join(DIR, "ttyDEVICE");
let socat: ChildProcess | undefined;
let blinky: BuiltApp;

/** A pty pair whose ends survive their users closing and reopening them (ignoreeof). */
async function startLine(): Promise<void> {
  socat = spawn("socat", [`pty,raw,echo=0,link=${HOST_END},ignoreeof`, `pty,raw,echo=0,link=${DEVICE_END},ignoreeof`], { stdio: "ignore" });
  await until(() => existsSync(HOST_END) && existsSync(DEVICE_END), "socat's pty links", 5000);
}

async function stopLine(): Promise<void> {
  const s = socat;
  socat = undefined;
  if (!s || s.exitCode !== null) return;
  const exited = new Promise((r) => s.once("exit", r));
  s.kill("SIGTERM");
  await exited;
  rmSync(HOST_END, { force: true });
  rmSync(DEVICE_END, { force: true });
}

const cleanup: (() => Promise<void>)[] = [];

beforeAll(async () => {
  if (HAVE_SOCAT) blinky = await fixtureApp("blinky", DIR);
});
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

/** The simulated device serving the device end of the line. */
async function deviceOnLine() {
  const dev = await simDevice();
  let port: Transport | undefined;
  const attach = async () => {
    port = await openSerial(DEVICE_END);
    dev.server.serve(port);
  };
  await attach();
  cleanup.push(async () => {
    await port?.close();
    await dev.stop();
  });
  return { dev, reattach: attach, detach: async () => port?.close() };
}

describe.skipIf(!HAVE_SOCAT)("serial transport over a pty pair", () => {
  it("deploys and runs an app through the CLI with --port PATH and --baud", async () => {
    await startLine();
    cleanup.push(stopLine);
    const { dev } = await deviceOnLine();
    const r = await liquid("deploy", join(DIR, "blinky.wasm"), "--port", HOST_END, "--baud", "921600", "--start");
    expect(r.err).toBe("");
    expect(r.out).toMatch(new RegExp(`^deployed blinky 1\\.2\\.0 \\(\\d+ B, sha256 [0-9a-f]{12}\\) to ${HOST_END}, running`, "m"));
    dev.simulation.runFor(1000);
    expect(gpio(dev.events, "LED0").map(([, v]) => v)).toEqual([1, 0]);
    const ps = await liquid("ps", "--json", "--port", `serial:${HOST_END}?baud=115200`);
    expect(JSON.parse(ps.out)).toEqual([expect.objectContaining({ name: "blinky", state: "running" })]);
    // A pty has no modem control lines: asking for them is an error that says so.
    const dtr = await liquid("ps", "--port", `serial:${HOST_END}?dtr=0`);
    expect(dtr.err).toMatch(/^liquid ps: cannot set DTR\/RTS on .*ttyHOST: .* \(ptys and some adapters have no modem lines; drop dtr\/rts from --port\)\n$/);
  });

  it("refuses a hard reset on a port without modem lines, saying why", async () => {
    await startLine();
    cleanup.push(stopLine);
    const r = await liquid("reset", "--hard", "--port", HOST_END);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^liquid reset: cannot (pulse RTS|set DTR\/RTS) on .*ttyHOST: .*\n$/);
  });

  it("says the port is busy when another program holds it", async () => {
    await startLine();
    cleanup.push(stopLine);
    const holder = await openSerial(HOST_END);
    cleanup.push(() => holder.close());
    const r = await liquid("info", "--port", HOST_END);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`liquid info: serial port ${HOST_END} is busy: another program (a serial monitor, another liquid command) has it open; close it and retry\n`);
  });

  it("reconnects when the line drops and comes back (a board resetting) and carries on", async () => {
    await startLine();
    cleanup.push(stopLine);
    const line = await deviceOnLine();
    const client = await DeviceClient.open(connectorFor(HOST_END), { timeoutMs: 300, reconnectWindowMs: 8000 });
    cleanup.push(() => client.close());
    await client.put("blinky", blinky.wasm, blinky.manifest);
    // The USB device vanishes: both pty ends go away, then come back under the same paths.
    await line.detach();
    await stopLine();
    const listing = client.list();
    await new Promise((r) => setTimeout(r, 300));
    await startLine();
    await line.reattach();
    expect((await listing).map((a) => a.name)).toEqual(["blinky"]);
    expect(client.reconnects).toBeGreaterThanOrEqual(1);
    await client.start("blinky");
    expect((await client.list())[0]!.state).toBe("running");
  });
});
