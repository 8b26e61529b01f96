import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { parseArgs } from "../args.js";
import { CliError, type Command } from "../command.js";
import { LIQUID_ROOT } from "../paths.js";

const usage = `usage: liquid new DIR

Creates a Liquid app in DIR (which must not exist or be empty): app.ts (LED0 blinking every
500 ms, ready to edit), liquid.json (name and version) and tsconfig.json (editor support
only: AssemblyScript types and the SDK as "liquid"). Then: liquid build DIR && liquid sim
DIR/build/NAME.wasm`;

const APP = `// A Liquid app: the runtime calls the exported entry points; none of them may block.
// SDK reference: sdk/README.md in the Liquid checkout; the HAL: docs/hal.md.
import { Pin, Timer } from "liquid";

let led = Pin.NONE;

export function start(): void {
  led = Pin.output("LED0");
  Timer.every(500);
}

export function on_timer(timer: i32): void {
  led.toggle();
}
`;

export const newApp: Command = {
  name: "new",
  summary: "create a new app folder (app.ts, liquid.json, tsconfig.json)",
  usage,
  async run(argv) {
    const args = parseArgs(argv, []);
    if (args.positionals.length !== 1) throw new CliError(`expected one DIR\n\n${usage}`, 2);
    const dir = resolve(args.positionals[0]!);
    const name = basename(dir);
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(name)) {
      throw new CliError(`'${name}' is not a valid app name (letters, digits, '_', '.', '-'; at most 63)`, 2);
    }
    if (existsSync(dir) && readdirSync(dir).length) throw new CliError(`${args.positionals[0]} exists and is not empty`);
    mkdirSync(dir, { recursive: true });
    const toRoot = relative(dir, LIQUID_ROOT) || ".";
    const tsconfig = {
      $comment: "Editor support only; `liquid build` does not read this file.",
      extends: `${toRoot}/node_modules/assemblyscript/std/assembly.json`,
      compilerOptions: { baseUrl: ".", paths: { liquid: [`${toRoot}/sdk/index.ts`], "liquid/*": [`${toRoot}/sdk/*`] }, noEmit: true },
      include: ["./**/*.ts"],
      exclude: ["./build/**"],
    };
    writeFileSync(join(dir, "app.ts"), APP);
    writeFileSync(join(dir, "liquid.json"), `${JSON.stringify({ name, version: "0.1.0" }, null, 2)}\n`);
    writeFileSync(join(dir, "tsconfig.json"), `${JSON.stringify(tsconfig, null, 2)}\n`);
    const shown = args.positionals[0]!;
    console.log(`created ${name} in ${shown}: app.ts, liquid.json, tsconfig.json`);
    console.log(`next: liquid build ${shown} && liquid sim ${join(shown, "build", `${name}.wasm`)} --for 2s`);
    return 0;
  },
};
