/**
 * What a shared-everything library (`liquid build --library --shared`) may contain. It runs in
 * the importing app's memory, so anything it would place there itself — static data, mutable
 * globals such as an allocator's heap pointer, table entries — would collide with the app's.
 * Placing them at run time needs relocatable output, which AssemblyScript does not emit; so a
 * shared library is refused unless it has none of them (docs/linking.md). Pure functions over
 * pointers into the app's memory qualify.
 */
import binaryen from "binaryen";

export function sharedLibraryProblems(wasm: Uint8Array): string[] {
  const mod = binaryen.readBinary(wasm);
  try {
    const problems: string[] = [];
    const data = (mod as unknown as { getNumDataSegments(): number }).getNumDataSegments();
    if (data > 0) problems.push(`a shared library may not have static data (it has ${data} data segment${data > 1 ? "s" : ""}: string literals, arrays, memory.data)`);
    let mutable = 0;
    for (let i = 0; i < mod.getNumGlobals(); i++) {
      const g = binaryen.getGlobalInfo(mod.getGlobalByIndex(i));
      if (g.mutable && !g.module) mutable++;
    }
    if (mutable > 0) problems.push(`a shared library may not have mutable globals (it has ${mutable}; allocating with new/arrays/strings needs one)`);
    if (mod.getNumElementSegments() > 0) problems.push("a shared library may not have table entries (function references or closures)");
    if (problems.length) problems.push("the runtime cannot place these in the app's memory yet; build it as an isolated library (without --shared), see docs/linking.md");
    return problems;
  } finally {
    mod.dispose();
  }
}
