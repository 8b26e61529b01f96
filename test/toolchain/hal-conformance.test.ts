// The generated C dispatch and the generated simulator glue are two implementations of one
// contract. This test runs the same app through both — in V8 with the glue, and in the real C
// engine with the generated dispatch and small lq_hal_* implementations written for the test —
// and requires identical observable results: values returned, bytes written into the app's
// memory, i64 results, traps raised by an implementation, and the out-of-bounds messages. The C
// side runs under ASan/UBSan, so an out-of-range access or undefined behaviour in the dispatch fails.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../compiler/src/app-build/index.js";
import { loadHalSpec } from "../../compiler/src/hal/spec.js";
import { type HalHost, HalTrap, createHalImports } from "../../host-sim/src/generated/hal-imports.js";

const ROOT = resolve(import.meta.dirname, "..", "..");
const WORK = mkdtempSync(join(tmpdir(), "liquid-hal-conformance-"));
const DENIED = "app 'conformance' may not use pin LED7: not granted by its manifest";

const APP = `
import { gpio_open, gpio_write } from "liquid/generated/gpio";
import { i2c_write_read } from "liquid/generated/i2c";
import { log_write } from "liquid/generated/log";
import { time_now_ms } from "liquid/generated/time";
import { Pin, I2CBus } from "liquid";

const buf = memory.data(16);

export function start(): void {}
/** handle of LED0 (0) */
export function open_led0(): i32 { return Pin.open("LED0").id; }
/** an unknown pin: ENOENT from the implementation */
export function open_led5(): i32 { return Pin.open("LED5").id; }
/** the implementation traps: pin not granted */
export function open_led7(): i32 { return Pin.open("LED7").id; }
/** write with a scalar pair, negative value passes through as i32 */
export function write_neg(): i32 { return gpio_write(-5, -1); }
/** register read: bytes the implementation writes land in memory */
export function reg16(): i32 { return I2CBus.open("I2C0").readReg16(0x48, 0); }
/** i64 result */
export function now(): i64 { return time_now_ms(); }
/** a range ending exactly at the end of memory is fine */
export function log_last_byte(): i32 { store<u8>(65535, 0x41); log_write(1, 65535, 1); return 7; }
/** out of bounds by a few bytes */
export function log_oob(): i32 { log_write(1, 65530, 10); return 1; }
/** a negative length is a huge unsigned one */
export function neg_len(): i32 { return i2c_write_read(0, 0x48, buf, 1, buf + 4, -1); }
/** the second buffer is checked too, before anything runs */
export function second_oob(): i32 { return i2c_write_read(0, 0x48, buf, 1, 70000, 2); }
/** zero-length at the very end */
export function empty_end(): i32 { return gpio_open(65536, 0); }
`;

const CALLS = ["open_led0", "open_led5", "open_led7", "write_neg", "reg16", "now", "log_last_byte", "log_oob", "neg_len", "second_oob", "empty_end"];

/** The C implementations: the behaviour under test, the same as the V8 host below. */
const C_BODIES: Record<string, string> = {
  gpio_open: `
    if (name_len == 4 && memcmp(name, "LED0", 4) == 0) return 0;
    if (name_len == 4 && memcmp(name, "LED7", 4) == 0) return lq_hal_trap(call, "${DENIED}");
    (void)name; return LQ_HAL_ENOENT;`,
  gpio_write: "(void)call; return pin == -5 && value == -1 ? 42 : LQ_HAL_EINVAL;",
  i2c_open: '(void)call; return name_len == 4 && memcmp(name, "I2C0", 4) == 0 ? 0 : LQ_HAL_ENOENT;',
  i2c_write_read: `
    (void)call; (void)bus;
    if (addr != 0x48 || wlen != 1 || wdata[0] != 0 || rlen != 2) return LQ_HAL_ENACK;
    rdata[0] = 0x17; rdata[1] = 0x80; return 2;`,
  time_now_ms: "(void)call; return INT64_C(1234567890123);",
  log_write: '(void)call; printf("log %d %.*s\\n", (int)level, (int)len, (const char *)text);',
};

