/**
 * All bindings generated from the HAL spec, one generator per target. The output is a pure
 * function of the spec (no dates, no machine paths), so `liquid bindings --check` can compare it
 * byte for byte with the committed files.
 */
import type { HalSpec } from "../hal/spec.js";
import { generateAssemblyScriptSdk } from "./assemblyscript.js";
import { generateC } from "./c.js";
import type { GeneratedFile } from "./common.js";
import { generateHalDocs } from "./docs.js";
import { generateHostSimGlue } from "./host-sim.js";

export type { GeneratedFile } from "./common.js";

export const BINDING_TARGETS = ["sdk", "c", "host-sim", "docs"] as const;
export type BindingTarget = (typeof BINDING_TARGETS)[number];

export function generateBindings(spec: HalSpec, targets: readonly BindingTarget[] = BINDING_TARGETS): GeneratedFile[] {
  const files: GeneratedFile[] = [];
  for (const target of targets) {
    switch (target) {
      case "sdk":
        files.push(...generateAssemblyScriptSdk(spec));
        break;
      case "c":
        files.push(...generateC(spec));
        break;
      case "host-sim":
        files.push(...generateHostSimGlue(spec));
        break;
      case "docs":
        files.push(...generateHalDocs(spec));
        break;
    }
  }
  return files;
}
