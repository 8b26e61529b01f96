import { existsSync, readFileSync, statSync, watch, type FSWatcher } from "node:fs";
import { extname, relative, resolve } from "node:path";
import { flag, opt, parseArgs, UsageError, type ParsedArgs } from "../args.js";
import { AppSourceError, buildApp, formatBuildProblems, manifestPathFor } from "../app-build/index.js";
import { CliError, type Command } from "../command.js";
import type { DeviceClient, PutProgress, PutResult } from "../protocol/client.js";
import { bytes, logLine, stateLine } from "../protocol/format.js";
import { sha256, toHex } from "../protocol/sha256.js";
import type { AppManifest, DeviceEvent } from "../protocol/types.js";
import { DEVICE_OPTIONS, DEVICE_USAGE, explain, portChoice, wantsJson } from "../transport/cli-device.js";
import { openDevice } from "../transport/select.js";
import { followUntilInterrupted } from "./logs.js";
import { type FetchReport, relayFetches } from "../protocol/fetch-relay.js";

/** A module ready to upload, built from source or read from APP.wasm + APP.manifest.json. */
interface Prepared {
  wasm: Uint8Array;
  manifestText: string;
  manifest: AppManifest;
  buildMs?: number;
  /** The folder to watch for changes (--watch). */
  watchDir: string;
  /** Which changed files trigger a rebuild. */
  relevant: (file: string) => boolean;
}

async function prepare(path: string): Promise<Prepared> {
  const full = resolve(path);
  if (!existsSync(full)) throw new CliError(`${path} does not exist: give an app source (.ts file or folder) or a built APP.wasm`);
  if (extname(full) === ".wasm") {
    const manifestPath = manifestPathFor(full);
    if (!existsSync(manifestPath)) {
      throw new CliError(`no manifest beside ${path} (expected ${relative(process.cwd(), manifestPath)}): build the app with 'liquid build', or deploy its source`);
    }
    const wasm = new Uint8Array(readFileSync(full));
    const manifestText = readFileSync(manifestPath, "utf8");
    let manifest: AppManifest;
    try {
      manifest = JSON.parse(manifestText) as AppManifest;
    } catch (err) {
      throw new CliError(`${manifestPath} is not valid JSON: ${(err as Error).message}`);
    }
    if (manifest.sha256 && manifest.sha256 !== toHex(sha256(wasm))) {
      throw new CliError(`${manifestPath} does not describe ${path} (sha256 differs): rebuild with 'liquid build'`);
    }
    return { wasm, manifestText, manifest, watchDir: full, relevant: () => true };
  }
  const t0 = performance.now();
  let result: Awaited<ReturnType<typeof buildApp>>;
  try {
    result = await buildApp(full);
  } catch (err) {
    if (err instanceof AppSourceError) throw new CliError(err.message);
    throw err;
  }
  if (!result.ok) {
    for (const line of formatBuildProblems(result)) console.error(line);
    throw new CliError(`build of ${path} failed; nothing was deployed`);
  }
  for (const w of result.warnings) console.error(`warning: ${w}`);
  const dir = statSync(full).isDirectory() ? full : result.app.dir;
  return {
    wasm: result.wasm!,
    manifestText: readFileSync(result.manifestPath!, "utf8"),
    manifest: result.manifest as unknown as AppManifest,
    buildMs: performance.now() - t0,
    watchDir: dir,
    relevant: (file) => !/(^|[\\/])build[\\/]/.test(file) && (/\.ts$/.test(file) || /liquid\.json$/.test(file)),
  };
}

/** `[#######.......]  512 B / 939 B` on a terminal; nothing when output is piped. */
function progressBar(name: string): { update: (p: PutProgress) => void; done: () => void } {
  const tty = process.stderr.isTTY;
  let last = "";
  return {
    update: (p) => {
      if (!tty) return;
      const width = 30;
      const filled = p.total ? Math.round((p.offset / p.total) * width) : width;
      const line = `uploading ${name} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${bytes(p.offset)} / ${bytes(p.total)}${p.resumedFrom ? ` (resumed at ${bytes(p.resumedFrom)})` : ""}`;
      if (line !== last) process.stderr.write(`\r${line}`);
      last = line;
    },
    done: () => {
      if (tty && last) process.stderr.write(`\r${" ".repeat(last.length)}\r`);
    },
  };
}

