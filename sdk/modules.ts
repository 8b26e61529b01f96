// Libraries by name and version range, loaded when the app decides (docs/linking.md): the
// explicit counterpart of importing from "NAME@RANGE". Every function returns errors as values
// (negative codes from the HAL: ENOENT, EINVAL, EBUSY, EIO, ...); nothing traps.
//
//   const lib = modules.load(device.has("bme280") ? "bme280" : "tmp105", "^1");
//   if (lib == ENOENT) { /* the device asked its host for it: try again in a moment */ }
//   const read = modules.lookup(lib, "read_centi");
//   const centi = modules.call(read, bus.id, 0x48);
//   if (modules.status() != OK) log.warn("driver failed");
import { module_call, module_load, module_lookup, module_unload } from "./generated/module";
import { DATA_CAP, NAME_CAP, dataBuf, nameBuf } from "./internal/scratch";
import { encodeName } from "./internal/utf8";

const resultBuf: usize = memory.data(4);

// `load` is shadowed inside the namespace below by modules.load.
// @ts-ignore: decorator
@inline function builtin_load_i32(ptr: usize): i32 {
  return load<i32>(ptr);
}
let lastStatus: i32 = 0;

export namespace modules {
  /** A handle (>= 0) for library `name` at the highest version on the device satisfying `range`, or an error. */
  export function load(name: string, range: string): i32 {
    return module_load(nameBuf, encodeName(name, nameBuf, NAME_CAP), dataBuf, encodeName(range, dataBuf, DATA_CAP));
  }

  /** A handle (>= 0) for the library's export `name`, of type (i32, i32) -> i32, or an error. */
  export function lookup(module: i32, name: string): i32 {
    return module_lookup(module, nameBuf, encodeName(name, nameBuf, NAME_CAP));
  }

  /** Calls `fn` with (a, b) and returns its result; status() tells whether the call succeeded (0 when not). */
  export function call(fn: i32, a: i32, b: i32): i32 {
    lastStatus = module_call(fn, a, b, resultBuf, 4);
    return lastStatus == 0 ? builtin_load_i32(resultBuf) : 0;
  }

  /** The status of the last call(): 0 (OK), EINVAL (bad handle), EIO (the library trapped). */
  export function status(): i32 {
    return lastStatus;
  }

  /** Releases a handle from load(); the library's instance is freed when nothing uses it any more. */
  export function unload(module: i32): i32 {
    return module_unload(module);
  }
}
