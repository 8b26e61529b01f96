// Small apps in WebAssembly text shared by the linking tests.
import { createHash } from "node:crypto";
import { wat } from "../helpers/wat.js";

/**
 * WAT instructions that write local $v's decimal digits backwards, ending just below offset
 * `end`, and leave local $p at the first digit (the function needs i32 locals $v and $p).
 */
export function decimalDigitsWat(end: number): string {
  return `(local.set $p (i32.const ${end}))
      (loop $digits
        (local.set $p (i32.sub (local.get $p) (i32.const 1)))
        (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10))))
        (local.set $v (i32.div_u (local.get $v) (i32.const 10)))
        (br_if $digits (local.get $v)))`;
}

/** Memory holds the bytes 1..10 at offset 100; every second the app logs sum(100, 10) from library "bytesum@^1" (55). */
export const SUM_APP_WAT = `(module
    (import "log" "write" (func $log (param i32 i32 i32)))
    (import "time" "timer_start" (func $timer_start (param i32 i32) (result i32)))
    (import "bytesum@^1" "sum" (func $sum (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 100) "\\01\\02\\03\\04\\05\\06\\07\\08\\09\\0a")
    (func (export "start") (drop (call $timer_start (i32.const 1000) (i32.const 1))))
    (func (export "on_timer") (param i32) (local $v i32) (local $p i32)
      (local.set $v (call $sum (i32.const 100) (i32.const 10)))
      ${decimalDigitsWat(32)}
      (call $log (i32.const 1) (local.get $p) (i32.sub (i32.const 32) (local.get $p)))))`;

/**
 * Every second the app logs one number from library "lookup@^1" (a shared library with its own
 * static data): square(7) * 1000000 + greeting_char(1) * 1000 + the byte at table_address() + 12,
 * which it reads from its own memory — 49104144 when the library's table (0, 1, 4, ..., 225) and
 * string ("shared") were placed in the app's memory; then call_count(), the library's own global.
 */
export const LOOKUP_APP_WAT = `(module
    (import "log" "write" (func $log (param i32 i32 i32)))
    (import "time" "timer_start" (func $timer_start (param i32 i32) (result i32)))
    (import "lookup@^1" "square" (func $square (param i32 i32) (result i32)))
    (import "lookup@^1" "greeting_char" (func $char (param i32 i32) (result i32)))
    (import "lookup@^1" "table_address" (func $table (param i32 i32) (result i32)))
    (import "lookup@^1" "call_count" (func $count (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "start") (drop (call $timer_start (i32.const 1000) (i32.const 1))))
    (func $say (param $v i32) (local $p i32)
      ${decimalDigitsWat(32)}
      (call $log (i32.const 1) (local.get $p) (i32.sub (i32.const 32) (local.get $p))))
    (func (export "on_timer") (param i32)
      (call $say (i32.add (i32.add
        (i32.mul (call $square (i32.const 7) (i32.const 0)) (i32.const 1000000))
        (i32.mul (call $char (i32.const 1) (i32.const 0)) (i32.const 1000)))
        (i32.load8_u (i32.add (call $table (i32.const 0) (i32.const 0)) (i32.const 12)))))
      (call $say (call $count (i32.const 0) (i32.const 0)))))`;

// ---- Shared-everything libraries, ABI v2 (docs/linking.md): hand-written app and library that
// follow the contract byte for byte, so the C runtime is tested without depending on the build.

/** Appends a custom section NAME holding one u32 (little endian) to a module's bytes. */
export function withU32Section(wasm: Uint8Array, name: string, value: number): Uint8Array {
  const nameBytes = Buffer.from(name, "utf8");
  const body = Buffer.concat([Buffer.from([nameBytes.length]), nameBytes, Buffer.alloc(4)]);
  body.writeUInt32LE(value, body.length - 4);
  if (body.length > 127) throw new Error("custom section too long for a one-byte size");
  return Uint8Array.from(Buffer.concat([Buffer.from(wasm), Buffer.from([0, body.length]), body]));
}