export interface DeployOutcome extends PutResult {
  version: string;
  started: boolean;
  buildMs?: number;
  uploadMs: number;
  port: string;
}

/** Uploads and (re)starts one prepared module; the old version keeps running until the upload is complete. */
async function deployOnce(client: DeviceClient, prep: Prepared, name: string, options: { start: boolean; autostart: boolean; json: boolean }): Promise<DeployOutcome> {
  const existing = (await client.list()).find((a) => a.name === name);
  const wasRunning = existing?.state === "running";
  const start = options.start || wasRunning;
  const bar = progressBar(name);
  const t0 = performance.now();
  let result: PutResult;
  try {
    result = await client.put(name, prep.wasm, prep.manifestText, {
      start,
      autostart: options.autostart,
      onProgress: options.json ? undefined : bar.update,
      beforeEnd: async () => {
        if (wasRunning) await client.stop(name).catch(() => undefined);
      },
    });
  } finally {
    bar.done();
  }
  const uploadMs = performance.now() - t0;
  // Verify: the device must now list exactly this module.
  // a library is listed under the key the device stored it as (NAME@MAJOR), which PUT_END names
  const installed = (await client.list()).find((a) => a.name === result.name);
  if (!installed || installed.sha256 !== result.sha256) throw new CliError(`the device does not list '${result.name}' with sha256 ${result.sha256.slice(0, 12)} after the upload: deploy again`);
  const outcome: DeployOutcome = { ...result, version: installed.version, started: start, uploadMs, port: client.url };
  if (prep.buildMs !== undefined) outcome.buildMs = prep.buildMs;
  if (start && installed.state === "trapped") throw new CliError(`deployed ${name}, but it trapped when starting: ${installed.error ?? "no message"}`);
  return outcome;
}

function report(o: DeployOutcome, json: boolean, verb = "deployed"): void {
  if (json) {
    console.log(JSON.stringify(o));
    return;
  }
  const extras = [
    o.buildMs !== undefined ? `build ${Math.round(o.buildMs)} ms` : undefined,
    `upload ${Math.round(o.uploadMs)} ms`,
    o.resumedFrom ? `resumed at ${bytes(o.resumedFrom)}` : undefined,
    o.reconnects ? `${o.reconnects} reconnect(s)` : undefined,
  ].filter(Boolean);
  console.log(`${verb} ${o.name} ${o.version} (${bytes(o.size)}, sha256 ${o.sha256.slice(0, 12)}) to ${o.port}${o.started ? ", running" : ""}; ${extras.join(", ")}`);
  if (!o.started && verb === "deployed") console.log(`start it with: liquid start ${o.name}`);
}

function reportFetch(r: FetchReport, json: boolean): void {
  if (json) console.log(JSON.stringify({ event: "fetch", ...r, ms: Math.round(r.ms) }));
  else if (r.ok) console.log(`fetched ${r.name}@${r.range}: ${r.version} (${r.size} bytes, sha256 ${r.sha256!.slice(0, 12)}) in ${Math.round(r.ms)} ms`);
  else console.log(`cannot fetch ${r.name}@${r.range}: ${r.error}`);
}

export const deploy: Command = {
  name: "deploy",
  summary: "build (if given source), upload and start an app on a device",
  usage: `usage: liquid deploy APP [--name N] [--start] [--autostart] [--watch] [--repo URL] [--port P] [--json]

APP is an app source (a .ts file or a folder with app.ts/index.ts; built first with liquid
build) or a built APP.wasm with APP.manifest.json beside it. The upload is resumable: after a
dropped connection it continues where the device stopped receiving; the device verifies the
sha256 before installing. A new version of a running app replaces it and keeps running.

  --name N       install under this name (default: the manifest's)
  --start        start the app once installed
  --autostart    also start it at every boot of the device
  --watch        after deploying, rebuild and redeploy on every save, and stream the
                 device log until Ctrl-C (implies --start)
  --repo URL     serve the device's FETCH requests for libraries the app imports from this
                 module repository (docs/linking.md): without --watch, wait until they are
                 served, then exit
${DEVICE_USAGE}`,
  async run(argv) {
    const args = parseArgs(argv, [
      ...DEVICE_OPTIONS,
      { name: "name", short: "n", value: true },
      { name: "start", value: false },
      { name: "autostart", value: false },
      { name: "watch", short: "w", value: false },
      { name: "repo", value: true },
    ]);
    if (args.positionals.length !== 1) throw new UsageError(args.positionals.length ? "deploy takes one APP" : "which app? give an app source or APP.wasm");
    return runDeploy(args);
  },
};

