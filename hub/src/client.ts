/**
 * A client of the module repository's HTTP API. Module bytes are checked against the sha256
 * the index promised before anyone uses them: a tampered or damaged module is rejected here,
 * whatever the server says.
 */
import type { ModuleManifest, ResolvedModule } from "./repository.js";
import { sha256Hex } from "./repository.js";

export class RepositoryClientError extends Error {}

export interface FetchedModule extends ResolvedModule {
  wasm: Uint8Array;
}

export class RepositoryClient {
  readonly base: string;

  constructor(url: string) {
    this.base = url.replace(/\/+$/, "");
  }

  private async request(path: string, init?: RequestInit): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(this.base + path, init);
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new RepositoryClientError(`module repository at ${this.base} is unreachable (${cause}): start one with 'liquid repo serve' or pass --repo`);
    }
    if (!res.ok) {
      let message = `${res.status} ${res.statusText}`;
      try {
        message = ((await res.json()) as { error?: string }).error ?? message;
      } catch {
        /* not JSON: keep the status line */
      }
      throw new RepositoryClientError(message);
    }
    return res;
  }

  async list(): Promise<{ name: string; versions: string[] }[]> {
    return (await (await this.request("/v1/modules")).json()) as { name: string; versions: string[] }[];
  }

  async resolve(name: string, range = "*"): Promise<ResolvedModule> {
    return (await (await this.request(`/v1/resolve/${encodeURIComponent(name)}?range=${encodeURIComponent(range)}`)).json()) as ResolvedModule;
  }

  /** Resolves `name@range` and downloads the module, verifying its hash. */
  async fetchModule(name: string, range = "*"): Promise<FetchedModule> {
    const resolved = await this.resolve(name, range);
    const wasm = new Uint8Array(await (await this.request(`/v1/blobs/${resolved.sha256}`)).arrayBuffer());
    const got = sha256Hex(wasm);
    if (got !== resolved.sha256) {
      throw new RepositoryClientError(`module ${name}@${resolved.version} from ${this.base} rejected: its bytes hash to ${got}, the index says ${resolved.sha256}`);
    }
    return { ...resolved, wasm };
  }

  async publish(wasm: Uint8Array, manifest: ModuleManifest): Promise<{ name: string; version: string; sha256: string; size: number }> {
    const res = await this.request("/v1/publish", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ manifest, wasm: Buffer.from(wasm).toString("base64") }),
    });
    return (await res.json()) as { name: string; version: string; sha256: string; size: number };
  }
}
