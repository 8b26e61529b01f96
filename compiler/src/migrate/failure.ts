/**
 * How a migration reports what went wrong and where the app is: shared by the planning
 * (checks before the freeze), the move itself and the resume from a journal file.
 */
import type { CapabilityDocument, HelloInfo } from "../protocol/types.js";
import { DeviceError } from "../protocol/errors.js";

export type MigrationStep = "check" | "module" | "freeze" | "verify" | "restore" | "resume" | "commit" | "rollback";

export interface DeviceSummary {
  url: string;
  id: string;
  board: string;
  arch: string;
}

export class MigrationError extends Error {
  constructor(
    message: string,
    readonly step: MigrationStep,
    /** Where the app runs now: "source" (never stopped, or resumed) or "nowhere" (see journal). */
    readonly appIs: "source" | "nowhere",
    readonly journal?: string,
  ) {
    super(message);
  }
}

export const why = (err: unknown) => (err instanceof DeviceError ? err.detail || err.statusName : err instanceof Error ? err.message : String(err));

export function summary(hello: HelloInfo | undefined, info: CapabilityDocument | undefined, url: string): DeviceSummary {
  return { url, id: hello?.deviceId ?? info?.id ?? "?", board: info?.board ?? "?", arch: info?.arch ?? "?" };
}

