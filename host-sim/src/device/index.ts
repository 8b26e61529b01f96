/**
 * Simulated devices: a simulator board behind the device protocol, reachable over TCP or an
 * in-memory stream, so every `liquid` device command works against it as against firmware.
 */
import { loadBoard } from "../board/board-def.js";
import type { SimBoard } from "../board/sim-board.js";
import { Simulation } from "../simulation.js";
import { ProtocolServer } from "./protocol-server.js";
import { RealtimePacer } from "./realtime.js";
import { SimBoardRuntime } from "./sim-runtime.js";
import { SimulatedDevice } from "./simulated-device.js";
import { DirectoryStore, MemoryStore, type ModuleStore } from "./store.js";

export { ProtocolServer } from "./protocol-server.js";
export { SimulatedDevice } from "./simulated-device.js";
export { listenTcp, memoryConnector, type TcpListener } from "./serve.js";
export { MemoryStore, DirectoryStore, type ModuleStore } from "./store.js";
export { RealtimePacer } from "./realtime.js";

export interface SimDeviceOptions {
  /** Board name (boards/NAME.json) or path; default sim-devkit. */
  board?: string;
  /** Share a simulation (several devices on one virtual clock); default a new one. */
  simulation?: Simulation;
  id?: string;
  /** Keep the store in this directory (survives restarts); default in memory. */
  storeDir?: string;
  storeCapacity?: number;
  /** Pace the simulation by the wall clock (for live tools); default false: tests drive time. */
  realtime?: boolean;
}

export interface SimDevice {
  device: SimulatedDevice;
  server: ProtocolServer;
  simulation: Simulation;
  board: SimBoard;
  pacer?: RealtimePacer;
  stop(): Promise<void>;
}

export async function createSimDevice(options: SimDeviceOptions = {}): Promise<SimDevice> {
  const simulation = options.simulation ?? new Simulation();
  const def = loadBoard(options.board ?? "sim-devkit");
  const id = options.id ?? `${def.name}-${Math.random().toString(16).slice(2, 6)}`;
  const board = simulation.addBoard(def, id);
  const runtime = new SimBoardRuntime(board);
  const store: ModuleStore = options.storeDir ? new DirectoryStore(options.storeDir, options.storeCapacity) : new MemoryStore(options.storeCapacity);
  let pacer: RealtimePacer | undefined;
  if (options.realtime) {
    pacer = new RealtimePacer(simulation);
    runtime.sync = () => pacer!.sync();
  }
  const device = new SimulatedDevice(runtime, { id, store });
  const server = new ProtocolServer(device);
  await device.boot();
  pacer?.start();
  const result: SimDevice = {
    device,
    server,
    simulation,
    board,
    stop: async () => {
      pacer?.stop();
      await server.closeAll();
    },
  };
  if (pacer) result.pacer = pacer;
  return result;
}
