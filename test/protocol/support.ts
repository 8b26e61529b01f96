// Shared helpers of the protocol and CLI suites: building the fixture apps once, and a
// simulated device reachable in memory or over TCP.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildApp } from "../../compiler/src/app-build/index.js";
import { createSimDevice, type SimDeviceOptions } from "../../host-sim/src/device/index.js";
import type { SimEvent } from "../../host-sim/src/index.js";

export const FIXTURES = join(import.meta.dirname, "fixtures");
export const ROOT = join(import.meta.dirname, "..", "..");

export interface BuiltApp {
  wasm: Uint8Array;
  manifest: string;
  wasmPath: string;
}

const built = new Map<string, Promise<BuiltApp>>();

/** Builds test/protocol/fixtures/NAME with liquid build's library (once per process). */
export function fixtureApp(name: string, outDir: string): Promise<BuiltApp> {
  let p = built.get(name);
  if (!p) {
    p = (async () => {
      const r = await buildApp(join(FIXTURES, name), { out: join(outDir, `${name}.wasm`) });
      if (!r.ok) throw new Error(`building fixture ${name} failed:\n${[...r.errors, ...r.diagnostics.map((d) => d.message)].join("\n")}`);
      return { wasm: r.wasm!, manifest: readFileSync(r.manifestPath!, "utf8"), wasmPath: r.wasmPath! };
    })();
    built.set(name, p);
  }
  return p;
}

/** A simulated device on the test board whose every simulator event is recorded. */
export async function simDevice(options: SimDeviceOptions = {}) {
  const dev = await createSimDevice({ board: join(FIXTURES, "board.json"), ...options });
  const events: SimEvent[] = [];
  dev.simulation.onEvent((e) => events.push(e));
  return { ...dev, events };
}

export const gpio = (events: SimEvent[], pin: string) =>
  events.filter((e): e is Extract<SimEvent, { type: "gpio" }> => e.type === "gpio" && e.pin === pin).map((e) => [e.t, e.value]);
