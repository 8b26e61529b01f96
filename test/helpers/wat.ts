// WebAssembly text to binary for the tests that write tiny apps and libraries by hand.
import binaryen from "binaryen";

/** Assembles WebAssembly text (tests write tiny apps directly against the HAL imports). */
export function wat(text: string): Uint8Array {
  const mod = binaryen.parseText(text);
  try {
    return mod.emitBinary();
  } finally {
    mod.dispose();
  }
}
