/**
 * Generates the C side of the HAL in firmware/hal/generated/:
 *  - lq_hal.h: error codes, constants, capability bits, the call context, one prototype per HAL
 *    function (implemented by the runtime, e.g. firmware/runtime/src/hal_impl.c), and the
 *    dispatch table type;
 *  - lq_hal_dispatch.c: one engine host-function wrapper per HAL function that unmarshals the
 *    engine's tagged values, bounds-checks every ptr/len pair against the caller's memory
 *    (trapping with the same message as the simulator glue), calls the prototype and stores the
 *    result; plus the table {module, name, params, results, signature, capability, wrapper}.
 * The engine API is firmware/engine/include/liquid_engine.h.
 */
import { type GeneratedFile, generatedHeader } from "./common.js";
import { type HalFunction, type HalSpec, type ValueType, logicalParams, qualifiedName, signatureString } from "../hal/spec.js";

const C_TYPE: Record<ValueType, string> = { i32: "int32_t", i64: "int64_t", f32: "float", f64: "double" };
const LETTER: Record<ValueType, string> = { i32: "i", i64: "I", f32: "f", f64: "F" };

function cComment(text: string): string {
  return text.replace(/\*\//g, "* /");
}

/** Wraps a comment paragraph at ~96 columns: "/* " on the first line, " * " after. */
function wrap(text: string, width = 96): string[] {
  const words = cComment(text).split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let line = "";
  for (const w of words) {
    const prefix = lines.length ? " * " : "/* ";
    if (line && prefix.length + line.length + 1 + w.length > width) {
      lines.push(prefix + line);
      line = w;
    } else {
      line = line ? `${line} ${w}` : w;
    }
  }
  if (line) lines.push((lines.length ? " * " : "/* ") + line);
  return lines;
}

function implName(fn: HalFunction): string {
  return `lq_hal_${fn.module}_${fn.name}`;
}

function prototypeParams(fn: HalFunction): string {
  const parts = ["lq_hal_call *call"];
  for (const lp of logicalParams(fn)) {
    if (lp.kind === "scalar") parts.push(`${C_TYPE[lp.param.type]} ${lp.param.name}`);
    else parts.push(`${lp.buffer.out ? "uint8_t" : "const uint8_t"} *${lp.buffer.ptr.name}`, `uint32_t ${lp.buffer.len.name}`);
  }
  return parts.join(", ");
}

function resultType(fn: HalFunction): string {
  return fn.results.length ? C_TYPE[fn.results[0]!] : "void";
}

function header(spec: HalSpec): string {
  const out: string[] = [];
  out.push(generatedHeader("//").trimEnd().replace(/^\/\/ /, "/* ") + " */");
  out.push("/*");
  out.push(" * The C side of the Liquid HAL (spec v" + spec.version + "). The runtime implements one lq_hal_MODULE_NAME()");
  out.push(" * per host function; the generated dispatch (lq_hal_dispatch.c) registers the wrappers with");
  out.push(" * the engine, checks every pointer range against the calling instance's memory and calls them.");
  out.push(" */");
  out.push("#ifndef LQ_HAL_H");
  out.push("#define LQ_HAL_H");
  out.push("");
  out.push("#include <stdint.h>");
  out.push("");
  out.push('#include "liquid_engine.h"');
  out.push("");
  out.push("#ifdef __cplusplus");
  out.push('extern "C" {');
  out.push("#endif");
  out.push("");
  out.push(`#define LQ_HAL_VERSION ${spec.version}`);
  out.push("");
  out.push("/* Error codes HAL functions return (negative i32). */");
  for (const e of spec.errors) out.push(`#define LQ_HAL_${e.name} (${e.value}) /* ${cComment(e.doc)} */`);
  out.push("");
  out.push("/* Named constants. */");
  for (const c of spec.constants) out.push(`#define LQ_HAL_${c.name} ${c.value} /* ${cComment(c.doc)} */`);
  out.push("");
  out.push("/* Capabilities as bits (spec order); a manifest's \"capabilities\" list maps to a mask. */");
  spec.capabilities.forEach((c, i) => out.push(`#define LQ_HAL_CAP_${c.name.toUpperCase()} (1u << ${i}) /* ${cComment(c.doc)} */`));
  out.push(`#define LQ_HAL_CAPABILITY_COUNT ${spec.capabilities.length}`);
  out.push("/* Names of the capabilities, indexed by bit number. */");
  out.push("extern const char *const lq_hal_capability_names[LQ_HAL_CAPABILITY_COUNT];");
  out.push("/* The capability bit of a name (length-delimited), 0 when unknown. */");
  out.push("uint32_t lq_hal_capability_bit(const char *name, uint32_t len);");
  out.push("");
  out.push("struct lq_hal_function;");
  out.push("");
  out.push("/* The context of one host call, passed to every lq_hal_* implementation. */");
  out.push("typedef struct lq_hal_call {");
  out.push("    lq_instance *instance;                 /* the calling app instance */");
  out.push("    void *user;                            /* the user pointer the wrapper was registered with */");
  out.push("    const struct lq_hal_function *function; /* the table entry being called */");
  out.push("    int trapped;                           /* set by lq_hal_trap() */");
  out.push("} lq_hal_call;");
  out.push("");
  out.push("/*");
  out.push(" * Makes the current call trap with `message` (copied) once the implementation returns; the");
  out.push(" * result is then ignored. Returns 0 so that implementations can `return lq_hal_trap(...)`.");
  out.push(" */");
  out.push("int32_t lq_hal_trap(lq_hal_call *call, const char *message);");
  out.push("");
  out.push("/* ---- implemented by the runtime ------------------------------------------------------ */");
  for (const fn of spec.functions) {
    out.push("");
    out.push(...wrap(`${qualifiedName(fn)} [${fn.capability}]: ${fn.doc}`));
    out.push(" */");
    out.push(`${resultType(fn)} ${implName(fn)}(${prototypeParams(fn)});`);
  }
  out.push("");
  out.push("/* ---- the dispatch table ---------------------------------------------------------------- */");
  out.push("");
  out.push("typedef struct lq_hal_function {");
  out.push("    const char *module;    /* import module, e.g. \"gpio\" */");
  out.push("    const char *name;      /* import name, e.g. \"open\" */");
  out.push("    const char *params;    /* engine type letters for lq_func_new_host, e.g. \"ii\" */");
  out.push("    const char *results;   /* e.g. \"i\", \"\" for none */");
  out.push("    const char *signature; /* params:results, e.g. \"ii:i\" */");
  out.push("    uint32_t capability;   /* LQ_HAL_CAP_* bit the app needs */");
  out.push("    lq_host_fn wrapper;    /* register with lq_func_new_host(engine, params, results, wrapper, user, ...) */");
  out.push("} lq_hal_function;");
  out.push("");
  out.push(`#define LQ_HAL_FUNCTION_COUNT ${spec.functions.length}`);
  out.push("extern const lq_hal_function lq_hal_functions[LQ_HAL_FUNCTION_COUNT];");
  out.push("");
  out.push("/* Looks up an import (length-delimited names, as lq_import_info gives them); NULL if not in the HAL. */");
  out.push("const lq_hal_function *lq_hal_find(const char *module, uint32_t module_len, const char *name, uint32_t name_len);");
  out.push("");
  out.push("#ifdef __cplusplus");
  out.push("}");
  out.push("#endif");
  out.push("");
  out.push("#endif /* LQ_HAL_H */");
  out.push("");
  return out.join("\n");
}

function argExpr(p: { type: ValueType }, index: number): string {
  switch (p.type) {
    case "i32":
      return `(int32_t)args[${index}].of.i32`;
    case "i64":
      return `(int64_t)args[${index}].of.i64`;
    case "f32":
      return `lq_hal_f32(args[${index}].of.f32)`;
    case "f64":
      return `lq_hal_f64(args[${index}].of.f64)`;
  }
}

function storeResult(type: ValueType): string {
  switch (type) {
    case "i32":
      return "results[0].of.i32 = (uint32_t)r;";
    case "i64":
      return "results[0].of.i64 = (uint64_t)r;";
    case "f32":
      return "results[0].of.f32 = lq_hal_f32_bits(r);";
    case "f64":
      return "results[0].of.f64 = lq_hal_f64_bits(r);";
  }
}

function wrapper(fn: HalFunction, index: number): string {
  const lines: string[] = [];
  const name = `${fn.module}_${fn.name}`;
  lines.push(`static lq_status wrap_${name}(lq_instance *caller, void *user, const lq_value *args, lq_value *results) {`);
  lines.push("    lq_hal_call call;");
  const buffers = logicalParams(fn).filter((lp) => lp.kind === "buffer");
  if (buffers.length) {
    lines.push("    uint8_t *mem;");
    lines.push("    uint32_t mem_size;");
  }
  const callArgs: string[] = ["&call"];
  let argIndex = 0;
  const bufferLines: string[] = [];
  for (const lp of logicalParams(fn)) {
    if (lp.kind === "scalar") {
      callArgs.push(argExpr(lp.param, argIndex));
      argIndex++;
    } else {
      const ptrIndex = argIndex;
      const lenIndex = argIndex + 1;
      bufferLines.push(
        `    if (!lq_hal_range(caller, &lq_hal_functions[${index}], args[${ptrIndex}].of.i32, args[${lenIndex}].of.i32, mem_size)) return LQ_TRAP;`,
      );
      callArgs.push(`lq_hal_at(mem, args[${ptrIndex}].of.i32)`, `args[${lenIndex}].of.i32`);
      argIndex += 2;
    }
  }
  if (fn.results.length) lines.push(`    ${resultType(fn)} r;`);
  if (!fn.params.length) lines.push("    (void)args;");
  lines.push(`    lq_hal_call_init(&call, caller, user, &lq_hal_functions[${index}]);`);
  if (buffers.length) {
    lines.push("    if (!lq_hal_memory(caller, &lq_hal_functions[" + index + "], &mem, &mem_size)) return LQ_TRAP;");
    lines.push(...bufferLines);
  }
  const call = `${implName(fn)}(${callArgs.join(", ")})`;
  if (fn.results.length) {
    lines.push(`    r = ${call};`);
    lines.push("    if (call.trapped) return LQ_TRAP;");
    lines.push(`    ${storeResult(fn.results[0]!)}`);
  } else {
    lines.push(`    ${call};`);
    lines.push("    (void)results;");
    lines.push("    if (call.trapped) return LQ_TRAP;");
  }
  lines.push("    return LQ_OK;");
  lines.push("}");
  return lines.join("\n");
}

function dispatch(spec: HalSpec): string {
  const out: string[] = [];
  const usesFloat = spec.functions.some((f) => [...f.params.map((p) => p.type), ...f.results].some((t) => t === "f32" || t === "f64"));
  out.push(generatedHeader("//").trimEnd().replace(/^\/\/ /, "/* ") + " */");
  out.push("/*");
  out.push(" * Engine host-function wrappers for every HAL function and the dispatch table. Each wrapper");
  out.push(" * unmarshals the engine's values, checks each pointer range against the caller's memory, calls");
  out.push(" * the runtime's lq_hal_* implementation and stores its result. No allocation, no printf.");
  out.push(" */");
  out.push('#include "lq_hal.h"');
  out.push("");
  out.push("#include <string.h>");
  out.push("");
  out.push("const char *const lq_hal_capability_names[LQ_HAL_CAPABILITY_COUNT] = {");
  for (const c of spec.capabilities) out.push(`    "${c.name}",`);
  out.push("};");
  out.push("");
  out.push("uint32_t lq_hal_capability_bit(const char *name, uint32_t len) {");
  out.push("    uint32_t i;");
  out.push("    for (i = 0; i < LQ_HAL_CAPABILITY_COUNT; i++) {");
  out.push("        if (strlen(lq_hal_capability_names[i]) == len && memcmp(lq_hal_capability_names[i], name, len) == 0) return 1u << i;");
  out.push("    }");
  out.push("    return 0;");
  out.push("}");
  out.push("");
  out.push("int32_t lq_hal_trap(lq_hal_call *call, const char *message) {");
  out.push("    call->trapped = 1;");
  out.push("    lq_host_trap(call->instance, message);");
  out.push("    return 0;");
  out.push("}");
  out.push("");
  out.push("static void lq_hal_call_init(lq_hal_call *call, lq_instance *caller, void *user, const lq_hal_function *fn) {");
  out.push("    call->instance = caller;");
  out.push("    call->user = user;");
  out.push("    call->function = fn;");
  out.push("    call->trapped = 0;");
  out.push("}");
  out.push("");
  out.push("/* Appends text to a message buffer of LQ_MESSAGE_MAX bytes (truncating). */");
  out.push("static size_t lq_hal_put(char *buf, size_t at, const char *text) {");
  out.push("    while (*text && at + 1 < LQ_MESSAGE_MAX) buf[at++] = *text++;");
  out.push("    buf[at] = '\\0';");
  out.push("    return at;");
  out.push("}");
  out.push("");
  out.push("static size_t lq_hal_put_u32(char *buf, size_t at, uint32_t v) {");
  out.push("    char digits[11];");
  out.push("    int n = 0;");
  out.push("    do {");
  out.push("        digits[n++] = (char)('0' + v % 10u);");
  out.push("        v /= 10u;");
  out.push("    } while (v != 0u);");
  out.push("    while (n > 0 && at + 1 < LQ_MESSAGE_MAX) buf[at++] = digits[--n];");
  out.push("    buf[at] = '\\0';");
  out.push("    return at;");
  out.push("}");
  out.push("");
  out.push("/* The caller's memory; a call without an instance or memory cannot pass buffers. */");
  out.push("static int lq_hal_memory(lq_instance *caller, const lq_hal_function *fn, uint8_t **mem, uint32_t *size) {");
  out.push("    char msg[LQ_MESSAGE_MAX];");
  out.push("    size_t at;");
  out.push("    lq_memory *memory = caller ? lq_instance_memory(caller) : NULL;");
  out.push("    *mem = NULL; /* defined on every path, so optimising builds see no uninitialised use */");
  out.push("    *size = 0;");
  out.push("    if (!memory) {");
  out.push("        at = lq_hal_put(msg, 0, fn->module);");
  out.push("        at = lq_hal_put(msg, lq_hal_put(msg, at, \".\"), fn->name);");
  out.push("        lq_hal_put(msg, at, \" needs the caller's memory, but it has none\");");
  out.push("        if (caller) lq_host_trap(caller, msg);");
  out.push("        return 0;");
  out.push("    }");
  out.push("    *mem = lq_memory_data(memory);");
  out.push("    *size = lq_memory_size(memory);");
  out.push("    return 1;");
  out.push("}");
  out.push("");
  out.push("/* Checks [ptr, ptr+len) against the memory; traps with the message the simulator glue uses too. */");
  out.push("static int lq_hal_range(lq_instance *caller, const lq_hal_function *fn, uint32_t ptr, uint32_t len, uint32_t mem_size) {");
  out.push("    char msg[LQ_MESSAGE_MAX];");
  out.push("    size_t at;");
  out.push("    if ((uint64_t)ptr + (uint64_t)len <= (uint64_t)mem_size) return 1;");
  out.push("    at = lq_hal_put(msg, 0, \"out-of-bounds pointer passed to \");");
  out.push("    at = lq_hal_put(msg, at, fn->module);");
  out.push("    at = lq_hal_put(msg, at, \".\");");
  out.push("    at = lq_hal_put(msg, at, fn->name);");
  out.push("    at = lq_hal_put(msg, at, \" (ptr=\");");
  out.push("    at = lq_hal_put_u32(msg, at, ptr);");
  out.push("    at = lq_hal_put(msg, at, \" len=\");");
  out.push("    at = lq_hal_put_u32(msg, at, len);");
  out.push("    at = lq_hal_put(msg, at, \", memory is \");");
  out.push("    at = lq_hal_put_u32(msg, at, mem_size);");
  out.push("    lq_hal_put(msg, at, \" bytes)\");");
  out.push("    lq_host_trap(caller, msg);");
  out.push("    return 0;");
  out.push("}");
  out.push("");
  out.push("/* Address of a checked offset; a memory of size 0 has no data pointer to offset. */");
  out.push("static uint8_t *lq_hal_at(uint8_t *mem, uint32_t ptr) {");
  out.push("    return mem ? mem + ptr : NULL;");
  out.push("}");
  if (usesFloat) {
    out.push("");
    out.push("static float lq_hal_f32(uint32_t bits) { float f; memcpy(&f, &bits, sizeof f); return f; }");
    out.push("static double lq_hal_f64(uint64_t bits) { double d; memcpy(&d, &bits, sizeof d); return d; }");
    out.push("static uint32_t lq_hal_f32_bits(float f) { uint32_t b; memcpy(&b, &f, sizeof b); return b; }");
    out.push("static uint64_t lq_hal_f64_bits(double d) { uint64_t b; memcpy(&b, &d, sizeof b); return b; }");
  }
  out.push("");
  spec.functions.forEach((fn, i) => {
    out.push(wrapper(fn, i));
    out.push("");
  });
  out.push("const lq_hal_function lq_hal_functions[LQ_HAL_FUNCTION_COUNT] = {");
  for (const fn of spec.functions) {
    const params = fn.params.map((p) => LETTER[p.type]).join("");
    const results = fn.results.map((r) => LETTER[r]).join("");
    out.push(
      `    {"${fn.module}", "${fn.name}", "${params}", "${results}", "${signatureString(fn)}", LQ_HAL_CAP_${fn.capability.toUpperCase()}, wrap_${fn.module}_${fn.name}},`,
    );
  }
  out.push("};");
  out.push("");
  out.push("const lq_hal_function *lq_hal_find(const char *module, uint32_t module_len, const char *name, uint32_t name_len) {");
  out.push("    uint32_t i;");
  out.push("    for (i = 0; i < LQ_HAL_FUNCTION_COUNT; i++) {");
  out.push("        const lq_hal_function *f = &lq_hal_functions[i];");
  out.push("        if (strlen(f->module) == module_len && memcmp(f->module, module, module_len) == 0 &&");
  out.push("            strlen(f->name) == name_len && memcmp(f->name, name, name_len) == 0) return f;");
  out.push("    }");
  out.push("    return NULL;");
  out.push("}");
  out.push("");
  return out.join("\n");
}

export function generateC(spec: HalSpec): GeneratedFile[] {
  return [
    { path: "firmware/hal/generated/lq_hal.h", content: header(spec) },
    { path: "firmware/hal/generated/lq_hal_dispatch.c", content: dispatch(spec) },
  ];
}
