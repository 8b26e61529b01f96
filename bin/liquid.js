#!/usr/bin/env node
// The `liquid` command. Runs the compiled CLI from dist/; `npm run build` (or the test and demo
// scripts) produce it from compiler/src.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const cli = new URL("../dist/compiler/src/cli.js", import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  console.error("liquid: the toolchain is not compiled yet; run `npm run build` in the Liquid checkout");
  process.exit(1);
}
const { main } = await import(cli.href);
process.exitCode = await main(process.argv.slice(2));
