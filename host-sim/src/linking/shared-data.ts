/**
 * Where a shared-everything library's own static data goes in the importing app's memory. The
 * build (compiler/src/app-build/library.ts) makes every address of that data relative to an
 * imported immutable global, env.__memory_base, and records the data's size in a custom
 * section; the linker reserves that many bytes in the app's memory and passes their address.
 *
 * When the app's manifest names its heap pointer (the bump pointer of AssemblyScript's stub
 * allocator, exported by `liquid build`), a region is taken from the app's heap: read the
 * pointer, align, reserve, write it back, so that the app's later allocations go above it.
 * Otherwise (no allocator, or the heap has no room below the memory's end) regions are taken
 * from the top of the app's memory downwards, 16-byte aligned, which the app's allocator does
 * not know about (docs/linking.md).
 */
import { LinkError } from "./library-store.js";

/** The immutable i32 global a shared library imports from "env" for its data's address. */
export const MEMORY_BASE_IMPORT = "__memory_base";
/** The custom section with the size (u32 little endian) of the region to reserve. */
export const SHARED_DATA_SECTION = "liquid.shared_data";
/** ABI v2: the immutable i32 global a shared library imports from "env" for its first table slot. */
export const TABLE_BASE_IMPORT = "__table_base";
/** ABI v2: the custom section with how many slots (u32 little endian) to append to the app's table. */
export const SHARED_TABLE_SECTION = "liquid.shared_table";
/** ABI v2: the app's allocator functions a shared library imports from "env" (the app exports them). */
export const ALLOCATOR_IMPORTS: readonly string[] = ["__lq_alloc", "__lq_realloc", "__lq_free"];

export interface SharedDataRegion {
  address: number;
  size: number;
  /** Taken from the app's heap (its heap pointer advanced past it), not from the top of memory. */
  fromHeap: boolean;
}

export class SharedDataRegions {
  private readonly regions = new Map<string, SharedDataRegion>();
  private lowest: number | undefined;

  /** The address of `size` bytes for library `name` in `memory` (its region again if it fits). */
  reserve(name: string, size: number, memory: WebAssembly.Memory, heapPointer?: WebAssembly.Global): number {
    const had = this.regions.get(name);
    if (had && had.size >= size) return had.address;
    if (heapPointer) {
      const address = ((Number(heapPointer.value) >>> 0) + 15) & ~15;
      const end = address + ((size + 15) & ~15);
      if (end <= (this.lowest ?? memory.buffer.byteLength)) {
        heapPointer.value = end;
        this.regions.set(name, { address, size, fromHeap: true });
        return address;
      }
    }
    const top = this.lowest ?? memory.buffer.byteLength;
    const address = (top - size) & ~15;
    if (address < 0) {
      throw new LinkError(`${name}'s static data (${size} bytes) does not fit in the app's memory (${memory.buffer.byteLength} bytes)`);
    }
    this.lowest = address;
    this.regions.set(name, { address, size, fromHeap: false });
    return address;
  }

  /** Every region, for tests and `loaded()`. */
  get(name: string): SharedDataRegion | undefined {
    return this.regions.get(name);
  }
}