class ConformanceHost {
  logs: string[] = [];
  gpio_open(name: Uint8Array) {
    const n = new TextDecoder().decode(name);
    if (n === "LED0") return 0;
    if (n === "LED7") throw new HalTrap(DENIED);
    return -3;
  }
  gpio_write(pin: number, value: number) {
    return pin === -5 && value === -1 ? 42 : -1;
  }
  i2c_open(name: Uint8Array) {
    return new TextDecoder().decode(name) === "I2C0" ? 0 : -3;
  }
  i2c_write_read(_bus: number, addr: number, w: Uint8Array, r: Uint8Array) {
    if (addr !== 0x48 || w.length !== 1 || w[0] !== 0 || r.length !== 2) return -2;
    r.set([0x17, 0x80]);
    return 2;
  }
  time_now_ms() {
    return 1234567890123n;
  }
  log_write(level: number, text: Uint8Array) {
    this.logs.push(`log ${level} ${new TextDecoder().decode(text)}`);
  }
}

function cType(t: string): string {
  return { i32: "int32_t", i64: "int64_t", f32: "float", f64: "double" }[t]!;
}

/** lq_hal_* definitions for every HAL function: the bodies above, or "not used by this test". */
function implementations(): string {
  const spec = loadHalSpec(join(ROOT, "hal", "hal.json"));
  const lines = ["#include <inttypes.h>", "#include <stdio.h>", "#include <string.h>", '#include "lq_hal.h"', ""];
  for (const fn of spec.functions) {
    const params = ["lq_hal_call *call"];
    const names: string[] = ["call"];
    for (let i = 0; i < fn.params.length; i++) {
      const p = fn.params[i]!;
      if (p.ptr) {
        const len = fn.params[i + 1]!;
        params.push(`${p.out ? "uint8_t" : "const uint8_t"} *${p.name}`, `uint32_t ${len.name}`);
        names.push(p.name, len.name);
        i++;
      } else {
        params.push(`${cType(p.type)} ${p.name}`);
        names.push(p.name);
      }
    }
    const result = fn.results.length ? cType(fn.results[0]!) : "void";
    const key = `${fn.module}_${fn.name}`;
    const body =
      C_BODIES[key] ??
      `${names.map((n) => `(void)${n};`).join(" ")} printf("unexpected call ${fn.module}.${fn.name}\\n");${result === "void" ? "" : " return 0;"}`;
    lines.push(`${result} lq_hal_${key}(${params.join(", ")}) {${body}\n}`, "");
  }
  return lines.join("\n");
}

const HARNESS = String.raw`
/* Loads a module, links its imports to the generated HAL dispatch, calls the named exports and
 * prints "NAME ok VALUE" or "NAME trap MESSAGE" for each. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "liquid_engine.h"
#include "lq_hal.h"

static lq_func *funcs[LQ_HAL_FUNCTION_COUNT];

static lq_status resolve(void *user, const lq_import_info *im, lq_extern *out) {
  const lq_hal_function *f = lq_hal_find(im->module, im->module_len, im->name, im->name_len);
  (void)user;
  if (!f) return LQ_ERROR;
  out->kind = LQ_EXTERN_FUNC;
  out->of.func = funcs[f - lq_hal_functions];
  return LQ_OK;
}

static void *heap(void *user, void *ptr, size_t old_size, size_t new_size) {
  (void)user; (void)old_size;
  if (new_size == 0) { free(ptr); return NULL; }
  return realloc(ptr, new_size);
}

int main(int argc, char **argv) {
  static uint8_t bytes[1 << 20];
  lq_config config;
  lq_engine *engine;
  lq_module *module;
  lq_instance *instance;
  lq_error err;
  size_t size;
  int i;
  FILE *f = fopen(argv[1], "rb");
  if (!f) return 2;
  size = fread(bytes, 1, sizeof bytes, f);
  fclose(f);
  memset(&config, 0, sizeof config);
  config.alloc = heap;
  if (lq_engine_new(&config, &engine, &err) != LQ_OK) { printf("engine: %s\n", err.message); return 2; }
  for (i = 0; i < LQ_HAL_FUNCTION_COUNT; i++) {
    const lq_hal_function *h = &lq_hal_functions[i];
    if (lq_func_new_host(engine, h->params, h->results, h->wrapper, NULL, &funcs[i], &err) != LQ_OK) {
      printf("host %s.%s: %s\n", h->module, h->name, err.message);
      return 2;
    }
  }
  if (lq_module_load(engine, bytes, size, &module, &err) != LQ_OK) { printf("load: %s\n", err.message); return 2; }
  if (lq_instantiate(module, resolve, NULL, &instance, &err) != LQ_OK) { printf("instantiate: %s\n", err.message); return 2; }
  for (i = 2; i < argc; i++) {
    lq_func *fn = lq_instance_func(instance, argv[i]);
    const char *params, *results;
    lq_value out[1];
    lq_status st;
    if (!fn) { printf("%s missing\n", argv[i]); continue; }
    lq_func_type(fn, &params, &results);
    out[0].type = results[0] == 'I' ? LQ_I64 : LQ_I32;
    st = lq_call(fn, NULL, 0, out, results[0] ? 1 : 0, &err);
    if (st == LQ_OK && results[0] == 'I') printf("%s ok %" PRId64 "\n", argv[i], (int64_t)out[0].of.i64);
    else if (st == LQ_OK) printf("%s ok %" PRId32 "\n", argv[i], (int32_t)out[0].of.i32);
    else printf("%s trap %s\n", argv[i], err.message);
  }
  lq_instance_free(instance);
  lq_module_free(module);
  for (i = 0; i < LQ_HAL_FUNCTION_COUNT; i++) lq_func_free(funcs[i]);
  lq_engine_free(engine);
  return 0;
}
`;

