// LIQUID_HOME (where `liquid` keeps its device list, installed firmware and caches) pointed at a
// test's own directory, so in-process `liquid` commands never read or write the user's.

/**
 * Sets LIQUID_HOME to `home` (and, with clearPort, unsets LIQUID_PORT so commands find the
 * test's device rather than one named in the environment). Returns the function that puts
 * LIQUID_HOME back as it was; LIQUID_PORT stays unset.
 */
export function useLiquidHome(home: string, options: { clearPort?: boolean } = {}): () => void {
  const saved = process.env.LIQUID_HOME;
  process.env.LIQUID_HOME = home;
  if (options.clearPort) delete process.env.LIQUID_PORT;
  return () => {
    if (saved === undefined) delete process.env.LIQUID_HOME;
    else process.env.LIQUID_HOME = saved;
  };
}
