// The simulator core through its API: virtual time, timers, pins with debounce, messages,
// random, I2C, grants, traps and the watchdog, several apps and boards.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type AppManifest, AppLoadError, Simulation, loadBoard, parseBoard, sha256Hex } from "../../host-sim/src/index.js";
import { ROOT } from "../helpers/native-build.js";
import { IMPORTS, gpioEvents, logs, simWithBoard, testBoard, traps, wat } from "./support.js";

const BLINKY = (ms: number, pin = "LED0") => wat(`(module ${IMPORTS}
 (memory (export "memory") 1)
 (data (i32.const 0) "${pin}")
 (global $led (mut i32) (i32.const 0))
 (func (export "start")
   (global.set $led (call $gpio_open (i32.const 0) (i32.const ${pin.length})))
   (drop (call $gpio_mode (global.get $led) (i32.const 1)))
   (drop (call $timer_start (i32.const ${ms}) (i32.const 1))))
 (func (export "on_timer") (param i32) (drop (call $gpio_toggle (global.get $led)))))`);

function manifestFor(wasm: Uint8Array, name: string, capabilities: string[], pins: string[] = [], buses: string[] = []): AppManifest {
  return {
    liquid: 1, name, version: "0.1.0", sha256: sha256Hex(wasm), size: wasm.length, exports: [], imports: [],
    capabilities, resources: { pins, buses },
  };
}

const ALL_CAPS = ["gpio", "i2c", "time", "log", "device", "msg", "random"];

describe("virtual time and timers", () => {
  it("toggles LED0 at exactly every 500 ms of virtual time, including the end of the run", () => {
    const { sim, board, events } = simWithBoard();
    board.install(BLINKY(500), undefined, { name: "blinky" });
    sim.runFor(2000);
    expect(gpioEvents(events, "LED0")).toEqual([[500, 1], [1000, 0], [1500, 1], [2000, 0]]);
    expect(sim.now).toBe(2000);
    sim.runFor(499);
    expect(gpioEvents(events, "LED0")).toHaveLength(4);
    sim.runFor(1);
    expect(gpioEvents(events, "LED0").at(-1)).toEqual([2500, 1]);
  });

  it("fires a one-shot timer once and stops a cancelled periodic timer", () => {
    const { sim, board, events } = simWithBoard();
    // A one-shot of 300 ms lights LED1 and cancels a periodic 100 ms timer that toggles LED0.
    // Both are due at 300: the one-shot was armed at 0, the periodic's third firing only at
    // 200, and equal times run in arming order — so the periodic never fires at 300.
    board.install(wat(`(module ${IMPORTS}
      (memory (export "memory") 1) (data (i32.const 0) "LED0LED1")
      (global $l0 (mut i32) (i32.const 0)) (global $l1 (mut i32) (i32.const 0))
      (global $periodic (mut i32) (i32.const 0)) (global $once (mut i32) (i32.const 0))
      (func (export "start")
        (global.set $l0 (call $gpio_open (i32.const 0) (i32.const 4)))
        (global.set $l1 (call $gpio_open (i32.const 4) (i32.const 4)))
        (drop (call $gpio_mode (global.get $l0) (i32.const 1)))
        (drop (call $gpio_mode (global.get $l1) (i32.const 1)))
        (global.set $periodic (call $timer_start (i32.const 100) (i32.const 1)))
        (global.set $once (call $timer_start (i32.const 300) (i32.const 0))))
      (func (export "on_timer") (param $t i32)
        (if (i32.eq (local.get $t) (global.get $once))
          (then (drop (call $gpio_write (global.get $l1) (i32.const 1)))
                (drop (call $timer_cancel (global.get $periodic))))
          (else (drop (call $gpio_toggle (global.get $l0)))))))`), undefined, { name: "timers" });
    const idle = sim.runUntilIdle(10_000);
    expect(idle).toBe(true);
    expect(gpioEvents(events, "LED0")).toEqual([[100, 1], [200, 0]]);
    expect(gpioEvents(events, "LED1")).toEqual([[300, 1]]);
    expect(sim.now).toBe(300);
  });

  it("paces the same events by the wall clock in real-time mode", async () => {
    const { sim, board, events } = simWithBoard();
    board.install(BLINKY(100), undefined, { name: "blinky" });
    const idle = await sim.runRealtime(250);
    expect(idle).toBe(false);
    expect(sim.now).toBe(250);
    expect(gpioEvents(events, "LED0")).toEqual([[100, 1], [200, 0]]);
    const abort = new AbortController();
    abort.abort();
    await sim.runRealtime(10_000, { signal: abort.signal });
    expect(sim.now).toBe(250);
  });

  it("reads the virtual clock through time.now_ms", () => {
    const { sim, board } = simWithBoard();
    const app = board.install(wat(`(module ${IMPORTS} (memory (export "memory") 1)
      (global $seen (mut i64) (i64.const -1)) (export "seen" (global $seen))
      (func (export "start") (drop (call $timer_start (i32.const 1234) (i32.const 0))))
      (func (export "on_timer") (param i32) (global.set $seen (call $now_ms))))`), undefined, { name: "clock" });
    sim.runFor(5000);
    expect((app.wasmInstance!.exports.seen as WebAssembly.Global).value).toBe(1234n);
  });
});

