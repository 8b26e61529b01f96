import { buildNative } from "./helpers/native-build.js";

// Builds the C side once for the whole run (posix port and liquid-vm, with ASan/UBSan), so
// suites that start firmware processes or run the spec tests share one build.
export default async function setup(): Promise<void> {
  await buildNative();
}
