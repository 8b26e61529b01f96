/**
 * The simulator's view of the HAL: the generated glue plus the lookups the loader needs
 * (which capability a host function requires). Everything comes from the generated file, so a
 * change to hal/hal.json reaches the simulator through `liquid bindings` only.
 */
import { HAL_ENTRY_POINTS, HAL_FUNCTIONS, type HalFunctionInfo } from "./generated/hal-imports.js";

export {
  HalTrap,
  HalError as E,
  HalConst,
  HAL_CAPABILITIES,
  HAL_VERSION,
  createHalImports,
  type HalHost,
} from "./generated/hal-imports.js";

export const HAL_BY_IMPORT: ReadonlyMap<string, HalFunctionInfo> = new Map(HAL_FUNCTIONS.map((f) => [`${f.module}.${f.name}`, f]));
export const ENTRY_POINTS: ReadonlyMap<string, readonly string[]> = new Map(HAL_ENTRY_POINTS.map((e) => [e.name, e.params]));

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
