/**
 * Fetches the libraries apps name from a module repository into a board's store, before the
 * simulation runs (the simulator's clock is virtual, so the network wait happens up front; the
 * linking itself stays lazy, at the first call). Follows libraries that import libraries. The
 * repository client rejects bytes that do not hash to what the index promised; the store then
 * checks them against the library's manifest.
 */
import { RepositoryClient, RepositoryClientError } from "../../../hub/src/client.js";
import { parseManifest } from "../app/manifest.js";
import { formatLibraryRef, type LibraryRef, parseLibraryRef } from "./library-ref.js";
import { type LibraryModule, LinkError, type LibraryStore } from "./library-store.js";

export async function fetchLibraries(url: string, refs: LibraryRef[], store: LibraryStore): Promise<LibraryModule[]> {
  const client = new RepositoryClient(url);
  const fetched: LibraryModule[] = [];
  const seen = new Set<string>();
  const queue = [...refs];
  while (queue.length) {
    const ref = queue.shift()!;
    const key = formatLibraryRef(ref);
    if (seen.has(key)) continue;
    seen.add(key);
    let module;
    try {
      module = await client.fetchModule(ref.name, ref.range);
    } catch (err) {
      if (err instanceof RepositoryClientError) throw new LinkError(`cannot fetch library ${key}: ${err.message}`);
      throw err;
    }
    const manifest = parseManifest(module.manifest, `manifest of ${module.name}@${module.version} from ${url}`);
    const lib = store.add(module.wasm, manifest);
    fetched.push(lib);
    for (const imp of lib.imports) {
      const next = parseLibraryRef(imp.module);
      if (next) queue.push(next);
    }
  }
  return fetched;
}
