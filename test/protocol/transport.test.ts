// Transports and device discovery: TCP addresses, a silent peer, serial port listing from a
// sysfs tree, the registry of running devices, and a log follow that survives a dropped link.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DeviceClient } from "../../compiler/src/protocol/client.js";
import { DeviceTimeoutError } from "../../compiler/src/protocol/errors.js";
import type { DeviceEvent } from "../../compiler/src/protocol/types.js";
import { registerDevice, runningDevices, unregisterDevice } from "../../compiler/src/transport/registry.js";
import { connectorFor } from "../../compiler/src/transport/select.js";
import { deviceLineFormatter } from "../../compiler/src/transport/device-lines.js";
import { listSerialPorts } from "../../compiler/src/transport/serial-ports.js";
import { parseSerialSpec } from "../../compiler/src/transport/serial.js";
import { connectTcp, parseTcpUrl } from "../../compiler/src/transport/tcp.js";
import type { Connector, Transport } from "../../compiler/src/transport/transport.js";
import { memoryConnector } from "../../host-sim/src/device/index.js";
import { fixtureApp, simDevice } from "./support.js";
import { wrapTransport } from "../helpers/wrap-transport.js";

const TMP = mkdtempSync(join(tmpdir(), "liquid-transport-"));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

describe("port specs", () => {
  it("parses TCP URLs and rejects malformed ones with the expected form", () => {
    expect(parseTcpUrl("tcp://127.0.0.1:7000")).toEqual({ host: "127.0.0.1", port: 7000 });
    expect(parseTcpUrl("tcp://[::1]:7000")).toEqual({ host: "::1", port: 7000 });
    expect(() => parseTcpUrl("tcp://host")).toThrow("not a TCP address: 'tcp://host' (expected tcp://HOST:PORT, e.g. tcp://127.0.0.1:7000)");
    expect(() => parseTcpUrl("tcp://h:70000")).toThrow("TCP port out of range in 'tcp://h:70000' (1..65535)");
  });

  it("parses serial specs with options", () => {
    expect(parseSerialSpec("/dev/ttyACM0")).toEqual({ path: "/dev/ttyACM0" });
    expect(parseSerialSpec("serial:/dev/ttyUSB1?baud=921600&dtr=0&rts=1")).toEqual({ path: "/dev/ttyUSB1", baud: 921600, dtr: false, rts: true });
    expect(() => parseSerialSpec("serial:/dev/x?parity=even")).toThrow("unknown serial option 'parity' in 'serial:/dev/x?parity=even' (known: baud, dtr, rts)");
    expect(() => parseSerialSpec("serial:/dev/x?baud=12")).toThrow("bad baud rate '12' (e.g. 115200)");
    expect(() => connectorFor("udp://1.2.3.4:5")).toThrow(/unsupported port 'udp:\/\/1\.2\.3\.4:5'/);
  });
});

describe("a peer that never answers", () => {
  it("times out after the retries with a message naming the request and the port", async () => {
    let received = 0;
    const silent: Server = createServer((s) => s.on("data", (d) => (received += d.length)));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as { port: number }).port;
    const url = `tcp://127.0.0.1:${port}`;
    try {
      const err = await DeviceClient.open(() => connectTcp(url), { timeoutMs: 100, retries: 2 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DeviceTimeoutError);
      expect((err as Error).message).toBe(
        `no answer from the device at ${url} to HELLO after 3 tries: check that the Liquid runtime is running there (liquid info), or pass another --port`,
      );
      expect(received).toBe(3 * 14); // the same 14-byte HELLO frame, three times
    } finally {
      silent.close();
    }
  });
});

describe("a slow line", () => {
  it("waits as long as the bytes take on the wire instead of resending", async () => {
    const app = await fixtureApp("blinky", TMP);
    const dev = await simDevice();
    const bps = 2000; // ~19200 baud: the ~1 KiB upload takes about half a second each way
    let sent = 0;
    const inner = memoryConnector(dev.server);
    const slow: Connector = async () => {
      const t = await inner();
      let busyUntil = 0;
      return wrapTransport(t, {
        url: "serial:/dev/slow",
        bytesPerSecond: bps,
        write(d) {
          sent += d.length;
          const copy = d.slice();
          // The UART drains bytes in order, one after the other.
          busyUntil = Math.max(busyUntil, Date.now()) + (copy.length / bps) * 1000;
          setTimeout(() => !t.closed && t.write(copy), busyUntil - Date.now());
        },
      });
    };
    const client = await DeviceClient.open(slow, { timeoutMs: 100, retries: 0 });
    try {
      const before = sent;
      await client.put("blinky", app.wasm, app.manifest);
      // Every request went out once: no timeout fired while the bytes were on the line.
      expect(sent - before).toBeLessThan(app.wasm.length + app.manifest.length + 200);
      expect((await client.list()).map((a) => a.name)).toEqual(["blinky"]);
    } finally {
      await client.close();
      await dev.stop();
    }
  });
});

