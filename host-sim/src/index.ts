/**
 * The Liquid simulator's public API (see docs/simulator.md): a Simulation with boards, apps
 * installed from wasm + manifest, a virtual clock, and events observable through a listener.
 */
export { Simulation, SimulationError, type SimulationOptions } from "./simulation.js";
export { SimBoard, SettingError, type InstallOptions } from "./board/sim-board.js";
export { type BoardDef, BoardError, loadBoard, parseBoard } from "./board/board-def.js";
export { SimApp, type AppSnapshot } from "./app/sim-app.js";
export { type AppManifest, AppLoadError, parseManifest, readManifestBeside, appNameFromPath, sha256Hex } from "./app/manifest.js";
export type { SimEvent, SimEventListener, AppState } from "./events.js";
export { parseDuration } from "./duration.js";
export { formatEventJson, formatEventHuman } from "./format.js";
export { type ScenarioEntry, ScenarioError, loadScenario, parseScenario, parseSetting } from "./scenario.js";
