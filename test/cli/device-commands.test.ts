// The device commands end to end against a simulated device started by `liquid emulate`'s
// code (sim-devkit over TCP, paced by the wall clock), found without --port.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startEmulator, type RunningEmulator } from "../../compiler/src/commands/emulate.js";
import { expectLibraryListed, liquid, printed, until } from "./support.js";
import { useLiquidHome } from "../helpers/liquid-home.js";

const ROOT = join(import.meta.dirname, "..", "..");
const FIXTURE = join(ROOT, "test", "protocol", "fixtures", "blinky");
const HOME = mkdtempSync(join(tmpdir(), "liquid-cli-home-"));
const WORK = mkdtempSync(join(tmpdir(), "liquid-cli-work-"));
let device: RunningEmulator;
let restoreHome: () => void = () => {};

beforeAll(async () => {
  restoreHome = useLiquidHome(HOME, { clearPort: true });
  cpSync(FIXTURE, join(WORK, "blinky"), { recursive: true });
  device = await startEmulator({ board: "sim-devkit", port: 0, quiet: true });
});

afterAll(async () => {
  await device?.stop();
  restoreHome();
  rmSync(HOME, { recursive: true, force: true });
  rmSync(WORK, { recursive: true, force: true });
});

describe("liquid device commands against a simulated device", () => {
  it("lists the running device and finds it without --port", async () => {
    const devices = await liquid("devices", "--json");
    expect(devices.code).toBe(0);
    const rows = JSON.parse(devices.out) as { port: string; kind: string; board: string; liquid: boolean }[];
    expect(rows.filter((r) => r.kind !== "serial")).toEqual([expect.objectContaining({ port: device.url, kind: "simulated", board: "sim-devkit", liquid: true })]);

    const info = await liquid("info");
    expect(info.code).toBe(0);
    expect(info.out).toMatch(new RegExp(`^device +sim-devkit-[0-9a-f]+ on ${device.url.replace(/\./g, "\\.")}$`, "m"));
    expect(info.out).toMatch(/^buses +I2C0\(i2c: 0x48 tmp105, 0x76 bme280\)$/m);
  });

  it("deploys from source, runs, streams logs, stops, starts and removes", async () => {
    const deployed = await liquid("deploy", join(WORK, "blinky"), "--start");
    expect(deployed.err).toBe("");
    expect(deployed.code).toBe(0);
    expect(deployed.out).toMatch(/^deployed blinky 1\.2\.0 \(\d+ B, sha256 [0-9a-f]{12}\) to tcp:\/\/127\.0\.0\.1:\d+, running; build \d+ ms, upload \d+ ms$/m);

    const ps = await liquid("ps");
    expect(ps.out).toMatch(/^NAME +VERSION +STATE +AUTOSTART +SIZE +SHA256\nblinky +1\.2\.0 +running +no +\d+ B +[0-9a-f]{12}\n$/);

    // logs --follow prints the app's lines as the LED toggles, until Ctrl-C.
    const mark = printed.out.length;
    const follow = liquid("logs", "--follow", "--app", "blinky");
    await until(() => /INF blinky +LED off/.test(printed.out.slice(mark)), "a 'LED off' line from logs --follow");
    process.emit("SIGINT");
    const followed = await follow;
    expect(followed.code).toBe(0);
    const lines = followed.out.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ +\d+\.\d{3} INF blinky +blinky started$/);
    expect(lines[1]).toMatch(/^ +\d+\.\d{3} INF blinky +LED on$/);
    expect(lines).toContainEqual(expect.stringMatching(/INF blinky +LED off$/));

    expect((await liquid("stop", "blinky")).out).toBe("stopped blinky\n");
    const stoppedAgain = await liquid("stop", "blinky");
    expect([stoppedAgain.code, stoppedAgain.err]).toEqual([1, "liquid stop: the device refused: app 'blinky' is not running (EEXISTS)\n"]);
    expect(JSON.parse((await liquid("ps", "--json")).out)[0]).toMatchObject({ name: "blinky", state: "stopped" });
    expect((await liquid("start", "blinky", "--json")).out).toBe('{"app":"blinky","action":"start","ok":true}\n');
    expect((await liquid("rm", "blinky")).out).toBe("removed blinky\n");
    const gone = await liquid("start", "blinky");
    expect([gone.code, gone.err]).toEqual([1, "liquid start: no app named 'blinky' on the device: 'liquid ps' lists the installed apps\n"]);
    expect((await liquid("ps")).out).toMatch(/^no apps on tcp:\/\/127\.0\.0\.1:\d+: deploy one with 'liquid deploy APP\.ts'\n$/);
  });

  it("draws a progress bar on a terminal and none when piped", async () => {
    const writes: string[] = [];
    const stderr = process.stderr as NodeJS.WriteStream & { isTTY: boolean };
    const wasTTY = stderr.isTTY;
    const write = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    });
    try {
      stderr.isTTY = true;
      expect((await liquid("deploy", join(WORK, "blinky"), "--name", "bar")).code).toBe(0);
      stderr.isTTY = false;
      const piped = writes.length;
      expect((await liquid("deploy", join(WORK, "blinky"), "--name", "bar2")).code).toBe(0);
      expect(writes.length).toBe(piped);
    } finally {
      stderr.isTTY = wasTTY;
      write.mockRestore();
    }
    const bar = writes.join("");
    expect(bar).toMatch(/\ruploading bar \[\.{30}\] 0 B \/ \d+ B/);
    expect(bar).toMatch(/\ruploading bar \[#{30}\] (\d+) B \/ \1 B/);
    expect(bar.endsWith("\r")).toBe(true); // the bar is wiped before the result line
    await liquid("rm", "bar");
    await liquid("rm", "bar2");
  });

  it("deploying an app whose libraries the device lacks, without --repo, says that nothing fetches them", async () => {
    cpSync(join(ROOT, "examples", "probe"), join(WORK, "probe"), { recursive: true });
    rmSync(join(WORK, "probe", "build"), { recursive: true, force: true });
    const deployed = await liquid("deploy", join(WORK, "probe"), "--start");
    expect(deployed.code).toBe(0);
    expect(deployed.err).toMatch(/^note: the device lacks libraries tmp105@\^1, bme280@\^1 that probe imports; nothing in this deploy fetches them: pass --repo URL, or keep 'liquid relay --repo URL' attached/m);
    expect((await liquid("rm", "probe")).code).toBe(0);
  });

  it("lists a deployed library as a library, not as a stopped app", () => expectLibraryListed(WORK));


  it("deploys a built .wasm under another name, and refuses one without a manifest", async () => {
    const built = await liquid("build", join(WORK, "blinky"), "-o", join(WORK, "out", "blinky.wasm"));
    expect(built.code).toBe(0);
    const deployed = await liquid("deploy", join(WORK, "out", "blinky.wasm"), "--name", "blinky-b", "--json");
    expect(deployed.code).toBe(0);
    expect(JSON.parse(deployed.out)).toMatchObject({ name: "blinky-b", version: "1.2.0", started: false, resumedFrom: 0 });
    rmSync(join(WORK, "out", "blinky.manifest.json"));
    const bare = await liquid("deploy", join(WORK, "out", "blinky.wasm"));
    expect(bare.code).toBe(1);
    expect(bare.err).toMatch(/no manifest beside .*blinky\.wasm \(expected .*blinky\.manifest\.json\): build the app with 'liquid build', or deploy its source/);
    await liquid("rm", "blinky-b");
  });

  it("reports a build error and deploys nothing", async () => {
    const broken = join(WORK, "broken");
    cpSync(FIXTURE, broken, { recursive: true });
    writeFileSync(join(broken, "app.ts"), "export function start(): void { let x: i32 = 'text'; }\n");
    const r = await liquid("deploy", broken);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/app\.ts:1:\d+/);
    expect(r.err).toMatch(/liquid deploy: build of .* failed; nothing was deployed/);
    const empty = join(WORK, "empty-app");
    cpSync(join(FIXTURE, "liquid.json"), join(empty, "liquid.json"));
    const noEntry = await liquid("deploy", empty);
    expect([noEntry.code, noEntry.err]).toEqual([1, `liquid deploy: ${empty}: a folder app needs an app.ts or index.ts\n`]);
    const missing = await liquid("deploy", join(WORK, "nowhere.wasm"));
    expect(missing.err).toMatch(/nowhere\.wasm does not exist: give an app source \(\.ts file or folder\) or a built APP\.wasm/);
    expect((await liquid("ps", "--json")).out).toBe("[]\n");
  });

  it("rebuilds and redeploys on save with --watch, streaming the log", async () => {
    const app = join(WORK, "watched");
    cpSync(FIXTURE, app, { recursive: true });
    const mark = printed.out.length;
    const watching = liquid("deploy", app, "--watch");
    await until(() => /INF blinky +LED on/.test(printed.out.slice(mark)), "the first deploy's log lines");
    const source = join(app, "app.ts");
    const text = (await import("node:fs")).readFileSync(source, "utf8");
    writeFileSync(source, text.replace(/"LED on"/, '"LED is on"'));
    await until(() => /INF blinky +LED is on/.test(printed.out.slice(mark)), "the edited app's log line", 30_000);
    process.emit("SIGINT");
    const r = await watching;
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^deployed blinky 1\.2\.0 .*, running; build \d+ ms, upload \d+ ms$/m);
    expect(r.out, r.err).toMatch(/^redeployed blinky 1\.2\.0 .*, running; build \d+ ms, upload \d+ ms$/m);
    // The first version's line came from the first deploy, the new one only after the save.
    expect(r.out.indexOf("LED on")).toBeLessThan(r.out.indexOf("LED is on"));
    await liquid("rm", "blinky");
  });

  it("says when the deployed app traps at start, and ps shows the trap", async () => {
    cpSync(join(ROOT, "test", "protocol", "fixtures", "trapper"), join(WORK, "trapper"), { recursive: true });
    const r = await liquid("deploy", join(WORK, "trapper"), "--start");
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^liquid deploy: deployed trapper, but it trapped when starting: .*unreachable/m);
    const ps = await liquid("ps");
    expect(ps.out).toMatch(/^NAME +VERSION +STATE +AUTOSTART +SIZE +SHA256 +ERROR\ntrapper +0\.1\.0 +trapped +no +\d+ B +[0-9a-f]{12} +.*unreachable.*\n$/);
    await liquid("rm", "trapper");
  });

  it("reboots the device with reset, and factory reset erases the store", async () => {
    await liquid("deploy", join(WORK, "blinky"), "--autostart", "--start");
    const reset = await liquid("reset");
    expect([reset.code, reset.out]).toEqual([0, "rebooted: the device is back\n"]);
    expect(JSON.parse((await liquid("ps", "--json")).out)[0]).toMatchObject({ name: "blinky", state: "running", autostart: true });
    const factory = await liquid("reset", "--factory", "--json");
    expect(JSON.parse(factory.out)).toEqual({ reset: "factory", back: true });
    expect((await liquid("ps", "--json")).out).toBe("[]\n");
  });
});

