import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../hub/src/repository.js";

const run = promisify(execFile);
const LIQUID = resolve(import.meta.dirname, "..", "..", "bin", "liquid.js");

describe("liquid repo serve / publish / repo ls", () => {
  const dir = mkdtempSync(join(tmpdir(), "liquid-repo-cli-"));
  let server: ChildProcess;
  let url = "";
  beforeAll(async () => {
    server = spawn(process.execPath, [LIQUID, "repo", "serve", "--dir", join(dir, "store"), "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
    url = await new Promise<string>((res, rej) => {
      let out = "";
      server.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /module repository at (http:\/\/\S+)/.exec(out);
        if (m) res(m[1]!);
      });
      server.once("exit", (code) => rej(new Error(`repo serve exited with ${code}`)));
    });
  });
  afterAll(() => {
    server.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  });

  it("publishes a built module and lists it", async () => {
    const wasm = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
    writeFileSync(join(dir, "drv.wasm"), wasm);
    writeFileSync(join(dir, "drv.manifest.json"), JSON.stringify({ liquid: 1, name: "drv", version: "1.2.0", sha256: sha256Hex(wasm), size: wasm.length }));
    const pub = await run(process.execPath, [LIQUID, "publish", join(dir, "drv.wasm"), "--repo", url]);
    expect(pub.stdout).toMatch(/^published drv@1.2.0 \(8 bytes, sha256 [0-9a-f]{12}…\) to http/);
    const ls = await run(process.execPath, [LIQUID, "repo", "ls", "--repo", url]);
    expect(ls.stdout.trim()).toBe("drv  1.2.0");
  });

  it("a missing manifest and an unreachable repository say what to do", async () => {
    writeFileSync(join(dir, "lonely.wasm"), new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    await expect(run(process.execPath, [LIQUID, "publish", join(dir, "lonely.wasm"), "--repo", url])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/lonely.manifest.json is missing: rebuild with 'liquid build'/),
    });
    await expect(run(process.execPath, [LIQUID, "repo", "ls", "--repo", "http://127.0.0.1:1"])).rejects.toMatchObject({
      stderr: expect.stringMatching(/unreachable .*start one with 'liquid repo serve'/),
    });
  });
});
