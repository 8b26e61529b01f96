/**
 * Generates host-sim/src/generated/hal-imports.ts: the simulator's side of the HAL. The
 * simulator implements `HalHost` (one method per HAL function, buffers already resolved to
 * views of the app's memory) and passes `createHalImports(...)` to WebAssembly.instantiate.
 * The glue does the bounds checks so that every host sees the same trap message as the C
 * dispatch for the same bad pointer.
 */
import { type GeneratedFile, commentSafe, generatedHeader } from "./common.js";
import { type HalFunction, type HalSpec, type ValueType, logicalParams, modulesOf, qualifiedName } from "../hal/spec.js";

const TS_TYPE: Record<ValueType, string> = { i32: "number", i64: "bigint", f32: "number", f64: "number" };

function hostMethodName(fn: HalFunction): string {
  return `${fn.module}_${fn.name}`;
}

function resultType(fn: HalFunction): string {
  return fn.results.length ? TS_TYPE[fn.results[0]!] : "void";
}

function hostMethod(fn: HalFunction): string {
  const args = logicalParams(fn).map((lp) =>
    lp.kind === "scalar" ? `${lp.param.name}: ${TS_TYPE[lp.param.type]}` : `${lp.buffer.ptr.name}: Uint8Array`,
  );
  const bufferDocs = logicalParams(fn)
    .filter((lp) => lp.kind === "buffer")
    .map((lp) =>
      lp.kind === "buffer"
        ? `   * @param ${lp.buffer.ptr.name} ${lp.buffer.out ? "writable view of the app's memory (the host writes the result here)" : "a copy of the app's bytes"}`
        : "",
    );
  const doc = ["  /**", `   * ${commentSafe(fn.doc)}`, ...bufferDocs, `   * Capability: ${fn.capability}.`, "   */"];
  return `${doc.join("\n")}\n  ${hostMethodName(fn)}(${args.join(", ")}): ${resultType(fn)};`;
}

/** Converts what the host returned into the value wasm expects for the declared result. */
function wrapResult(fn: HalFunction, call: string): string {
  if (!fn.results.length) return `${call};`;
  switch (fn.results[0]!) {
    case "i32":
      return `return ${call} | 0;`;
    case "i64":
      return `return BigInt.asIntN(64, ${call});`;
    case "f32":
      return `return Math.fround(${call});`;
    case "f64":
      return `return +${call};`;
  }
}

function importFunction(fn: HalFunction): string {
  const wasmParams = fn.params.map((p) => `${p.name}: ${TS_TYPE[p.type]}`);
  const args = logicalParams(fn).map((lp) => {
    if (lp.kind === "scalar") return lp.param.name;
    const { ptr, out } = lp.buffer;
    return `${ptr.name}Bytes${out ? "" : ".slice()"}`;
  });
  const checks = logicalParams(fn)
    .filter((lp) => lp.kind === "buffer")
    .map((lp) => {
      if (lp.kind !== "buffer") return "";
      const { ptr, len } = lp.buffer;
      return `        const ${ptr.name}Bytes = region(${JSON.stringify(qualifiedName(fn))}, ${ptr.name}, ${len.name});`;
    });
  const call = `host.${hostMethodName(fn)}(${args.join(", ")})`;
  return [
    `      ${fn.name}: (${wasmParams.join(", ")}): ${resultType(fn)} => {`,
    ...checks,
    `        ${wrapResult(fn, call)}`,
    "      },",
  ].join("\n");
}

function describe(fn: HalFunction): string {
  const params = fn.params
    .map((p) => {
      const extra = p.ptr ? `, ptr: true, len: ${JSON.stringify(p.len)}${p.out ? ", out: true" : ""}` : "";
      return `{ name: ${JSON.stringify(p.name)}, type: ${JSON.stringify(p.type)}${extra} }`;
    })
    .join(", ");
  const resource = fn.resourceArg ? `, resourceArg: ${JSON.stringify(fn.resourceArg)}` : "";
  return `  { module: ${JSON.stringify(fn.module)}, name: ${JSON.stringify(fn.name)}, capability: ${JSON.stringify(fn.capability)}${resource}, params: [${params}], results: [${fn.results.map((r) => JSON.stringify(r)).join(", ")}] },`;
}

