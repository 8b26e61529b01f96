/**
 * The module repository's HTTP API, used by `liquid publish`, the device tooling's fetch relay,
 * posix devices and simulated devices. JSON in and out, except module bytes
 * (application/wasm). Errors are `{"error": MESSAGE}` with a 4xx/5xx status.
 *
 *   GET  /v1/modules                     [{name, versions}]
 *   GET  /v1/modules/NAME                {name, versions: {VERSION: {sha256, size, published}}}
 *   GET  /v1/resolve/NAME?range=RANGE    {name, version, sha256, size, manifest}
 *   GET  /v1/blobs/SHA256                the module bytes
 *   GET  /v1/manifests/SHA256            the manifest
 *   POST /v1/publish                     body {manifest, wasm: BASE64} -> 201 {name, version, sha256, size}
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type ModuleManifest, ModuleRepository, RepositoryError } from "./repository.js";

/** Publishing is bounded so one request cannot exhaust the server's memory. */
export const MAX_PUBLISH_BYTES = 16 * 1024 * 1024;

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > MAX_PUBLISH_BYTES) throw new RepositoryError(`request body over ${MAX_PUBLISH_BYTES} bytes`, 413);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function route(repo: ModuleRepository, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://repository");
  const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] !== "v1") throw new RepositoryError(`no such endpoint ${url.pathname} (the API lives under /v1/)`, 404);
  const [, what, arg] = parts;
  if (req.method === "GET" && what === "modules" && parts.length === 2) return send(res, 200, repo.list());
  if (req.method === "GET" && what === "modules" && arg && parts.length === 3) {
    const versions = repo.versions(arg);
    if (!versions) throw new RepositoryError(`no module named '${arg}' in the repository`, 404);
    return send(res, 200, { name: arg, versions });
  }
  if (req.method === "GET" && what === "resolve" && arg && parts.length === 3) {
    return send(res, 200, await repo.resolve(arg, url.searchParams.get("range") ?? "*"));
  }
  if (req.method === "GET" && what === "blobs" && arg && parts.length === 3) {
    const bytes = await repo.blob(arg);
    res.writeHead(200, { "content-type": "application/wasm", "content-length": bytes.length });
    res.end(bytes);
    return;
  }
  if (req.method === "GET" && what === "manifests" && arg && parts.length === 3) return send(res, 200, await repo.manifest(arg));
  if (req.method === "POST" && what === "publish" && parts.length === 2) {
    let body: { manifest?: ModuleManifest; wasm?: string };
    try {
      body = JSON.parse((await readBody(req)).toString("utf8")) as typeof body;
    } catch (err) {
      if (err instanceof RepositoryError) throw err;
      throw new RepositoryError("the publish request must be JSON {manifest, wasm: BASE64}");
    }
    if (!body.manifest || typeof body.wasm !== "string") throw new RepositoryError("the publish request must be JSON {manifest, wasm: BASE64}");
    const published = await repo.publish(new Uint8Array(Buffer.from(body.wasm, "base64")), body.manifest);
    return send(res, 201, { name: published.name, version: published.version, sha256: published.sha256, size: published.size });
  }
  throw new RepositoryError(`no such endpoint ${req.method} ${url.pathname}`, 404);
}

export interface RunningRepository {
  server: Server;
  repo: ModuleRepository;
  url: string;
  close(): Promise<void>;
}

/** Serves the repository in `dir` on 127.0.0.1:`port` (0 picks a free port). */
export async function serveRepository(dir: string, port = 0, host = "127.0.0.1"): Promise<RunningRepository> {
  const repo = await ModuleRepository.open(dir);
  const server = createServer((req, res) => {
    route(repo, req, res).catch((err: unknown) => {
      const status = err instanceof RepositoryError ? err.status : 500;
      if (!res.headersSent) send(res, status, { error: (err as Error).message });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    server,
    repo,
    url: `http://${host}:${addr.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