/**
 * Library "tabled" 1.0.0, shared, ABI v2: imports the app's memory, table and allocator, and
 * the bases of its static data (16 bytes, "TABLED") and of its 3 table slots (its functions
 * $double, $negate and $bounce, which calls the app's table slot 1). Exports:
 * - apply(i, x): calls the APP's function at table index i with x (call_indirect through the
 *   shared table), then stores the result in a block from the app's allocator and returns it
 *   read back from there;
 * - alloc_marked(size, _): a block of `size` bytes from the app's allocator, its first byte 42;
 * - double_index(_, _): the table index of its own $double, for the app to call directly;
 * - data_char(i, _): byte i of its static data, read at __memory_base.
 */
export const TABLED_LIBRARY_WAT = `(module
    (import "env" "memory" (memory 0))
    (import "env" "table" (table 0 funcref))
    (import "env" "__memory_base" (global $mb i32))
    (import "env" "__table_base" (global $tb i32))
    (import "env" "__lq_alloc" (func $alloc (param i32) (result i32)))
    (type $un (func (param i32) (result i32)))
    (data (global.get $mb) "TABLED")
    (elem (global.get $tb) $double $negate $bounce)
    (func $double (param i32) (result i32) (i32.shl (local.get 0) (i32.const 1)))
    (func $bounce (param i32) (result i32) (call_indirect (type $un) (local.get 0) (i32.const 1)))
    (func $negate (param i32) (result i32) (i32.sub (i32.const 0) (local.get 0)))
    (func (export "apply") (param $i i32) (param $x i32) (result i32) (local $r i32) (local $p i32)
      (local.set $r (call_indirect (type $un) (local.get $x) (local.get $i)))
      (local.set $p (call $alloc (i32.const 4)))
      (i32.store (local.get $p) (local.get $r))
      (i32.load (local.get $p)))
    (func (export "alloc_marked") (param $size i32) (param i32) (result i32) (local $p i32)
      (local.set $p (call $alloc (local.get $size)))
      (i32.store8 (local.get $p) (i32.const 42))
      (local.get $p))
    (func (export "double_index") (param i32 i32) (result i32) (global.get $tb))
    (func (export "data_char") (param $i i32) (param i32) (result i32)
      (i32.load8_u (i32.add (global.get $mb) (local.get $i)))))`;

/** tabled's bytes with its custom sections: 16 bytes of static data, 3 table slots; `text` replaces its "TABLED". */
export function tabledLibrary(text = "TABLED"): Uint8Array {
  return withU32Section(withU32Section(wat(TABLED_LIBRARY_WAT.replace('"TABLED"', JSON.stringify(text))), "liquid.shared_data", 16), "liquid.shared_table", 3);
}

/**
 * An app following ABI v2's app side by hand: exports its table (no maximum; slot 0 its
 * callback $triple, slot 1 $reenter) and a bump allocator as __lq_alloc/__lq_realloc/__lq_free
 * (heap pointer global from 1024). Its callback $triple logs "callback N" through the HAL,
 * counts its calls in a global and triples N: app code running inside a library call.
 * Every second it logs one number:
 *   tabled.apply(0, 7) * 1000000        (21: library -> app callback -> library -> app allocator)
 * + call_indirect(double_index())(5) * 10000   (10: the app calling the library's table entry)
 * + byte at alloc_marked(16) * 10     (42: the library wrote it in a block of the app's heap)
 * + 1 if the app's heap pointer is now that block + 16 (the library used the app's allocator)
 * = 21100421, then "calls N" (its global, N = events so far) and "char 65" ('A' of "TABLED").
 * Options leave out the table or allocator exports, or (`reenter`) make each event log
 * apply(1, 3) instead, whose callback $reenter calls tabled.apply again: a cycle; or
 * (`bounce`) make each event from the second on begin by logging what the library's $bounce,
 * called through the app's table at the index the previous event got from double_index,
 * returns for 3: it calls the app's $reenter, which calls tabled.apply(0, 3) through the
 * trampoline — 9 — while $bounce's frame is on the app's stack. That trampoline call is the
 * event's first library call, the one a pending hot swap happens in.
 */
