;; Imports memory, a mutable global and a function from another instance (counter.wat):
;; the execution-time linking the runtime builds on.
(module
  (import "counter" "memory" (memory 1))
  (import "counter" "count" (global $count (mut i32)))
  (import "counter" "inc" (func $inc (result i32)))
  (func (export "peek") (result i32) (i32.load (i32.const 100)))
  (func (export "bump") (result i32) (call $inc))
  (func (export "count") (result i32) (global.get $count))
  (func (export "reset") (global.set $count (i32.const 0)))
)
