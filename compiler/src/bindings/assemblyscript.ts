/**
 * Generates the raw AssemblyScript side of the HAL in sdk/generated/: one file per HAL module
 * with `@external` declarations (named MODULE_NAME, so that names such as `random.u32` never
 * shadow AssemblyScript builtins), and constants.ts with the error codes and constants. The
 * friendly, hand-written API in sdk/*.ts is built on these.
 */
import { type GeneratedFile, commentSafe, generatedHeader } from "./common.js";
import { type HalFunction, type HalSpec, type ValueType, modulesOf } from "../hal/spec.js";

const AS_TYPE: Record<ValueType, string> = { i32: "i32", i64: "i64", f32: "f32", f64: "f64" };

function declaration(fn: HalFunction): string {
  const params = fn.params.map((p) => `${p.name}: ${p.ptr ? "usize" : AS_TYPE[p.type]}`);
  const result = fn.results.length ? AS_TYPE[fn.results[0]!] : "void";
  const paramDocs = fn.params
    .filter((p) => p.ptr)
    .map((p) => ` * @param ${p.name} address of ${p.out ? "a buffer the host fills" : "bytes the host reads"} (${p.len} bytes; bounds-checked by the host)`);
  return [
    "/**",
    ` * ${commentSafe(fn.doc)}`,
    ...paramDocs,
    ` * Capability: ${fn.capability}.`,
    " */",
    "// @ts-ignore: decorator",
    `@external(${JSON.stringify(fn.module)}, ${JSON.stringify(fn.name)})`,
    `export declare function ${fn.module}_${fn.name}(${params.join(", ")}): ${result};`,
  ].join("\n");
}

export function generateAssemblyScriptSdk(spec: HalSpec): GeneratedFile[] {
  const files: GeneratedFile[] = [];
  for (const module of modulesOf(spec)) {
    const fns = spec.functions.filter((f) => f.module === module);
    const body = fns.map(declaration).join("\n\n");
    files.push({
      path: `sdk/generated/${module}.ts`,
      content: `${generatedHeader("//")}// Raw imports of the HAL module "${module}". Apps normally use the friendly API in sdk/ instead.\n\n${body}\n`,
    });
  }
  const consts = [
    ...spec.errors.map((e) => `/** ${commentSafe(e.doc)} */\nexport const ${e.name}: i32 = ${e.value};`),
    "",
    ...spec.constants.map((c) => `/** ${commentSafe(c.doc)} */\nexport const ${c.name}: i32 = ${c.value};`),
  ];
  files.push({
    path: "sdk/generated/constants.ts",
    content: `${generatedHeader("//")}// Error codes (negative results) and named constants of HAL spec v${spec.version}.\n\nexport const HAL_VERSION: i32 = ${spec.version};\n\n${consts.join("\n")}\n`,
  });
  return files;
}