export function tabledAppWat(opts: { table?: boolean; allocator?: boolean; reenter?: boolean; bounce?: boolean } = {}): string {
  const table = opts.table ?? true;
  const allocator = opts.allocator ?? true;
  return `(module
    (import "log" "write" (func $log (param i32 i32 i32)))
    (import "time" "timer_start" (func $timer_start (param i32 i32) (result i32)))
    (import "tabled@^1" "apply" (func $apply (param i32 i32) (result i32)))
    (import "tabled@^1" "alloc_marked" (func $alloc_marked (param i32 i32) (result i32)))
    (import "tabled@^1" "double_index" (func $double_index (param i32 i32) (result i32)))
    (import "tabled@^1" "data_char" (func $data_char (param i32 i32) (result i32)))
    (type $un (func (param i32) (result i32)))
    (memory (export "memory") 1)
    (global $heap (mut i32) (i32.const 1024))
    (global $calls (mut i32) (i32.const 0))
    (table ${table ? `(export "table") ` : ""}2 funcref)
    (elem (i32.const 0) $triple $reenter)
    (data (i32.const 200) "callback calls char ")
    (func $alloc (${allocator ? `export "__lq_alloc") (` : ""}param $n i32) (result i32) (local $p i32)
      (local.set $p (global.get $heap))
      (global.set $heap (i32.add (local.get $p) (i32.and (i32.add (local.get $n) (i32.const 15)) (i32.const -16))))
      (local.get $p))
    (func $realloc ${allocator ? `(export "__lq_realloc") ` : ""}(param $p i32) (param $n i32) (result i32) (local $q i32)
      (local.set $q (call $alloc (local.get $n)))
      (memory.copy (local.get $q) (local.get $p) (local.get $n))
      (local.get $q))
    (func $free ${allocator ? `(export "__lq_free") ` : ""}(param i32))
    (func $say (param $at i32) (param $len i32) (param $v i32) (local $p i32)
      ${decimalDigitsWat(64)}
      (local.set $p (i32.sub (local.get $p) (local.get $len)))
      (memory.copy (local.get $p) (local.get $at) (local.get $len))
      (call $log (i32.const 1) (local.get $p) (i32.sub (i32.const 64) (local.get $p))))
    (func $triple (param $x i32) (result i32)
      (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
      (call $say (i32.const 200) (i32.const 9) (local.get $x))
      (i32.mul (local.get $x) (i32.const 3)))
    (func $reenter (param $x i32) (result i32) (call $apply (i32.const 0) (local.get $x)))
    (func $digits (param $v i32) (local $p i32)
      ${decimalDigitsWat(32)}
      (call $log (i32.const 1) (local.get $p) (i32.sub (i32.const 32) (local.get $p))))
    (func (export "start") (drop (call $timer_start (i32.const 1000) (i32.const 1))))
    (global $bounce (mut i32) (i32.const -1))
    (func (export "on_timer") (param i32) (local $a i32) (local $b i32) (local $p i32)
      ${opts.reenter ? `(call $digits (call $apply (i32.const 1) (i32.const 3))) (return)` : ""}
      ${opts.bounce ? `(if (i32.ge_s (global.get $bounce) (i32.const 0))
        (then (call $digits (call_indirect (type $un) (i32.const 3) (global.get $bounce)))))` : ""}
      (local.set $a (call $apply (i32.const 0) (i32.const 7)))
      (local.set $b (call_indirect (type $un) (i32.const 5) (call $double_index (i32.const 0) (i32.const 0))))
      (local.set $p (call $alloc_marked (i32.const 16) (i32.const 0)))
      (call $digits (i32.add (i32.add (i32.add
        (i32.mul (local.get $a) (i32.const 1000000))
        (i32.mul (local.get $b) (i32.const 10000)))
        (i32.mul (i32.load8_u (local.get $p)) (i32.const 10)))
        (i32.eq (global.get $heap) (i32.add (local.get $p) (i32.const 16)))))
      (call $say (i32.const 209) (i32.const 6) (global.get $calls))
      (call $say (i32.const 215) (i32.const 5) (call $data_char (i32.const 1) (i32.const 0)))
      ${opts.bounce ? `(global.set $bounce (i32.add (call $double_index (i32.const 0) (i32.const 0)) (i32.const 2)))` : ""}))`;
}

