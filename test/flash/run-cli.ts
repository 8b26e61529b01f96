// The flash tests run `liquid` in this process and see what a user would: the shared runner.
export { type CliRun, captureLiquid as runLiquid } from "../helpers/run-liquid.js";
