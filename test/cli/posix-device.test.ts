// The same deploy flow as against the simulated device, against the real firmware: the posix
// liquid-device process (sanitized build from the global setup), started by `liquid emulate`.
import { cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../compiler/src/commands/emulate.js";
import { DeviceClient } from "../../compiler/src/protocol/client.js";
import { Cmd } from "../../compiler/src/protocol/constants.js";
import { FrameParser, type Frame } from "../../compiler/src/protocol/frame.js";
import { findPosixDevice } from "../../compiler/src/transport/emulators.js";
import { connectTcp } from "../../compiler/src/transport/tcp.js";
import type { Connector, Transport } from "../../compiler/src/transport/transport.js";
import { fixtureApp, type BuiltApp } from "../protocol/support.js";
import { expectLibraryListed, liquid, printed, until } from "./support.js";
import { useLiquidHome } from "../helpers/liquid-home.js";
import { wrapTransport } from "../helpers/wrap-transport.js";

const BINARY = findPosixDevice();
const HOME = mkdtempSync(join(tmpdir(), "liquid-posix-home-"));
const WORK = mkdtempSync(join(tmpdir(), "liquid-posix-work-"));
let device: RunningEmulator;
let blinky: BuiltApp;
let restoreHome: () => void = () => {};

describe.skipIf(!BINARY)(`liquid commands against the posix firmware${BINARY ? "" : " (SKIPPED: liquid-device is not built; run the C build)"}`, () => {
  beforeAll(async () => {
    restoreHome = useLiquidHome(HOME, { clearPort: true });
    cpSync(join(import.meta.dirname, "..", "protocol", "fixtures", "blinky"), join(WORK, "blinky"), { recursive: true });
    blinky = await fixtureApp("blinky", WORK);
    device = await startEmulator({ board: "posix", port: 0, quiet: true, flash: join(WORK, "flash.img") });
  });

  afterAll(async () => {
    await device?.stop();
    restoreHome();
    rmSync(HOME, { recursive: true, force: true });
    rmSync(WORK, { recursive: true, force: true });
  });

  it("deploys, runs, follows logs, stops, starts and removes", async () => {
    const info = JSON.parse((await liquid("info", "--json")).out);
    expect(info).toMatchObject({ protocol: 1, board: "posix" });
    const deployed = await liquid("deploy", join(WORK, "blinky"), "--start");
    expect(deployed.err).toBe("");
    expect(deployed.out).toMatch(/^deployed blinky 1\.2\.0 \(\d+ B, sha256 [0-9a-f]{12}\) to tcp:\/\/127\.0\.0\.1:\d+, running/m);
    expect(JSON.parse((await liquid("ps", "--json")).out)).toEqual([expect.objectContaining({ name: "blinky", version: "1.2.0", state: "running" })]);

    const mark = printed.out.length;
    const follow = liquid("logs", "-f", "--app", "blinky");
    await until(() => /INF blinky +LED off/.test(printed.out.slice(mark)), "the firmware's 'LED off' log line");
    process.emit("SIGINT");
    const followed = await follow;
    expect(followed.out).toMatch(/^ +\d+\.\d{3} INF blinky +blinky started\n +\d+\.\d{3} INF blinky +LED on\n/);

    expect((await liquid("stop", "blinky")).out).toBe("stopped blinky\n");
    expect(JSON.parse((await liquid("ps", "--json")).out)[0].state).toBe("stopped");
    expect((await liquid("start", "blinky")).out).toBe("started blinky\n");
    expect((await liquid("rm", "blinky")).out).toBe("removed blinky\n");
    const gone = await liquid("start", "blinky");
    expect(gone.err).toBe("liquid start: no app named 'blinky' on the device: 'liquid ps' lists the installed apps\n");
  });

  it("lists a deployed library as a library, not as a stopped app", () => expectLibraryListed(WORK));

  it("a deploy from another terminal while logs --follow runs: the follower steps aside, the deploy is not interrupted, and the follower catches up", async () => {
    const mark = printed.out.length;
    const follow = liquid("logs", "-f");
    await until(() => /INF -/.test(printed.out.slice(mark)), "the follower's first lines");
    // The firmware serves one host at a time: the deploy's connection replaces the follower's.
    const deployed = await liquid("deploy", join(WORK, "blinky"), "--name", "second", "--start");
    expect(deployed.code).toBe(0);
    expect(deployed.out).toMatch(/^deployed second 1\.2\.0 .*, running; build \d+ ms, upload \d+ ms\n/);
    expect(deployed.out).not.toMatch(/reconnect/);
    await until(() => /installed second/.test(printed.out.slice(mark)), "the follower catching up on the deploy's log lines", 15_000);
    process.emit("SIGINT");
    await follow;
    expect((await liquid("rm", "second")).code).toBe(0);
  });

  it("resumes an upload after the connection drops mid-chunk, from the offset the firmware holds", async () => {
    const writes: Frame[] = [];
    let first = true;
    const chunk = Math.floor(blinky.wasm.length / 6);
    // Cut the first connection inside the 4th PUT_CHUNK frame.
    const connector: Connector = async () => {
      const t = await connectTcp(device.url);
      if (!first) {
        const parser = new FrameParser();
        return spy(t, (d) => writes.push(...parser.push(d)));
      }
      first = false;
      let chunks = 0;
      const parser = new FrameParser();
      return spy(t, (d) => writes.push(...parser.push(d)), (d) => {
        if (d[3] !== Cmd.PUT_CHUNK || ++chunks < 4) return d;
        void t.close();
        return d.subarray(0, 40);
      });
    };
    const client = await DeviceClient.open(connector, { timeoutMs: 1000 });
    try {
      const result = await client.put("resumed", blinky.wasm, blinky.manifest, { chunkSize: chunk, start: true });
      expect(result.reconnects).toBe(1);
      const offsets = writes.filter((f) => f.command === Cmd.PUT_CHUNK).map((f) => new DataView(f.payload.buffer, f.payload.byteOffset).getUint32(32, true));
      const expected: number[] = [];
      for (let o = 0; o < blinky.wasm.length; o += chunk) expected.push(o);
      expect(offsets).toEqual(expected); // the 4th chunk once after the reconnect, nothing else resent
      const [app] = (await client.list()).filter((a) => a.name === "resumed");
      expect(app).toMatchObject({ state: "running", sha256: result.sha256 });
      await client.remove("resumed");
    } finally {
      await client.close();
    }
  });
});

/** Wraps a transport to observe (and optionally cut) what the client writes. */
function spy(t: Transport, seen: (d: Uint8Array) => void, cut?: (d: Uint8Array) => Uint8Array): Transport {
  return wrapTransport(t, {
    write(d) {
      const out = cut ? cut(d) : d;
      if (out.length === d.length) seen(d);
      t.write(out);
    },
  });
}