async function runDeploy(args: ParsedArgs): Promise<number> {
  const path = args.positionals[0]!;
  const json = wantsJson(args);
  const watching = flag(args, "watch");
  const settings = { start: flag(args, "start") || watching, autostart: flag(args, "autostart"), json };
  const prep = await prepare(path);
  const name = opt(args, "name") ?? prep.manifest.name;
  if (!name) throw new CliError(`the manifest of ${path} has no name: pass --name`);
  let client: DeviceClient | undefined;
  try {
    client = await openDevice(portChoice(args));
    // The newest log record before this deploy: --watch streams what comes after it.
    const before = watching ? await client.allLogs() : [];
    const repoUrl = opt(args, "repo");
    const relay = repoUrl ? relayFetches(client, repoUrl, (r) => reportFetch(r, json)) : undefined;
    // Without --repo nothing here answers the device's FETCHes: say so rather than leave the
    // user with a trap at the app's first library call (only an app importing libraries asks).
    const unserved: string[] = [];
    const importsLibraries = Array.isArray(prep.manifest.libraries) && prep.manifest.libraries.length > 0;
    const offFetch = repoUrl || !importsLibraries ? undefined : client.onFetch((n, r) => unserved.push(`${n}@${r}`));
    report(await deployOnce(client, prep, name, settings), json);
    if (offFetch) {
      await client.list(); // the device sends FETCH while starting the app: one round trip later it is here
      offFetch();
      if (unserved.length) {
        console.error(
          `note: the device lacks librar${unserved.length === 1 ? "y" : "ies"} ${[...new Set(unserved)].join(", ")} that ${name} imports; ` +
            `nothing in this deploy fetches them: pass --repo URL, or keep 'liquid relay --repo URL' attached to the device (docs/linking.md)`,
        );
      }
    }
    if (relay && !watching) await relay.idle();
    if (!watching) return 0;
    return await watchLoop(client, path, prep, name, settings, before.length ? before[before.length - 1]!.seq + 1 : 0);
  } catch (err) {
    return explain(err, name);
  } finally {
    await client?.close();
  }
}

async function watchLoop(
  client: DeviceClient,
  path: string,
  first: Prepared,
  name: string,
  settings: { start: boolean; autostart: boolean; json: boolean },
  since: number,
): Promise<number> {
  let watcher: FSWatcher;
  try {
    watcher = watch(first.watchDir, { recursive: statSync(first.watchDir).isDirectory() });
  } catch (err) {
    throw new CliError(`cannot watch ${first.watchDir}: ${(err as Error).message}`);
  }
  if (!settings.json) console.log(`watching ${relative(process.cwd(), first.watchDir) || "."} for changes; Ctrl-C stops`);
  let timer: NodeJS.Timeout | undefined;
  let busy = Promise.resolve();
  const redeploy = async () => {
    try {
      const prep = await prepare(path);
      report(await deployOnce(client, prep, name, { ...settings, start: true }), settings.json, "redeployed");
    } catch (err) {
      // A broken save must not end the session: say why and wait for the next one.
      console.error(err instanceof CliError ? `liquid deploy: ${err.message}` : err);
    }
  };
  watcher.on("change", (_kind, file) => {
    const f = String(file ?? "");
    if (f && !first.relevant(f)) return;
    clearTimeout(timer);
    // Editors write a file in several steps: wait until the burst is over.
    timer = setTimeout(() => (busy = busy.then(redeploy)), 150);
  });
  const print = (e: DeviceEvent) => {
    if (e.kind === "log") console.log(settings.json ? JSON.stringify(e.record) : logLine(e.record));
    else console.log(settings.json ? JSON.stringify({ event: "app", ...e.state }) : stateLine(e.state));
  };
  try {
    await followUntilInterrupted(client, since, print);
  } finally {
    clearTimeout(timer);
    watcher.close();
    await busy;
  }
  return 0;
}
