import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RepositoryClient } from "../../hub/src/client.js";
import { ModuleRepository, sha256Hex } from "../../hub/src/repository.js";
import { type RunningRepository, serveRepository } from "../../hub/src/server.js";

/** A valid module that differs per `tag` (a custom section carries it). */
function moduleBytes(tag: string): Uint8Array {
  const name = Buffer.from("tag");
  const payload = Buffer.from(tag);
  const body = [name.length, ...name, ...payload];
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x00, body.length, ...body]);
}

function manifestFor(name: string, version: string, wasm: Uint8Array) {
  return { liquid: 1, name, version, sha256: sha256Hex(wasm), size: wasm.length, exports: [], imports: [], capabilities: [] };
}

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "liquid-repo-"));
  dirs.push(d);
  return d;
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("module repository store", () => {
  it("resolves the highest version in a range, and keeps its data across a restart", async () => {
    const dir = tempDir();
    const repo = await ModuleRepository.open(dir);
    for (const v of ["1.0.0", "1.3.0", "2.0.0"]) {
      const wasm = moduleBytes(`bme280 ${v}`);
      await repo.publish(wasm, manifestFor("bme280", v, wasm));
    }
    expect((await repo.resolve("bme280", "^1")).version).toBe("1.3.0");
    const reopened = await ModuleRepository.open(dir);
    expect(reopened.list()).toEqual([{ name: "bme280", versions: ["1.0.0", "1.3.0", "2.0.0"] }]);
    const r = await reopened.resolve("bme280", "~1.0");
    expect(r.version).toBe("1.0.0");
    expect(sha256Hex(await reopened.blob(r.sha256))).toBe(r.sha256);
  });

  it("refuses wrong hashes, invalid modules, bad names and a reused version with other bytes", async () => {
    const repo = await ModuleRepository.open(tempDir());
    const wasm = moduleBytes("a");
    await expect(repo.publish(wasm, { ...manifestFor("drv", "1.0.0", wasm), sha256: "0".repeat(64) })).rejects.toThrow(/hash to/);
    const junk = new Uint8Array([1, 2, 3, 4]);
    await expect(repo.publish(junk, manifestFor("drv", "1.0.0", junk))).rejects.toThrow(/not a valid WebAssembly module/);
    await expect(repo.publish(wasm, manifestFor("Bad Name", "1.0.0", wasm))).rejects.toThrow(/invalid module name/);
    await expect(repo.publish(wasm, manifestFor("drv", "one", wasm))).rejects.toThrow(/invalid version/);
    await repo.publish(wasm, manifestFor("drv", "1.0.0", wasm));
    await repo.publish(wasm, manifestFor("drv", "1.0.0", wasm)); // same bytes again: fine
    const other = moduleBytes("b");
    await expect(repo.publish(other, manifestFor("drv", "1.0.0", other))).rejects.toThrow(/already published with other content/);
    await expect(repo.resolve("drv", "^2")).rejects.toThrow(/no version of 'drv' matches '\^2' \(available: 1.0.0\)/);
    await expect(repo.resolve("nope", "*")).rejects.toThrow(/no module named 'nope'/);
  });

  it("a publisher killed at any moment leaves a consistent repository", async () => {
    const dir = tempDir();
    const script = join(dir, "..", `publisher-${process.pid}.mjs`);
    dirs.push(script);
    // The compiled store (scripts/test.sh runs tsc first); a child process publishes versions in a loop until it is killed.
    writeFileSync(
      script,
      `import { ModuleRepository, sha256Hex } from ${JSON.stringify(new URL("../../dist/hub/src/repository.js", import.meta.url).pathname)};
const repo = await ModuleRepository.open(process.argv[2]);
const start = Number(process.argv[3]);
for (let i = start; ; i++) {
  const tag = Buffer.from("v" + i);
  const wasm = new Uint8Array([0,0x61,0x73,0x6d,1,0,0,0,0,4+tag.length,3,0x74,0x61,0x67,...tag]);
  await repo.publish(wasm, { name: "m", version: "1.0." + i, sha256: sha256Hex(wasm), size: wasm.length });
  process.stdout.write(".");
}`,
    );
    let start = 0;
    for (let round = 0; round < 8; round++) {
      const child = spawn(process.execPath, [script, dir, String(start)], { stdio: ["ignore", "pipe", "inherit"] });
      // Kill it at a different moment of its publish loop each round, once it is publishing.
      await new Promise((r) => child.stdout!.once("data", r));
      await new Promise((r) => setTimeout(r, round * 13));
      const exited = new Promise((r) => (child.exitCode !== null ? r(null) : child.once("exit", r)));
      expect(child.exitCode).toBeNull(); // still publishing when killed
      child.kill("SIGKILL");
      await exited;
      const repo = await ModuleRepository.open(dir);
      expect(await repo.verify()).toEqual([]);
      const versions = repo.list()[0]?.versions ?? [];
      start = 1000 * (round + 1);
      for (const v of versions) expect((await repo.resolve("m", v)).version).toBe(v);
      expect(readdirSync(join(dir, "tmp"))).toEqual([]);
    }
    expect((await ModuleRepository.open(dir)).list()[0]!.versions.length).toBeGreaterThan(5);
  }, 60_000);
});

describe("module repository over HTTP", () => {
  let server: RunningRepository;
  let client: RepositoryClient;
  beforeAll(async () => {
    server = await serveRepository(tempDir(), 0);
    client = new RepositoryClient(server.url);
  });
  afterAll(() => server.close());

  it("publishes, lists, resolves and fetches with the hash verified", async () => {
    for (const v of ["1.0.0", "1.1.0"]) {
      const wasm = moduleBytes(`tmp105 ${v}`);
      expect(await client.publish(wasm, manifestFor("tmp105", v, wasm))).toMatchObject({ name: "tmp105", version: v });
    }
    expect(await client.list()).toEqual([{ name: "tmp105", versions: ["1.0.0", "1.1.0"] }]);
    const got = await client.fetchModule("tmp105", "~1.0");
    expect(got.version).toBe("1.0.0");
    expect(Buffer.from(got.wasm).toString()).toContain("tmp105 1.0.0");
  });

  it("a module tampered with in the repository is rejected by its hash", async () => {
    const wasm = moduleBytes("sensor-ok");
    const pub = await client.publish(wasm, manifestFor("sensor", "1.0.0", wasm));
    const blob = join(server.repo.dir, "blobs", `${pub.sha256}.wasm`);
    const bytes = readFileSync(blob);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(blob, bytes);
    await expect(client.fetchModule("sensor", "^1")).rejects.toThrow(/rejected: its bytes hash to [0-9a-f]{64}, the index says/);
    expect(await server.repo.verify()).toEqual([expect.stringMatching(/sensor@1.0.0: blob hashes to .* \(tampered or damaged\)/)]);
  });

  it("errors are clear: unknown module, bad request, unreachable repository", async () => {
    await expect(client.resolve("nothing")).rejects.toThrow(/no module named 'nothing'/);
    const res = await fetch(`${server.url}/v1/publish`, { method: "POST", body: "not json" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/must be JSON/);
    await expect(new RepositoryClient("http://127.0.0.1:1").list()).rejects.toThrow(/unreachable .*liquid repo serve/);
  });
});
