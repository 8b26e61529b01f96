/**
 * Writes a file so that readers never see half of it: several test suites and `deploy --watch`
 * may build the same example at the same time, and a device must never be sent a torn module.
 */
import { renameSync, writeFileSync } from "node:fs";

let counter = 0;

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.${counter++}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
