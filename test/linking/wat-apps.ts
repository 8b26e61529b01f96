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
