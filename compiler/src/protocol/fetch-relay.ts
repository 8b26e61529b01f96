/**
 * The host side of FETCH (docs/protocol.md): a device asks for library NAME@RANGE; the host it
 * is attached to resolves it in a module repository, verifies the bytes against the index's
 * sha256 (RepositoryClient does), and installs it on the device with PUT_* (no start). When it
 * cannot, it answers with a FETCH request carrying the reason, which the device puts in the
 * trap message of the app that needed the library. Requests are served one at a time (a
 * device takes one upload at a time).
 */
import { RepositoryClient } from "../../../hub/src/client.js";
import { BodyWriter } from "./body.js";
import type { DeviceClient } from "./client.js";
import { Cmd } from "./constants.js";

export interface FetchReport {
  name: string;
  range: string;
  ok: boolean;
  version?: string;
  sha256?: string;
  size?: number;
  error?: string;
  /** Milliseconds from the FETCH event to the device's PUT_END answer (or the failure). */
  ms: number;
}

export function fetchFailBody(name: string, range: string, message: string): Uint8Array {
  return new BodyWriter().str8(name).str8(range).str16(message.slice(0, 400)).done();
}

/** Stops relaying when called; `idle` resolves once no FETCH arrived or ran for `quietMs`. */
export type RelayHandle = (() => void) & { idle(quietMs?: number): Promise<void> };

/** Serves the device's FETCH events from the repository at `repoUrl` until the returned function is called. */
export function relayFetches(client: DeviceClient, repoUrl: string, onReport: (r: FetchReport) => void = () => {}): RelayHandle {
  const repo = new RepositoryClient(repoUrl);
  let chain: Promise<void> = Promise.resolve();
  let lastActivity = performance.now();
  let pending = 0;
  const serve = async (name: string, range: string): Promise<void> => {
    const t0 = performance.now();
    try {
      const mod = await repo.fetchModule(name, range);
      await client.put(name, mod.wasm, JSON.stringify(mod.manifest));
      onReport({ name, range, ok: true, version: mod.version, sha256: mod.sha256, size: mod.wasm.length, ms: performance.now() - t0 });
    } catch (err) {
      const message = (err as Error).message;
      try {
        await client.request(Cmd.FETCH, fetchFailBody(name, range, message));
      } catch {
        /* the device went away: nothing left to tell it */
      }
      onReport({ name, range, ok: false, error: message, ms: performance.now() - t0 });
    } finally {
      pending--;
      lastActivity = performance.now();
    }
  };
  const off = client.onFetch((name, range) => {
    pending++;
    lastActivity = performance.now();
    chain = chain.then(() => serve(name, range));
  });
  const handle = (() => off()) as RelayHandle;
  handle.idle = async (quietMs = 300) => {
    for (;;) {
      const wait = lastActivity + quietMs - performance.now();
      if (pending === 0 && wait <= 0) return;
      await new Promise((resolve) => setTimeout(resolve, Math.max(20, wait)));
    }
  };
  return handle;
}
