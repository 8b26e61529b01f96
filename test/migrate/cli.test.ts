// `liquid migrate` as a user runs it: usage errors, the human report, --json, the module taken
// from a built APP.wasm or fetched from a module repository by its hash.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveRepository, type RunningRepository } from "../../hub/src/server.js";
import { liquid } from "../cli/support.js";
import { app, appState, counts, install, simTcp, stopAll, waitCounts, withClient, WORK } from "./support.js";
import { useLiquidHome } from "../helpers/liquid-home.js";

let restoreHome: () => void = () => {};
beforeAll(() => {
  restoreHome = useLiquidHome(join(WORK, "home"));
});
afterAll(async () => {
  await stopAll();
  restoreHome();
});

describe("liquid migrate", () => {
  it("says what is missing in the arguments (exit status 2)", async () => {
    expect(await liquid("migrate")).toMatchObject({ code: 2, err: expect.stringMatching(/which app\? give its NAME/) });
    expect(await liquid("migrate", "ticker", "--from", "tcp://127.0.0.1:1")).toMatchObject({ code: 2, err: expect.stringMatching(/--from P1 --to P2/) });
    expect(await liquid("migrate", "ticker", "--from", "tcp://127.0.0.1:1", "--to", "tcp://127.0.0.1:1")).toMatchObject({
      code: 2,
      err: expect.stringMatching(/name the same device/),
    });
    expect(await liquid("migrate", "ticker", "--from", "http://x", "--to", "tcp://127.0.0.1:1")).toMatchObject({ code: 2, err: expect.stringMatching(/unsupported port 'http:\/\/x'/) });
  });

  it("an unreachable source or an unknown app fails with status 1 and the reason", async () => {
    const dev = await simTcp();
    const unreachable = await liquid("migrate", "ticker", "--from", "tcp://127.0.0.1:1", "--to", dev.url);
    expect(unreachable.code).toBe(1);
    expect(unreachable.err).toMatch(/cannot reach the source tcp:\/\/127\.0\.0\.1:1/);
    const other = await simTcp();
    const unknown = await liquid("migrate", "nope", "--from", dev.url, "--to", other.url);
    expect(unknown).toMatchObject({ code: 1, err: expect.stringMatching(/no app named 'nope' on the source/) });
  });

  it("moves an app with --module APP.wasm and prints what moved", async () => {
    const ticker = await app("ticker");
    const a = await simTcp();
    const b = await simTcp();
    await install(a, ticker);
    const before = (await waitCounts(a, "ticker", 2)).length;
    const run = await liquid("migrate", "ticker", "--from", a.url, "--to", b.url, "--module", ticker.origin);
    expect(run.err).not.toMatch(/error/i);
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/^migrated ticker 0\.1\.0 from sim-devkit \S+ to sim-devkit \S+ in [\d.]+ ms of downtime$/m);
    expect(run.out).toMatch(/^ {2}timers {5}every 100 ms, next in \d+ ms$/m);
    expect(run.out).toMatch(/^ {2}re-bound {3}LED0=[01]$/m);
    expect(run.out).toMatch(new RegExp(`^  module     sent from \\S+ticker\\.wasm \\(${(ticker.wasm.length / 1024).toFixed(1)} KiB\\)$`, "m"));
    expect(run.err).toMatch(/^ {2}freeze {4}snapshot of \d+ bytes/m);
    expect(await appState(a, "ticker")).toBeUndefined();
    const onA = await counts(a, "ticker");
    expect(onA.length).toBeGreaterThanOrEqual(before);
    const onB = await waitCounts(b, "ticker", 2);
    expect(onB[0]).toBe(onA.at(-1)! + 1);
  });

  it("fetches the module from a repository by its hash, and reports in JSON", async () => {
    const ticker = await app("ticker");
    let repo: RunningRepository | undefined;
    try {
      repo = await serveRepository(join(WORK, "repo"));
      await repo.repo.publish(ticker.wasm, ticker.manifest as unknown as Parameters<typeof repo.repo.publish>[1]);
      const a = await simTcp();
      const b = await simTcp();
      await install(a, ticker);
      await waitCounts(a, "ticker", 2);
      const run = await liquid("migrate", "ticker", "--from", a.url, "--to", b.url, "--repo", repo.url, "--json");
      expect(run.code).toBe(0);
      const report = JSON.parse(run.out) as Record<string, unknown>;
      expect(report).toMatchObject({ app: "ticker", sha256: ticker.sha256, moduleOrigin: repo.url, moduleBytesSent: ticker.wasm.length, source: "removed" });
      expect(report.downtimeMs).toBeGreaterThan(0);
      expect(await appState(b, "ticker")).toBe("running");

      // A repository without the module: refused before freezing, with the way out.
      const empty = await serveRepository(join(WORK, "empty-repo"));
      try {
        const c = await simTcp();
        const refused = await liquid("migrate", "ticker", "--from", b.url, "--to", c.url, "--repo", empty.url, "--json");
        expect(refused.code).toBe(1);
        expect(JSON.parse(refused.out)).toMatchObject({ ok: false, step: "check", appIs: "source" });
        expect(refused.err).toMatch(/does not have module [0-9a-f]{12}: publish it there with 'liquid publish'/);
        expect(await appState(b, "ticker")).toBe("running");
      } finally {
        await empty.close();
      }
    } finally {
      await repo?.close();
    }
  });

  it("--snapshot FILE resumes a frozen app's state on a device (the journal's way back)", async () => {
    const ticker = await app("ticker");
    const a = await simTcp();
    const b = await simTcp();
    await install(a, ticker);
    await waitCounts(a, "ticker", 3);
    const file = join(WORK, "ticker.lqsn");
    writeFileSync(file, await withClient(a, (c) => c.snapshot("ticker", { stop: true })));
    const frozenAt = (await counts(a, "ticker")).at(-1)!;

    expect(await liquid("migrate", "ticker", "--snapshot", file, "--from", a.url, "--to", b.url)).toMatchObject({ code: 2, err: expect.stringMatching(/give --to, not --from/) });
    const noModule = await liquid("migrate", "ticker", "--snapshot", file, "--to", b.url);
    expect(noModule).toMatchObject({ code: 1, err: expect.stringMatching(/does not hold 'ticker' \(sha256 [0-9a-f]{12}\): pass --module or --repo/) });
    const junk = join(WORK, "junk.lqsn");
    writeFileSync(junk, "not a snapshot");
    expect(await liquid("migrate", "ticker", "--snapshot", junk, "--to", b.url)).toMatchObject({ code: 1, err: expect.stringMatching(/is not a usable snapshot: not a Liquid snapshot/) });

    const run = await liquid("migrate", "ticker", "--snapshot", file, "--to", b.url, "--module", ticker.origin);
    expect(run).toMatchObject({ code: 0, out: expect.stringMatching(/^resumed ticker from .* on sim-devkit /m) });
    const onB = await waitCounts(b, "ticker", 2);
    expect(onB.slice(0, 2)).toEqual([frozenAt + 1, frozenAt + 2]);
    // A second resume of the same file while it runs is refused.
    expect(await liquid("migrate", "ticker", "--snapshot", file, "--to", b.url)).toMatchObject({ code: 1, err: expect.stringMatching(/already runs on/) });
  });

  it("--dry-run checks everything up to the freeze and changes nothing", async () => {
    const thermometer = await app(join(import.meta.dirname, "..", "..", "examples", "thermometer"));
    const a = await simTcp();
    const b = await simTcp();
    const small = await simTcp(join(import.meta.dirname, "..", "protocol", "fixtures", "board.json"));
    await install(a, thermometer);
    const ok = await liquid("migrate", "thermometer", "--from", a.url, "--to", b.url, "--module", thermometer.origin, "--dry-run");
    expect(ok).toMatchObject({ code: 0, out: expect.stringMatching(/^thermometer can move from sim-devkit \S+ to sim-devkit \S+: the module \([\d.]+ KiB\) would be sent first; nothing was changed/m) });
    const json = await liquid("migrate", "thermometer", "--from", a.url, "--to", b.url, "--module", thermometer.origin, "--dry-run", "--json");
    expect(JSON.parse(json.out)).toMatchObject({ dryRun: true, app: "thermometer", needs: { capabilities: expect.arrayContaining(["i2c", "gpio"]), pins: ["LED2"], buses: ["I2C0"] } });
    const refused = await liquid("migrate", "thermometer", "--from", a.url, "--to", small.url, "--module", thermometer.origin, "--dry-run");
    expect(refused).toMatchObject({ code: 1, err: expect.stringMatching(/it has no pin LED2/) });
    expect(await appState(a, "thermometer")).toBe("running");
    expect(await withClient(b, (c) => c.list())).toEqual([]);
    const runtimeLog = await withClient(a, async (c) => (await c.allLogs()).filter((r) => r.app === null).map((r) => r.msg));
    expect(runtimeLog.filter((m) => m.startsWith("snapshot"))).toEqual([]);
  });
});