describe("finding the device", () => {
  it("says what to do when the port is wrong or nothing runs", async () => {
    const refused = await liquid("ps", "--port", "tcp://127.0.0.1:1");
    expect(refused.code).toBe(1);
    expect(refused.err).toBe(
      "liquid ps: cannot connect to tcp://127.0.0.1:1: connection refused, no device is listening there (start one with 'liquid emulate', or run 'liquid devices' to see running devices)\n",
    );
    const missing = await liquid("info", "--port", "/dev/ttyLIQUID-NOT-THERE");
    expect(missing.err).toBe("liquid info: no serial port at /dev/ttyLIQUID-NOT-THERE: check the cable and the path, or run 'liquid devices' to list connected ports\n");
    const badUrl = await liquid("info", "--port", "http://x:1");
    expect(badUrl.err).toMatch(/unsupported port 'http:\/\/x:1': use tcp:\/\/HOST:PORT or a serial port path/);

    const emptyHome = mkdtempSync(join(tmpdir(), "liquid-cli-empty-"));
    process.env.LIQUID_HOME = emptyHome;
    try {
      const none = await liquid("ps");
      expect([none.code, none.err]).toEqual([1, "liquid ps: no Liquid device found: start one with 'liquid emulate' or pass --port\n"]);
    } finally {
      process.env.LIQUID_HOME = HOME;
      rmSync(emptyHome, { recursive: true, force: true });
    }
  });

  it("lists the candidates when several devices run", async () => {
    const second = await startEmulator({ board: "sim-devkit", port: 0, quiet: true });
    try {
      const r = await liquid("ps");
      expect(r.code).toBe(1);
      expect(r.err).toContain("liquid ps: several Liquid devices found; pick one with --port:\n");
      expect(r.err).toContain(`  ${device.url}  sim-devkit (simulated, pid ${process.pid})`);
      expect(r.err).toContain(`  ${second.url}  sim-devkit (simulated, pid ${process.pid})`);
      expect((await liquid("ps", "--port", second.url)).code).toBe(0);
    } finally {
      await second.stop();
    }
    expect((await liquid("ps")).code).toBe(0); // one again: found automatically
  });

  it("runs `liquid emulate` until Ctrl-C, registered while it runs", async () => {
    const mark = printed.out.length;
    const running = liquid("emulate", "--board", "sim-devkit", "--json", "--quiet");
    await until(() => printed.out.slice(mark).includes('"url"'), "emulate's JSON banner");
    const banner = JSON.parse(printed.out.slice(mark).split("\n")[0]!) as { url: string; board: string; pid: number };
    expect(banner).toEqual({ url: expect.stringMatching(/^tcp:\/\/127\.0\.0\.1:\d+$/), board: "sim-devkit", pid: process.pid });
    const listed = JSON.parse((await liquid("devices", "--json")).out) as { port: string }[];
    expect(listed.map((d) => d.port)).toContain(banner.url);
    // A second device on the same port cannot start, and says why.
    const port = banner.url.split(":").pop()!;
    const clash = await liquid("emulate", "--port", port);
    expect([clash.code, clash.err]).toEqual([1, `liquid emulate: port ${port} is already in use: pick another with --port, or 0 for any free port\n`]);
    process.emit("SIGINT");
    expect((await running).code).toBe(0);
    const after = JSON.parse((await liquid("devices", "--json")).out) as { port: string }[];
    expect(after.map((d) => d.port)).not.toContain(banner.url);
  });

  it("takes console commands: a pressed button reaches the app on the emulated devkit", async () => {
    const lines: string[] = [];
    const devkit = await startEmulator({ board: "sim-devkit", port: 0 }, (l) => lines.push(l));
    try {
      cpSync(join(ROOT, "examples", "button"), join(WORK, "button"), { recursive: true, filter: (src) => !src.includes("/build") });
      expect((await liquid("deploy", join(WORK, "button"), "--port", devkit.url, "--start")).code).toBe(0);
      expect(devkit.control("press BUTTON0")).toBeUndefined();
      await until(() => lines.some((l) => /LED1 on/.test(l)), "LED1 to go on after the press");
      expect(devkit.control("release BUTTON0")).toBeUndefined();
      expect(devkit.control("press LED7")).toMatch(/LED7/);
      expect(devkit.control("jump")).toMatch(/^commands: press NAME, release NAME, set NAME VALUE \(settable: BUTTON0, BUTTON1, I2C0\.tmp105\.temperature/);
    } finally {
      await devkit.stop();
    }
  });

  it("rejects bad options with usage errors", async () => {
    expect((await liquid("logs", "--since", "x")).err).toMatch(/--since takes a log sequence number, got 'x'/);
    expect((await liquid("emulate", "--board", "vax")).err).toMatch(/unknown board 'vax' \(choose posix, qemu, sim-devkit\)/);
    expect((await liquid("ps", "--baud", "fast")).err).toMatch(/bad baud rate 'fast'/);
    expect((await liquid("deploy")).code).toBe(2);
    expect((await liquid("reset", "--hard", "--factory")).err).toMatch(/--hard and --factory do not go together/);
    const tcpHard = await liquid("reset", "--hard", "--port", device.url);
    expect(tcpHard.err).toBe(`liquid reset: --hard needs a serial port (it pulses RTS); ${device.url} is a TCP device: use 'liquid reset' without --hard\n`);
  });
});
