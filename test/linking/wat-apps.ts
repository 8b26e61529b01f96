// Small apps in WebAssembly text shared by the linking tests.

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
