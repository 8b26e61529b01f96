/**
 * Generates docs/hal.md, the HAL reference, from the spec: every function with its signature,
 * capability and meaning, plus errors, constants, entry points and the SDK's friendly names.
 */
import { type GeneratedFile, generatedHeader } from "./common.js";
import { type HalFunction, type HalSpec, logicalParams, modulesOf, qualifiedName, signatureString } from "../hal/spec.js";

function paramList(fn: HalFunction): string {
  return fn.params
    .map((p) => {
      if (p.ptr) return `${p.name}: ptr${p.out ? " (out)" : ""}`;
      return `${p.name}: ${p.type}`;
    })
    .join(", ");
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

export function generateHalDocs(spec: HalSpec): GeneratedFile[] {
  const out: string[] = [];
  out.push(generatedHeader("<!--").trimEnd());
  out.push("");
  out.push(`# Liquid HAL reference (spec v${spec.version})`);
  out.push("");
  out.push("The hardware API every Liquid device offers to apps, generated from `hal/hal.json` (the single");
  out.push("source of truth). Apps use it through the SDK (`import { Pin, I2CBus, Timer, Text, log, msg } from \"liquid\"`,");
  out.push("see `sdk/`); the raw imports below are what a module may import and what `liquid build` checks.");
  out.push("The same spec generates the SDK declarations (`sdk/generated/`), the C prototypes and dispatch");
  out.push("table (`firmware/hal/generated/`) and the simulator glue (`host-sim/src/generated/hal-imports.ts`).");
  out.push("");
  out.push("Conventions: all values are wasm `i32`/`i64`. A `ptr` parameter is an address in the app's");
  out.push("linear memory, followed by its length; the host checks the whole range before touching it and");
  out.push("traps the app with `out-of-bounds pointer passed to MODULE.NAME (ptr=P len=L, memory is M bytes)`");
  out.push("otherwise. `(out)` buffers are written by the host. Strings are UTF-8 without terminator.");
  out.push("Negative `i32` results are the error codes below. No call blocks: long operations report back");
  out.push("through entry points. Each function needs its capability, which `liquid build` derives from the");
  out.push("module's imports into the manifest; `gpio.open` and `i2c.open` additionally need the named pin or");
  out.push("bus to be granted by the manifest's `resources`, or they trap.");
  out.push("");
  out.push("## Entry points (exported by the app)");
  out.push("");
  out.push("| export | parameters | called when |");
  out.push("|---|---|---|");
  for (const ep of spec.entryPoints) {
    out.push(`| \`${ep.name}\` | ${ep.params.map((p) => `${p.name}: ${p.type}`).join(", ") || "—"} | ${cell(ep.doc)} |`);
  }
  out.push("");
  out.push("## Capabilities");
  out.push("");
  out.push("| capability | resource granted by name | meaning |");
  out.push("|---|---|---|");
  for (const c of spec.capabilities) out.push(`| \`${c.name}\` | ${c.resource ?? "—"} | ${cell(c.doc)} |`);
  for (const module of modulesOf(spec)) {
    out.push("");
    out.push(`## Module \`${module}\``);
    out.push("");
    out.push("| function | parameters | result | signature | capability |");
    out.push("|---|---|---|---|---|");
    const fns = spec.functions.filter((f) => f.module === module);
    for (const fn of fns) {
      out.push(
        `| \`${qualifiedName(fn)}\` | ${paramList(fn) || "—"} | ${fn.results.join(", ") || "—"} | \`${signatureString(fn)}\` | ${fn.capability} |`,
      );
    }
    out.push("");
    for (const fn of fns) {
      const buffers = logicalParams(fn).filter((lp) => lp.kind === "buffer").length;
      out.push(`- **\`${qualifiedName(fn)}\`** — ${fn.doc}${fn.resourceArg ? ` The \`${fn.resourceArg}\` must be granted by the manifest.` : ""}${buffers ? "" : ""}`);
    }
  }
  out.push("");
  out.push("## Error codes");
  out.push("");
  out.push("| name | value | meaning |");
  out.push("|---|---|---|");
  for (const e of spec.errors) out.push(`| \`${e.name}\` | ${e.value} | ${cell(e.doc)} |`);
  out.push("");
  out.push("## Constants");
  out.push("");
  out.push("| name | value | meaning |");
  out.push("|---|---|---|");
  for (const c of spec.constants) out.push(`| \`${c.name}\` | ${c.value} | ${cell(c.doc)} |`);
  out.push("");
  out.push("## Where each target implements it");
  out.push("");
  out.push("| target | generated | hand-written |");
  out.push("|---|---|---|");
  out.push("| AssemblyScript SDK | `sdk/generated/*.ts` (`@external` declarations named `MODULE_NAME`, constants) | `sdk/*.ts` (Pin, I2CBus, Timer, Text, log, msg, device, random) |");
  out.push("| C firmware | `firmware/hal/generated/lq_hal.h`, `lq_hal_dispatch.c` (prototypes, wrappers with bounds checks, table) | `firmware/runtime/src/hal_impl.c` (grants, drivers via the port) |");
  out.push("| Node simulator | `host-sim/src/generated/hal-imports.ts` (`HalHost`, `createHalImports`, `HalTrap`) | `host-sim/src/` |");
  out.push("");
  out.push("Regenerate after editing `hal/hal.json`: `liquid bindings` (or `node bin/liquid.js bindings`);");
  out.push("`liquid bindings --check` (run by `test/toolchain/bindings.test.ts`) fails when a committed");
  out.push("generated file is stale.");
  out.push("");
  return [{ path: "docs/hal.md", content: out.join("\n") }];
}