describe("pins", () => {
  // on_pin drives LED1 with the inverse of BUTTON0's level (active low: pressed = level 0).
  const BUTTON_APP = wat(`(module ${IMPORTS} (memory (export "memory") 1) (data (i32.const 0) "BUTTON0LED1")
    (global $btn (mut i32) (i32.const 0)) (global $led (mut i32) (i32.const 0))
    (func (export "start")
      (global.set $btn (call $gpio_open (i32.const 0) (i32.const 7)))
      (global.set $led (call $gpio_open (i32.const 7) (i32.const 4)))
      (drop (call $gpio_mode (global.get $btn) (i32.const 2)))
      (drop (call $gpio_mode (global.get $led) (i32.const 1)))
      (drop (call $gpio_watch (global.get $btn) (i32.const 3) (i32.const 20))))
    (func (export "on_pin") (param $pin i32) (param $v i32)
      (drop (call $gpio_write (global.get $led) (i32.eqz (local.get $v))))))`);

  it("debounces a bouncing button: only levels stable for 20 ms reach on_pin", () => {
    const { sim, board, events } = simWithBoard();
    board.install(BUTTON_APP, undefined, { name: "button" });
    const press = [[100, 1], [104, 0], [108, 1], [600, 0], [603, 1], [606, 0], [900, 1], [910, 0]];
    for (const [t, v] of press) sim.at(t!, () => board.set("BUTTON0", v!));
    sim.runFor(1500);
    // Pressed from 108 (stable at 128), released from 606 (stable at 626); the 10 ms press at
    // 900 is shorter than the debounce time and is ignored.
    expect(gpioEvents(events, "LED1")).toEqual([[128, 1], [626, 0]]);
    expect(board.get("BUTTON0")).toBe(0);
  });

  it("reports BUTTON0's line level: active low, pulled up when released", () => {
    const { sim, board, events } = simWithBoard();
    expect(board.pins.get("BUTTON0")!.level).toBe(1);
    board.set("BUTTON0", 1);
    sim.runFor(10);
    expect(gpioEvents(events, "BUTTON0")).toEqual([[0, 0]]);
    expect(() => board.set("LED0", 1)).toThrow("LED0 is an output driven by apps; it cannot be set from outside");
    expect(() => board.set("BUTTON0", 2)).toThrow("BUTTON0 takes 0 or 1 (1 = pressed), not 2");
    expect(() => board.set("NOPE", 1)).toThrow(/has nothing named NOPE \(settable: BUTTON0, GPIO5, I2C0.tmp105.temperature/);
  });

  it("returns ENOENT for a granted pin the board lacks, and traps on a pin not granted", () => {
    const { sim, board, events } = simWithBoard();
    const app = wat(`(module ${IMPORTS} (memory (export "memory") 1) (data (i32.const 0) "LED7LED1")
      (global $r (mut i32) (i32.const 0)) (export "r" (global $r))
      (func (export "start")
        (global.set $r (call $gpio_open (i32.const 0) (i32.const 4)))
        (drop (call $gpio_open (i32.const 4) (i32.const 4)))))`);
    const inst = board.install(app, manifestFor(app, "picky", ALL_CAPS, ["LED0", "LED7"]));
    board.install(BLINKY(250), undefined, { name: "blinky" });
    sim.runFor(600);
    expect(traps(events)).toMatchObject([
      { t: 0, app: "picky", entry: "start", watchdog: false, message: "app 'picky' may not use pin LED1: not granted by its manifest" },
    ]);
    expect(inst.state).toBe("trapped");
    expect(inst.error).toBe("trapped in start: app 'picky' may not use pin LED1: not granted by its manifest");
    expect(gpioEvents(events, "LED0")).toEqual([[250, 1], [500, 0]]);
  });

  it("keeps a write to an input pin in the output latch until the pin becomes an output", () => {
    const { sim, board, events } = simWithBoard();
    board.install(wat(`(module ${IMPORTS} (memory (export "memory") 1) (data (i32.const 0) "GPIO5")
      (global $p (mut i32) (i32.const 0)) (global $w (mut i32) (i32.const 0)) (global $r (mut i32) (i32.const 0))
      (export "w" (global $w)) (export "r" (global $r))
      (func (export "start")
        (global.set $p (call $gpio_open (i32.const 0) (i32.const 5)))
        (drop (call $gpio_mode (global.get $p) (i32.const 0)))
        (global.set $w (call $gpio_write (global.get $p) (i32.const 1)))
        (global.set $r (call $gpio_read (global.get $p)))
        (drop (call $timer_start (i32.const 10) (i32.const 0))))
      (func (export "on_timer") (param i32) (drop (call $gpio_mode (global.get $p) (i32.const 1)))))`), undefined, { name: "latch" });
    sim.runFor(20);
    const app = board.app("latch");
    expect([(app.wasmInstance!.exports.w as WebAssembly.Global).value, (app.wasmInstance!.exports.r as WebAssembly.Global).value]).toEqual([0, 0]);
    expect(gpioEvents(events, "GPIO5")).toEqual([[10, 1]]);
  });
});

describe("messages", () => {
  it("delivers a publish to subscribers in a later event, never inside publish", () => {
    const { sim, board, events } = simWithBoard();
    const sub = wat(`(module ${IMPORTS} (memory (export "memory") 1) (data (i32.const 0) "room/#")
      (func (export "start") (drop (call $subscribe (i32.const 0) (i32.const 6))))
      (func (export "on_message") (param $s i32) (param $len i32)
        (drop (call $msg_read (i32.const 100) (i32.const 64)))
        (call $log (i32.const 1) (i32.const 100) (local.get $len))))`);
    const pub = wat(`(module ${IMPORTS} (memory (export "memory") 1)
      (data (i32.const 0) "room/temp") (data (i32.const 16) "21.5 C") (data (i32.const 32) "published") (data (i32.const 48) "other")
      (func (export "start")
        (drop (call $timer_start (i32.const 50) (i32.const 0))))
      (func (export "on_timer") (param i32)
        (drop (call $publish (i32.const 48) (i32.const 5) (i32.const 16) (i32.const 6)))
        (drop (call $publish (i32.const 0) (i32.const 9) (i32.const 16) (i32.const 6)))
        (call $log (i32.const 1) (i32.const 32) (i32.const 9))))`);
    board.install(sub, undefined, { name: "sub" });
    board.install(pub, undefined, { name: "pub" });
    sim.runFor(100);
    expect(logs(events)).toEqual([[50, "published"], [50, "21.5 C"]]);
    expect(logs(events, "sub")).toEqual([[50, "21.5 C"]]);
    expect(events.filter((e) => e.type === "msg")).toHaveLength(2);
  });

  it("delivers once per app, matches a/b/# only below a/b/, and limits messages in flight", () => {
    const { sim, board } = simWithBoard();
    const counter = board.install(wat(`(module ${IMPORTS} (memory (export "memory") 1)
      (data (i32.const 0) "room/#") (data (i32.const 16) "room/temp") (data (i32.const 32) "#")
      (global $n (mut i32) (i32.const 0)) (global $last (mut i32) (i32.const -1)) (global $all (mut i32) (i32.const 0))
      (export "n" (global $n)) (export "last" (global $last)) (export "all" (global $all))
      (func (export "start")
        (drop (call $subscribe (i32.const 0) (i32.const 6)))
        (drop (call $subscribe (i32.const 16) (i32.const 9)))
        (global.set $all (call $subscribe (i32.const 32) (i32.const 1))))
      (func (export "on_message") (param $s i32) (param i32)
        (global.set $n (i32.add (global.get $n) (i32.const 1)))
        (global.set $last (local.get $s))))`), undefined, { name: "counter" });
    const publisher = board.install(wat(`(module ${IMPORTS} (memory (export "memory") 1)
      (data (i32.const 0) "room/temp")
      (global $bare (mut i32) (i32.const 0)) (global $sixteenth (mut i32) (i32.const 0)) (global $seventeenth (mut i32) (i32.const 0))
      (export "bare" (global $bare)) (export "sixteenth" (global $sixteenth)) (export "seventeenth" (global $seventeenth))
      (func (export "start") (local $i i32)
        (global.set $bare (call $publish (i32.const 0) (i32.const 4) (i32.const 0) (i32.const 0)))
        (loop $l
          (global.set $sixteenth (call $publish (i32.const 0) (i32.const 9) (i32.const 0) (i32.const 0)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 16))))
        (global.set $seventeenth (call $publish (i32.const 0) (i32.const 9) (i32.const 0) (i32.const 0)))))`), undefined, { name: "publisher" });
    sim.runFor(1);
    const g = (app: typeof counter, n: string) => (app.wasmInstance!.exports[n] as WebAssembly.Global).value as number;
    expect(g(counter, "all")).toBe(-1); // a bare "#" is not a subscription
    expect([g(publisher, "bare"), g(publisher, "sixteenth"), g(publisher, "seventeenth")]).toEqual([0, 0, -4]);
    expect([g(counter, "n"), g(counter, "last")]).toEqual([16, 0]); // "room" did not match room/#
  });

  it("stops a message ping-pong that never lets virtual time advance", () => {
    const { sim, board } = simWithBoard({ maxEventsPerInstant: 1000 });
    // Every message makes the app publish again on the topic it listens to.
    board.install(wat(`(module ${IMPORTS} (memory (export "memory") 1) (data (i32.const 0) "echo")
      (func (export "start")
        (drop (call $subscribe (i32.const 0) (i32.const 4)))
        (drop (call $publish (i32.const 0) (i32.const 4) (i32.const 0) (i32.const 0))))
      (func (export "on_message") (param i32 i32)
        (drop (call $publish (i32.const 0) (i32.const 4) (i32.const 0) (i32.const 0)))))`), undefined, { name: "echo" });
    expect(() => sim.runFor(100)).toThrow("more than 1,000 events at 0 ms: apps keep scheduling work for the same instant (a message loop?)");
  });
});

describe("per-app limits (those of the firmware runtime)", () => {
  it("refuses a 9th timer, a 5th subscription, a 257-byte payload and a 48-byte topic", () => {
    const { sim, board } = simWithBoard();
    const app = board.install(wat(`(module ${IMPORTS} (memory (export "memory") 1)
      (data (i32.const 0) "t") (data (i32.const 100) "topic-of-exactly-forty-eight-bytes-0123456789abc")
      (global $timer8 (mut i32) (i32.const 0)) (global $timer9 (mut i32) (i32.const 0))
      (global $sub4 (mut i32) (i32.const 0)) (global $sub5 (mut i32) (i32.const 0))
      (global $big (mut i32) (i32.const 0)) (global $ok (mut i32) (i32.const 0)) (global $long (mut i32) (i32.const 0))
      (export "timer8" (global $timer8)) (export "timer9" (global $timer9)) (export "sub4" (global $sub4))
      (export "sub5" (global $sub5)) (export "big" (global $big)) (export "ok" (global $ok)) (export "long" (global $long))
      (func (export "start") (local $i i32)
        (loop $l
          (global.set $timer8 (call $timer_start (i32.const 1000) (i32.const 0)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 8))))
        (global.set $timer9 (call $timer_start (i32.const 1000) (i32.const 0)))
        (local.set $i (i32.const 0))
        (loop $s
          (global.set $sub4 (call $subscribe (i32.const 0) (i32.const 1)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $s (i32.lt_u (local.get $i) (i32.const 4))))
        (global.set $sub5 (call $subscribe (i32.const 0) (i32.const 1)))
        (global.set $big (call $publish (i32.const 0) (i32.const 1) (i32.const 200) (i32.const 257)))
        (global.set $ok (call $publish (i32.const 0) (i32.const 1) (i32.const 200) (i32.const 256)))
        (global.set $long (call $publish (i32.const 100) (i32.const 48) (i32.const 200) (i32.const 1)))))`), undefined, { name: "greedy" });
    sim.runFor(1);
    const g = (n: string) => (app.wasmInstance!.exports[n] as WebAssembly.Global).value as number;
    expect([g("timer8"), g("timer9"), g("sub4"), g("sub5")]).toEqual([7, -4, 3, -4]);
    expect([g("big"), g("ok"), g("long")]).toEqual([-1, 0, -1]);
  });
});

describe("random", () => {
  it("gives the same sequence for the same seed and another for another seed", () => {
    const draw = (seed: number) => {
      const { sim, board } = simWithBoard({ seed });
      const app = board.install(wat(`(module ${IMPORTS} (memory (export "memory") 1)
        (global $a (mut i32) (i32.const 0)) (global $b (mut i32) (i32.const 0))
        (export "a" (global $a)) (export "b" (global $b))
        (func (export "start") (global.set $a (call $random_u32)) (global.set $b (call $random_u32))))`), undefined, { name: "dice" });
      sim.runFor(1);
      const ex = app.wasmInstance!.exports;
      return [(ex.a as WebAssembly.Global).value, (ex.b as WebAssembly.Global).value];
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    expect(draw(7)[0]).not.toEqual(draw(7)[1]);
  });
});

describe("I2C", () => {
  it("reads the TMP105 through i2c.write_read and NACKs an absent address", () => {
    const { sim, board, events } = simWithBoard();
    const app = board.install(wat(`(module ${IMPORTS} (memory (export "memory") 1) (data (i32.const 0) "I2C0")
      (global $ok (mut i32) (i32.const 0)) (global $nack (mut i32) (i32.const 0))
      (export "ok" (global $ok)) (export "nack" (global $nack))
      (func (export "start") (local $bus i32)
        (local.set $bus (call $i2c_open (i32.const 0) (i32.const 4)))
        (i32.store8 (i32.const 16) (i32.const 0))
        (global.set $ok (call $i2c_write_read (local.get $bus) (i32.const 0x48) (i32.const 16) (i32.const 1) (i32.const 20) (i32.const 2)))
        (global.set $nack (call $i2c_write_read (local.get $bus) (i32.const 0x50) (i32.const 16) (i32.const 1) (i32.const 20) (i32.const 2)))))`),
      undefined, { name: "reader" });
    sim.runFor(1);
    const ex = app.wasmInstance!.exports;
    expect((ex.ok as WebAssembly.Global).value).toBe(2);
    expect((ex.nack as WebAssembly.Global).value).toBe(-2);
    expect([...new Uint8Array((ex.memory as WebAssembly.Memory).buffer, 20, 2)]).toEqual([21, 128]); // 21.5 °C
    expect(events.filter((e) => e.type === "i2c")).toEqual([
      { t: 0, type: "i2c", bus: "I2C0", addr: 72, op: "write_read", write: [0], read: [21, 128], ok: true, app: "reader", board: "b1" },
      { t: 0, type: "i2c", bus: "I2C0", addr: 80, op: "write_read", write: [0], read: [], ok: false, app: "reader", board: "b1" },
    ]);
  });
});

describe("faults stay inside the faulty app", () => {
  it("stops an endless loop with the watchdog while blinky keeps blinking", () => {
    const { sim, board, events } = simWithBoard({ budget: 200_000 });
    board.install(BLINKY(500), undefined, { name: "blinky" });
    const spin = board.install(wat(`(module (memory (export "memory") 1)
      (func (export "start") (loop $l (br $l))))`), undefined, { name: "spin" });
    sim.runFor(1000);
    expect(traps(events)).toMatchObject([
      { t: 0, app: "spin", entry: "start", watchdog: true, message: "stopped by the watchdog: start did not return within its budget (200,000 steps)" },
    ]);
    expect(spin.state).toBe("trapped");
    expect(gpioEvents(events, "LED0")).toEqual([[500, 1], [1000, 0]]);
  });

  it("stops an endless loop in the module's start function (top-level code) while blinky keeps blinking", () => {
    const { sim, board, events } = simWithBoard({ budget: 200_000 });
    board.install(BLINKY(500), undefined, { name: "blinky" });
    const hang = board.install(wat(`(module (memory (export "memory") 1)
      (func $init (loop $l (br $l))) (start $init)
      (func (export "start")))`), undefined, { name: "hang" });
    sim.runFor(1000);
    // the simulator meters the wasm start function as part of the start entry
    expect(traps(events)).toMatchObject([
      { t: 0, app: "hang", entry: "start", watchdog: true, message: "stopped by the watchdog: start did not return within its budget (200,000 steps)" },
    ]);
    expect(hang.state).toBe("trapped");
    expect(gpioEvents(events, "LED0")).toEqual([[500, 1], [1000, 0]]);
  });

  it("counts loop iterations and calls as steps: a loop just under the budget completes", () => {
    const loop = (n: number) => wat(`(module (memory (export "memory") 1)
      (global $i (mut i32) (i32.const 0)) (export "i" (global $i))
      (func (export "start")
        (loop $l (global.set $i (i32.add (global.get $i) (i32.const 1)))
                 (br_if $l (i32.lt_u (global.get $i) (i32.const ${n}))))))`);
    const { sim, board, events } = simWithBoard({ budget: 1000 });
    const under = board.install(loop(990), undefined, { name: "under" });
    const over = board.install(loop(1010), undefined, { name: "over" });
    sim.runFor(1);
    expect(under.state).toBe("running");
    expect((under.wasmInstance!.exports.i as WebAssembly.Global).value).toBe(990);
    expect(over.state).toBe("trapped");
    expect(traps(events).map((e) => e.app)).toEqual(["over"]);
  });

  it("reports a wasm trap in on_timer with the entry point, and the app stops getting events", () => {
    const { sim, board, events } = simWithBoard();
    board.install(BLINKY(300), undefined, { name: "blinky" });
    board.install(wat(`(module ${IMPORTS} (memory (export "memory") 1)
      (func (export "start") (drop (call $timer_start (i32.const 700) (i32.const 1))))
      (func (export "on_timer") (param i32) (drop (i32.div_u (i32.const 1) (i32.const 0)))))`), undefined, { name: "bad" });
    sim.runFor(2000);
    expect(traps(events)).toMatchObject([{ t: 700, app: "bad", entry: "on_timer", message: "divide by zero" }]);
    expect(events.filter((e) => e.type === "app" && e.app === "bad").map((e) => [e.t, (e as { state: string }).state])).toEqual([
      [0, "running"],
      [700, "trapped"],
    ]);
    expect(gpioEvents(events, "LED0").map(([t]) => t)).toEqual([300, 600, 900, 1200, 1500, 1800]);
  });

  it("traps an out-of-bounds pointer passed to the HAL with the glue's message", () => {
    const { sim, board, events } = simWithBoard();
    board.install(wat(`(module ${IMPORTS} (memory (export "memory") 1)
      (func (export "start") (call $log (i32.const 1) (i32.const 65530) (i32.const 10))))`), undefined, { name: "oob" });
    sim.runFor(1);
    expect(traps(events)).toMatchObject([
      { app: "oob", entry: "start", message: "out-of-bounds pointer passed to log.write (ptr=65530 len=10, memory is 65536 bytes)" },
    ]);
  });

  it("reports runaway recursion as an exhausted call stack", () => {
    const { sim, board, events } = simWithBoard();
    board.install(wat(`(module (memory (export "memory") 1)
      (func $deeper (param i32) (call $deeper (i32.add (local.get 0) (i32.const 1))))
      (func (export "start") (call $deeper (i32.const 0))))`), undefined, { name: "deep" });
    sim.runFor(1);
    expect(traps(events)).toMatchObject([{ app: "deep", entry: "start", watchdog: false, message: "call stack exhausted (recursion too deep)" }]);
  });

  it("traps a HAL call made while the module is instantiated (wasm start section)", () => {
    const { sim, board, events } = simWithBoard();
    board.install(wat(`(module ${IMPORTS} (memory (export "memory") 1)
      (func $init (call $log (i32.const 1) (i32.const 0) (i32.const 1))) (start $init)
      (func (export "start")))`), undefined, { name: "early" });
    sim.runFor(1);
    expect(traps(events)[0]!.message).toMatch(/while the module was being instantiated; call it from start\(\) instead/);
  });
});

describe("loading", () => {
  it("survives corrupted modules: each is refused with AppLoadError, traps, or runs", () => {
    const base = BLINKY(100);
    let seed = 2024;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const outcomes = { refused: 0, trapped: 0, ran: 0 };
    for (let i = 0; i < 200; i++) {
      const bytes = new Uint8Array(base);
      for (let k = 0; k < 1 + Math.floor(next() * 3); k++) bytes[8 + Math.floor(next() * (bytes.length - 8))] = Math.floor(next() * 256);
      const { sim, board } = simWithBoard({ budget: 10_000 });
      try {
        const app = board.install(bytes, undefined, { name: "mutant" });
        sim.runFor(500);
        outcomes[app.state === "trapped" ? "trapped" : "ran"]++;
      } catch (err) {
        expect(err, `mutant ${i}`).toBeInstanceOf(AppLoadError);
        outcomes.refused++;
      }
    }
    expect(outcomes.refused).toBeGreaterThan(0);
    expect(outcomes.refused + outcomes.trapped + outcomes.ran).toBe(200);
  });

  it("refuses imports that are not HAL functions", () => {
    const { board } = simWithBoard();
    const app = wat(`(module (import "env" "abort" (func (param i32 i32 i32 i32))) (memory (export "memory") 1) (func (export "start")))`);
    expect(() => board.install(app, undefined, { name: "abortive" })).toThrow(
      new AppLoadError("app 'abortive' imports env.abort, which is not a function of the HAL (hal/hal.json v1)"),
    );
  });

  it("refuses a HAL import declared with the wrong signature", () => {
    const { board } = simWithBoard();
    const app = wat(`(module (import "gpio" "open" (func (param i32) (result i32))) (memory (export "memory") 1) (func (export "start")))`);
    expect(() => board.install(app, undefined, { name: "sloppy" })).toThrow(
      "app 'sloppy' imports gpio.open as (i32) -> i32, but the HAL declares (i32, i32) -> i32",
    );
    const log = wat(`(module (import "log" "write" (func (param i32 i32 i32) (result i32))) (memory (export "memory") 1) (func (export "start")))`);
    expect(() => board.install(log, undefined, { name: "loud" })).toThrow(
      "app 'loud' imports log.write as (i32, i32, i32) -> i32, but the HAL declares (i32, i32, i32) -> nothing",
    );
  });

  it("refuses a module whose manifest lacks a capability it imports, or does not match it", () => {
    const { board } = simWithBoard();
    const app = BLINKY(500);
    expect(() => board.install(app, manifestFor(app, "blinky", ["gpio"], ["LED0"]))).toThrow(
      "app 'blinky' imports time.timer_start, but its manifest does not grant the 'time' capability",
    );
    const other = { ...manifestFor(BLINKY(400), "blinky", ALL_CAPS, ["LED0"]) };
    expect(() => board.install(app, other)).toThrow(/app 'blinky': the module does not match its manifest \(sha256 [0-9a-f]{12}…/);
    expect(() => board.install(new Uint8Array([0, 97, 115, 109, 2, 0, 0, 0]), undefined, { name: "junk" })).toThrow(
      /^app 'junk' is not a valid WebAssembly module: /,
    );
    expect(() => board.install(wat(`(module (memory 1) (func (export "start")))`), undefined, { name: "nomem" })).toThrow(
      "app 'nomem' does not export its memory as \"memory\"",
    );
  });

  it("refuses an app whose memory exceeds the board's memory.appMax", () => {
    const { board } = simWithBoard();
    expect(() => board.install(wat(`(module (memory (export "memory") 2) (func (export "start")))`), undefined, { name: "big" })).toThrow(
      "app 'big' needs 128 KiB of linear memory at start; board 'devkit-test' gives an app at most 64 KiB",
    );
  });

  it("derives a manifest granting the whole board when none is given", () => {
    const { board } = simWithBoard();
    const app = board.install(BLINKY(500), undefined, { name: "blinky" });
    expect(app.manifestDerived).toBe(true);
    expect(app.manifest.capabilities).toEqual(["gpio", "i2c", "time", "log", "msg", "random"]);
    expect(app.manifest.resources).toEqual({ pins: ["LED0", "LED1", "BUTTON0", "GPIO5"], buses: ["I2C0"] });
  });
});

describe("device", () => {
  it("answers device.has and device.info from the board definition", () => {
    const { sim, board } = simWithBoard();
    const app = board.install(wat(`(module
      (import "device" "has" (func $has (param i32 i32) (result i32)))
      (import "device" "info" (func $info (param i32 i32) (result i32)))
      (memory (export "memory") 1) (data (i32.const 0) "tmp105LED9I2C0")
      (global $a (mut i32) (i32.const 0)) (global $b (mut i32) (i32.const 0)) (global $c (mut i32) (i32.const 0))
      (global $small (mut i32) (i32.const 0)) (global $len (mut i32) (i32.const 0))
      (export "a" (global $a)) (export "b" (global $b)) (export "c" (global $c))
      (export "small" (global $small)) (export "len" (global $len))
      (func (export "start")
        (global.set $a (call $has (i32.const 0) (i32.const 6)))
        (global.set $b (call $has (i32.const 6) (i32.const 4)))
        (global.set $c (call $has (i32.const 10) (i32.const 4)))
        (global.set $small (call $info (i32.const 2048) (i32.const 4)))
        (global.set $len (call $info (i32.const 1024) (i32.const 4096)))))`), undefined, { name: "probe" });
    sim.runFor(1);
    const ex = app.wasmInstance!.exports;
    const g = (n: string) => (ex[n] as WebAssembly.Global).value as number;
    expect([g("a"), g("b"), g("c")]).toEqual([1, 0, 1]);
    expect(g("small")).toBe(g("len")); // too small: full length returned, nothing written
    expect(new Uint8Array((ex.memory as WebAssembly.Memory).buffer, 2048, 4)).toEqual(new Uint8Array(4));
    const doc = JSON.parse(new TextDecoder().decode(new Uint8Array((ex.memory as WebAssembly.Memory).buffer, 1024, g("len"))));
    expect(doc).toMatchObject({ protocol: 1, firmware: "liquid-sim", id: "b1", board: "devkit-test", apps: ["probe"], memory: { ram: 262144, appMax: 65536 } });
    expect(doc.buses).toEqual([{ name: "I2C0", kind: "i2c", devices: [{ addr: 72, driver: "tmp105" }, { addr: 118, driver: "bme280" }] }]);
  });
});

describe("board definitions", () => {
  it("reports mistakes with the file and the entry", () => {
    const bad = (json: unknown) => () => parseBoard(json, "boards/x.json");
    expect(bad({ name: "x", pins: [{ name: "LED0", caps: ["out", "blink"] }] })).toThrow(
      'boards/x.json: pins[0] (LED0): "caps" must list some of in, out, pullup, pulldown, irq',
    );
    expect(bad({ pins: [{ name: "A" }, { name: "A" }] })).toThrow("boards/x.json: pins[1]: the name A is used twice on this board");
    expect(bad({ buses: [{ name: "I2C0", devices: [{ driver: "lm75", addr: 72 }] }] })).toThrow(
      'boards/x.json: buses[0].devices[0]: unknown driver "lm75" (simulated: tmp105, bme280)',
    );
    expect(bad({ buses: [{ name: "I2C0", devices: [{ driver: "tmp105", addr: 200 }] }] })).toThrow(
      'boards/x.json: buses[0].devices[0]: "addr" must be a 7-bit I2C address between 0x08 and 0x77, not 200',
    );
    expect(() => loadBoard("no-such-board")).toThrow(/^unknown board 'no-such-board' \(no boards\/no-such-board.json; boards: .*qemu-mps2-an386.*sim-devkit/);
  });

  it("loads every board of the checkout (apps can be previewed on any board's layout)", () => {
    const names = readdirSync(join(ROOT, "boards")).filter((f) => f.endsWith(".json")).map((f) => f.replace(/\.json$/, ""));
    expect(names).toContain("qemu-mps2-an386");
    for (const name of names) expect(() => loadBoard(name), name).not.toThrow();
  });

  it("loads boards/sim-devkit.json", () => {
    const sim = loadBoard("sim-devkit");
    expect(sim.pins.map((p) => `${p.name}:${p.kind}`)).toEqual(["LED0:led", "LED1:led", "LED2:led", "LED3:led", "BUTTON0:button", "BUTTON1:button"]);
    expect(sim.buses[0]!.devices).toEqual([
      { driver: "tmp105", addr: 72, initial: { temperature: 23.5 } },
      { driver: "bme280", addr: 118, initial: { temperature: 21, pressure: 101325, humidity: 45 } },
    ]);
  });
});

describe("several boards", () => {
  it("runs boards side by side on one clock, each with its own pins", () => {
    const sim = new Simulation();
    const a = sim.addBoard(testBoard(), "a");
    const b = sim.addBoard(testBoard(), "b");
    const seen: string[] = [];
    sim.onEvent((e) => e.type === "gpio" && seen.push(`${e.t} ${e.board} ${e.pin}=${e.value}`));
    a.install(BLINKY(400), undefined, { name: "blinky" });
    b.install(BLINKY(300), undefined, { name: "blinky" });
    sim.runFor(900);
    expect(seen).toEqual(["300 b LED0=1", "400 a LED0=1", "600 b LED0=0", "800 a LED0=0", "900 b LED0=1"]);
    expect(() => sim.addBoard(testBoard(), "a")).toThrow("a board with id 'a' is already in the simulation");
  });

  it("keeps messages on their board unless the boards are bridged; injects messages from outside", () => {
    const sim = new Simulation();
    const a = sim.addBoard(testBoard(), "a");
    const b = sim.addBoard(testBoard(), "b");
    const got: string[] = [];
    sim.onEvent((e) => e.type === "log" && got.push(`${e.t} ${e.board} ${e.msg}`));
    const listener = wat(`(module ${IMPORTS} (memory (export "memory") 1) (data (i32.const 0) "news/#")
      (func (export "start") (drop (call $subscribe (i32.const 0) (i32.const 6))))
      (func (export "on_message") (param i32) (param $len i32)
        (drop (call $msg_read (i32.const 64) (i32.const 64)))
        (call $log (i32.const 1) (i32.const 64) (local.get $len))))`);
    const talker = wat(`(module ${IMPORTS} (memory (export "memory") 1) (data (i32.const 0) "news/a") (data (i32.const 16) "hello")
      (func (export "start") (drop (call $timer_start (i32.const 100) (i32.const 1))))
      (func (export "on_timer") (param i32) (drop (call $publish (i32.const 0) (i32.const 6) (i32.const 16) (i32.const 5)))))`);
    b.install(listener, undefined, { name: "listener" });
    a.install(talker, undefined, { name: "talker" });
    sim.runFor(100);
    expect(got).toEqual([]);
    const unbridge = sim.bridgeMessages(["a", "b"]);
    sim.runFor(100);
    expect(got).toEqual(["200 b hello"]);
    unbridge();
    expect(b.inject("news/outside", new TextEncoder().encode("from afar"))).toBe(true);
    sim.runFor(100);
    expect(got).toEqual(["200 b hello", "200 b from afar"]);
  });
});

describe("snapshot and restore (what migration builds on)", () => {
  // Counts its timer events in a global and mirrors the count's low bit on LED0.
  const COUNTER = wat(`(module ${IMPORTS} (memory (export "memory") 1) (data (i32.const 0) "LED0")
    (global $led (mut i32) (i32.const 0)) (global $count (mut i32) (i32.const 0))
    (export "__lq_g0" (global $led)) (export "count" (global $count))
    (func (export "start")
      (global.set $led (call $gpio_open (i32.const 0) (i32.const 4)))
      (drop (call $gpio_mode (global.get $led) (i32.const 1)))
      (drop (call $timer_start (i32.const 400) (i32.const 1))))
    (func (export "on_timer") (param i32)
      (global.set $count (i32.add (global.get $count) (i32.const 1)))
      (i32.store (i32.const 100) (global.get $count))
      (drop (call $gpio_write (global.get $led) (i32.and (global.get $count) (i32.const 1))))))`);

  it("moves a running app to another board with its memory, globals, handles and timer phase", () => {
    const sim = new Simulation();
    const a = sim.addBoard(testBoard(), "a");
    const b = sim.addBoard(testBoard(), "b");
    const seen: string[] = [];
    sim.onEvent((e) => e.type === "gpio" && seen.push(`${e.t} ${e.board} ${e.pin}=${e.value}`));
    const onA = a.install(COUNTER, undefined, { name: "counter" });
    sim.runFor(1300); // fired at 400, 800, 1200: count 3, next due at 1600
    const snap = onA.snapshot();
    expect(snap).toMatchObject({ globals: { __lq_g0: 0, count: 3 }, pins: [{ name: "LED0", mode: 1, level: 1 }], timers: [{ handle: 0, ms: 400, periodic: true, remainingMs: 300 }] });
    onA.stop();
    const onB = b.install(COUNTER, undefined, { name: "counter", start: false });
    onB.restore(snap);
    sim.runFor(900);
    // Board b's LED0 takes the level the app had driven as soon as it is restored.
    expect(seen).toEqual(["400 a LED0=1", "800 a LED0=0", "1200 a LED0=1", "1300 b LED0=1", "1600 b LED0=0", "2000 b LED0=1"]);
    const ex = onB.wasmInstance!.exports;
    expect((ex.count as WebAssembly.Global).value).toBe(5);
    expect(new Uint32Array((ex.memory as WebAssembly.Memory).buffer, 100, 1)[0]).toBe(5);
  });

  it("refuses a snapshot of another module or one needing a pin the board lacks", () => {
    const { sim, board } = simWithBoard();
    const app = board.install(COUNTER, undefined, { name: "counter" });
    sim.runFor(10);
    const snap = app.snapshot();
    const other = board.install(BLINKY(100), undefined, { name: "other", start: false });
    expect(() => other.restore(snap)).toThrow(/the snapshot of 'counter' is of another module/);
    app.stop();
    expect(() => app.restore({ ...snap, pins: [{ name: "LED7", mode: 1, level: 0 }] })).toThrow("cannot restore 'counter': its manifest does not grant pin LED7");
    expect(() => app.snapshot()).toThrow("app 'counter' is not running; only a running app has a state to snapshot");
  });
});