let wasm: Uint8Array;

beforeAll(async () => {
  const dir = join(WORK, "conformance");
  mkdirSync(dir);
  writeFileSync(join(dir, "app.ts"), APP);
  const built = await buildApp(dir);
  expect(built.diagnostics.filter((d) => d.category === "error")).toEqual([]);
  expect(built.errors).toEqual([]);
  wasm = built.wasm!;
});

async function runInV8(): Promise<string[]> {
  const host = new ConformanceHost();
  const unexpected = new Proxy(host as unknown as HalHost, {
    get: (target, name: string) =>
      name in target ? (target as unknown as Record<string, unknown>)[name] : () => host.logs.push(`unexpected call ${name.replace("_", ".")}`),
  });
  let memory: WebAssembly.Memory | undefined;
  const { instance } = await WebAssembly.instantiate(wasm, createHalImports(unexpected, () => memory!));
  memory = instance.exports.memory as WebAssembly.Memory;
  const lines: string[] = [];
  for (const name of CALLS) {
    const before = host.logs.length;
    let line: string;
    try {
      const v = (instance.exports[name] as () => number | bigint)();
      line = `${name} ok ${v}`;
    } catch (err) {
      line = `${name} trap ${err instanceof HalTrap ? err.message : `(not a HalTrap) ${String(err)}`}`;
    }
    lines.push(...host.logs.slice(before), line);
  }
  return lines;
}

describe("C dispatch and simulator glue agree", () => {
  it.skipIf(spawnSync("gcc", ["--version"]).status !== 0)("on values, memory writes, i64, host traps and bounds checks", async () => {
    const engineSrc = join(ROOT, "firmware/engine/src");
    const cDir = join(WORK, "c");
    mkdirSync(cDir);
    writeFileSync(join(cDir, "impl.c"), implementations());
    writeFileSync(join(cDir, "harness.c"), HARNESS);
    writeFileSync(join(cDir, "app.wasm"), wasm);
    const sources = [
      ...readdirSync(engineSrc)
        .filter((f) => f.endsWith(".c"))
        .map((f) => join(engineSrc, f)),
      join(ROOT, "firmware/hal/generated/lq_hal_dispatch.c"),
      join(cDir, "impl.c"),
      join(cDir, "harness.c"),
    ];
    const exe = join(cDir, "harness");
    execFileSync(
      "gcc",
      ["-std=c99", "-O0", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-Wall", "-Wextra", "-Werror", "-I", join(ROOT, "firmware/engine/include"), "-I", engineSrc, "-I", join(ROOT, "firmware/hal/generated"), ...sources, "-o", exe, "-lm"],
      { stdio: "pipe" },
    );
    const c = execFileSync(exe, [join(cDir, "app.wasm"), ...CALLS], { encoding: "utf8" }).trim().split("\n");
    const v8 = await runInV8();
    expect(c).toEqual(v8);
    // and the agreed behaviour is the specified one
    expect(v8).toEqual([
      "open_led0 ok 0",
      "open_led5 ok -3",
      `open_led7 trap ${DENIED}`,
      "write_neg ok 42",
      "reg16 ok 6016",
      "now ok 1234567890123",
      "log 1 A",
      "log_last_byte ok 7",
      "log_oob trap out-of-bounds pointer passed to log.write (ptr=65530 len=10, memory is 65536 bytes)",
      expect.stringMatching(/^neg_len trap out-of-bounds pointer passed to i2c\.write_read \(ptr=\d+ len=4294967295, memory is 65536 bytes\)$/),
      "second_oob trap out-of-bounds pointer passed to i2c.write_read (ptr=70000 len=2, memory is 65536 bytes)",
      "empty_end ok -3",
    ]);
  });
});
