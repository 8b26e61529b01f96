/**
 * All bindings generated from the HAL spec, one generator per target. The output is a pure
 * function of the spec (no dates, no machine paths), so `liquid bindings --check` can compare it
 * byte for byte with the committed files.
 */
import type { HalSpec } from "../hal/spec.js";
import { generateAssemblyScriptSdk } from "./assemblyscript.js";
import type { GeneratedFile } from "./common.js";
import { generateHostSimGlue } from "./host-sim.js";

export type { GeneratedFile } from "./common.js";

export const BINDING_TARGETS = ["sdk", "host-sim"] as const;
export type BindingTarget = (typeof BINDING_TARGETS)[number];

export function generateBindings(spec: HalSpec, targets: readonly BindingTarget[] = BINDING_TARGETS): GeneratedFile[] {
  const files: GeneratedFile[] = [];
  for (const target of targets) {
    switch (target) {
      case "sdk":
        files.push(...generateAssemblyScriptSdk(spec));
        break;
      case "host-sim":
        files.push(...generateHostSimGlue(spec));
        break;
    }
  }
  return files;
}