describe("firmware event lines as liquid emulate shows them", () => {
  it("words LED, button and app lines like the simulated devkit, and leaves logs to liquid logs", () => {
    const format = deviceLineFormatter(join(import.meta.dirname, "..", "..", "boards", "posix.json"));
    expect(format("gpio 500 LED0 1")).toBe("   500 ms  LED0 on");
    expect(format("gpio 12000 BUTTON0 0")).toBe(" 12000 ms  BUTTON0 pressed");
    expect(format("gpio 12030 BUTTON0 1")).toBe(" 12030 ms  BUTTON0 released");
    expect(format("app 3697 blinky running")).toBe("  3697 ms  app 'blinky' started");
    expect(format("app 4000 bad trapped: start: unreachable")).toBe("  4000 ms  app 'bad' trapped: start: unreachable");
    expect(format("log 7 info -: liquid 0.1.0 on board posix")).toBeUndefined();
    expect(format("ready")).toBe("ready");
  });
});

describe("serial port listing", () => {
  it("reads USB ids, names and a board guess from sysfs, and skips phantom UARTs", () => {
    const sys = join(TMP, "sys");
    const usb = join(sys, "devices", "pci0", "usb1", "1-1");
    const iface = join(usb, "1-1:1.0");
    mkdirSync(join(iface, "tty", "ttyACM0"), { recursive: true });
    writeFileSync(join(usb, "idVendor"), "1915\n");
    writeFileSync(join(usb, "idProduct"), "521f\n");
    writeFileSync(join(usb, "manufacturer"), "Nordic Semiconductor\n");
    writeFileSync(join(usb, "product"), "nRF52840 Dongle\n");
    writeFileSync(join(usb, "serial"), "C0FFEE\n");
    const platform = join(sys, "devices", "platform", "serial8250");
    mkdirSync(platform, { recursive: true });
    const cls = join(sys, "class", "tty");
    for (const n of ["ttyACM0", "ttyS0", "tty1"]) mkdirSync(join(cls, n), { recursive: true });
    symlinkSync(iface, join(cls, "ttyACM0", "device"));
    symlinkSync(platform, join(cls, "ttyS0", "device"));
    expect(listSerialPorts(cls)).toEqual([
      { path: "/dev/ttyACM0", vidPid: "1915:521f", manufacturer: "Nordic Semiconductor", product: "nRF52840 Dongle", serialNumber: "C0FFEE", boardGuess: "nrf52840 (Nordic dongle)" },
    ]);
    expect(listSerialPorts(join(TMP, "no-such-dir"))).toEqual([]);
  });
});

describe("registry of running devices", () => {
  it("records devices and forgets those whose process is gone", () => {
    const saved = process.env.LIQUID_HOME;
    process.env.LIQUID_HOME = join(TMP, "home");
    try {
      registerDevice({ url: "tcp://127.0.0.1:1111", board: "posix", kind: "emulated", pid: process.pid, startedAt: "now" });
      registerDevice({ url: "tcp://127.0.0.1:2222", board: "sim-devkit", kind: "simulated", pid: 2 ** 22 + 12345, startedAt: "then" });
      expect(runningDevices().map((d) => d.url)).toEqual(["tcp://127.0.0.1:1111"]);
      unregisterDevice("tcp://127.0.0.1:1111");
      expect(runningDevices()).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.LIQUID_HOME;
      else process.env.LIQUID_HOME = saved;
    }
  });
});

describe("log follow across a dropped link", () => {
  it("reconnects and continues after the last record shown, nothing twice or lost", async () => {
    const app = await fixtureApp("blinky", TMP);
    const dev = await simDevice();
    let current: Transport | undefined;
    const inner = memoryConnector(dev.server);
    const connector: Connector = async () => (current = await inner());
    const client = await DeviceClient.open(connector, { timeoutMs: 300 });
    try {
      await client.put("blinky", app.wasm, app.manifest, { start: true });
      const follow = client.follow();
      const seen: DeviceEvent[] = [];
      const takeUntil = async (msg: string) => {
        for (;;) {
          const r = await follow.next();
          if (r.done) throw new Error("follow ended");
          seen.push(r.value);
          if (r.value.kind === "log" && r.value.record.msg === msg) return;
        }
      };
      dev.simulation.runFor(1000);
      await takeUntil("LED off");
      await current!.close(); // the link drops ...
      dev.simulation.runFor(1000); // ... while the app keeps logging
      await takeUntil("LED off");
      await follow.return(undefined);
      expect(client.reconnects).toBe(1);
      const msgs = seen.flatMap((e) => (e.kind === "log" && e.record.app === "blinky" ? [e.record.msg] : []));
      expect(msgs).toEqual(["blinky started", "LED on", "LED off", "LED on", "LED off"]);
    } finally {
      await client.close();
      await dev.stop();
    }
  });
});
