/**
 * Where a shared-everything library's own static data goes in the importing app's memory. The
 * build (compiler/src/app-build/library.ts) makes every address of that data relative to an
 * imported immutable global, env.__memory_base, and records the data's size in a custom
 * section; the linker reserves that many bytes in the app's memory and passes their address.
 *
 * Regions are taken from the top of the app's memory downwards, one per library, 16-byte
 * aligned. The app's allocator does not know about them (it is not shared, docs/linking.md):
 * an app whose heap grows into its last bytes would overwrite a library's data.
 */
import { LinkError } from "./library-store.js";

/** The immutable i32 global a shared library imports from "env" for its data's address. */
export const MEMORY_BASE_IMPORT = "__memory_base";
/** The custom section with the size (u32 little endian) of the region to reserve. */
export const SHARED_DATA_SECTION = "liquid.shared_data";

export class SharedDataRegions {
  private readonly regions = new Map<string, { address: number; size: number }>();
  private lowest: number | undefined;

  /** The address of `size` bytes for library `name` in `memory` (its region again if it fits). */
  reserve(name: string, size: number, memory: WebAssembly.Memory): number {
    const had = this.regions.get(name);
    if (had && had.size >= size) return had.address;
    const top = this.lowest ?? memory.buffer.byteLength;
    const address = (top - size) & ~15;
    if (address < 0) {
      throw new LinkError(`${name}'s static data (${size} bytes) does not fit in the app's memory (${memory.buffer.byteLength} bytes)`);
    }
    this.lowest = address;
    this.regions.set(name, { address, size });
    return address;
  }

  /** Every region, for tests and `loaded()`. */
  get(name: string): { address: number; size: number } | undefined {
    return this.regions.get(name);
  }
}