// ---- A library importing a library (the C runtime's linker; docs/linking.md).

/**
 * Library "filter", shared (the app's memory: an MCU has no RAM for a third 64 KiB page):
 * read_tenths(bus, addr) = tmp105.read_centi(bus, addr) / 10, through its own import of tmp105@^1.
 */
export const FILTER_WAT = `(module
    (import "env" "memory" (memory 0))
    (import "tmp105@^1" "read_centi" (func $read (param i32 i32) (result i32)))
    (func (export "read_tenths") (param i32 i32) (result i32)
      (i32.div_s (call $read (local.get 0) (local.get 1)) (i32.const 10))))`;

/** App "tenths": opens I2C0 in start(); every second logs "tenths N" from filter@^1 (235 at 23.5 C). */
export const TENTHS_APP_WAT = `(module
    (import "i2c" "open" (func $open (param i32 i32) (result i32)))
    (import "log" "write" (func $log (param i32 i32 i32)))
    (import "time" "timer_start" (func $timer_start (param i32 i32) (result i32)))
    (import "filter@^1" "read_tenths" (func $tenths (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (global $bus (mut i32) (i32.const 0))
    (data (i32.const 0) "I2C0tenths ")
    (func (export "start") (global.set $bus (call $open (i32.const 0) (i32.const 4)))
      (drop (call $timer_start (i32.const 1000) (i32.const 1))))
    (func (export "on_timer") (param i32) (local $v i32) (local $p i32)
      (local.set $v (call $tenths (global.get $bus) (i32.const 72)))
      ${decimalDigitsWat(64)}
      (memory.copy (i32.sub (local.get $p) (i32.const 7)) (i32.const 4) (i32.const 7))
      (call $log (i32.const 1) (i32.sub (local.get $p) (i32.const 7)) (i32.sub (i32.const 71) (local.get $p)))))`;

export const TENTHS_MANIFEST = {
  liquid: 1,
  name: "tenths",
  version: "0.1.0",
  capabilities: ["i2c", "log", "time"],
  resources: { pins: [], buses: ["I2C0"] },
  libraries: [{ name: "filter", range: "^1" }],
};

/** The manifest of a library NAME 1.0.0 from `wasm`, listing the libraries it imports. */
export function watLibraryManifest(name: string, wasm: Uint8Array, libraries: { name: string; range: string }[], shared = false) {
  return {
    liquid: 1, name, version: "1.0.0", sha256: createHash("sha256").update(wasm).digest("hex"), size: wasm.length,
    kind: "library", ...(shared ? { shared: true } : {}), libraries, capabilities: [], resources: { pins: [], buses: [] },
  };
}

/**
 * An app that logs, every 300 ms, what model() of library "tmp105@RANGE" returns: the tmp105
 * builds of the linking tests return a number that tells their version (1105 for 1.0.0, 1205
 * for 1.1.0, 2105 for 2.0.0), so the log shows which version the app is linked to.
 */
export function modelAppWat(range: string): string {
  return `(module
    (import "log" "write" (func $log (param i32 i32 i32)))
    (import "time" "timer_start" (func $timer_start (param i32 i32) (result i32)))
    (import "tmp105@${range}" "model" (func $model (result i32)))
    (memory (export "memory") 1)
    (func (export "start") (drop (call $timer_start (i32.const 300) (i32.const 1))))
    (func (export "on_timer") (param i32) (local $v i32) (local $p i32)
      (local.set $v (call $model))
      ${decimalDigitsWat(32)}
      (call $log (i32.const 1) (local.get $p) (i32.sub (i32.const 32) (local.get $p)))))`;
}

/** A modelAppWat app, built, with its manifest: tmp105 imports i2c, so the app holds that grant. */
export function modelApp(name: string, range: string) {
  const wasm = wat(modelAppWat(range));
  const manifest = {
    liquid: 1, name, version: "0.1.0", sha256: createHash("sha256").update(wasm).digest("hex"), size: wasm.length,
    capabilities: ["time", "log", "i2c"], resources: { pins: [], buses: ["I2C0"] },
  };
  return { wasm, manifest };
}