export function generateHostSimGlue(spec: HalSpec): GeneratedFile[] {
  const lines: string[] = [];
  lines.push(generatedHeader("//").trimEnd());
  lines.push("//");
  lines.push("// The simulator's side of the HAL: implement `HalHost`, then pass");
  lines.push("// `createHalImports(host, () => instance.exports.memory)` as the import object.");
  lines.push("");
  lines.push("/** A trap raised by the HAL glue or a host method; the simulator stops the app with its message. */");
  lines.push("export class HalTrap extends Error {");
  lines.push("  constructor(message: string) {");
  lines.push("    super(message);");
  lines.push('    this.name = "HalTrap";');
  lines.push("  }");
  lines.push("}");
  lines.push("");
  lines.push(`export const HAL_VERSION = ${spec.version};`);
  lines.push("");
  lines.push("/** Error codes HAL functions return (negative i32). */");
  lines.push("export const HalError = {");
  for (const e of spec.errors) lines.push(`  /** ${commentSafe(e.doc)} */\n  ${e.name}: ${e.value},`);
  lines.push("} as const;");
  lines.push("");
  lines.push("/** Named constants of the HAL (pin modes, edges, log levels). */");
  lines.push("export const HalConst = {");
  for (const c of spec.constants) lines.push(`  /** ${commentSafe(c.doc)} */\n  ${c.name}: ${c.value},`);
  lines.push("} as const;");
  lines.push("");
  lines.push("export type HalValueType = \"i32\" | \"i64\" | \"f32\" | \"f64\";");
  lines.push("export interface HalParamInfo {");
  lines.push("  name: string;");
  lines.push("  type: HalValueType;");
  lines.push("  ptr?: boolean;");
  lines.push("  len?: string;");
  lines.push("  out?: boolean;");
  lines.push("}");
  lines.push("export interface HalFunctionInfo {");
  lines.push("  module: string;");
  lines.push("  name: string;");
  lines.push("  capability: string;");
  lines.push("  /** The parameter naming the pin or bus the call opens (grant check). */");
  lines.push("  resourceArg?: string;");
  lines.push("  params: readonly HalParamInfo[];");
  lines.push("  results: readonly HalValueType[];");
  lines.push("}");
  lines.push("");
  lines.push("/** Every HAL function, in spec order (for deriving capabilities from a module's imports). */");
  lines.push("export const HAL_FUNCTIONS: readonly HalFunctionInfo[] = [");
  for (const fn of spec.functions) lines.push(describe(fn));
  lines.push("];");
  lines.push("");
  lines.push("/** Capabilities and the kind of named resource each one guards. */");
  lines.push("export const HAL_CAPABILITIES: readonly { name: string; resource?: \"pin\" | \"bus\" }[] = [");
  for (const c of spec.capabilities) {
    lines.push(`  { name: ${JSON.stringify(c.name)}${c.resource ? `, resource: ${JSON.stringify(c.resource)}` : ""} },`);
  }
  lines.push("];");
  lines.push("");
  lines.push("/** Entry points an app may export, with their wasm parameter types. */");
  lines.push("export const HAL_ENTRY_POINTS: readonly { name: string; params: readonly HalValueType[] }[] = [");
  for (const ep of spec.entryPoints) {
    lines.push(`  { name: ${JSON.stringify(ep.name)}, params: [${ep.params.map((p) => JSON.stringify(p.type)).join(", ")}] },`);
  }
  lines.push("];");
  lines.push("");
  lines.push("/**");
  lines.push(" * What the simulator implements: one method per HAL function, named MODULE_NAME. Input buffers");
  lines.push(" * arrive as copies, output buffers as writable views of the app's memory; i64 values are bigint.");
  lines.push(" * A method may throw HalTrap to trap the calling app.");
  lines.push(" */");
  lines.push("export interface HalHost {");
  lines.push(spec.functions.map(hostMethod).join("\n"));
  lines.push("}");
  lines.push("");
  lines.push("/**");
  lines.push(" * Builds the import object for one app instance. `memory` returns the instance's exported memory");
  lines.push(" * (looked up at call time, as it only exists after instantiation and may grow). Every ptr/len");
  lines.push(" * pair is bounds-checked before the host sees it; a bad range throws HalTrap.");
  lines.push(" */");
  lines.push("export function createHalImports(host: HalHost, memory: () => WebAssembly.Memory): WebAssembly.Imports {");
  lines.push("  const region = (fn: string, ptr: number, len: number): Uint8Array => {");
  lines.push("    const buffer = memory().buffer;");
  lines.push("    const start = ptr >>> 0;");
  lines.push("    const length = len >>> 0;");
  lines.push("    if (start + length > buffer.byteLength) {");
  lines.push("      throw new HalTrap(`out-of-bounds pointer passed to ${fn} (ptr=${start} len=${length}, memory is ${buffer.byteLength} bytes)`);");
  lines.push("    }");
  lines.push("    return new Uint8Array(buffer, start, length);");
  lines.push("  };");
  lines.push("  return {");
  for (const module of modulesOf(spec)) {
    lines.push(`    ${module}: {`);
    for (const fn of spec.functions.filter((f) => f.module === module)) lines.push(importFunction(fn));
    lines.push("    },");
  }
  lines.push("  };");
  lines.push("}");
  lines.push("");
  return [{ path: "host-sim/src/generated/hal-imports.ts", content: lines.join("\n") }];
}
