import { UsageError } from "./args.js";
import { CliError, type Command } from "./command.js";

/** Every command (loads all their modules: only for listing help). */
async function allCommands(): Promise<Command[]> {
  return (await import("./commands/index.js")).commands;
}

/**
 * One command by name. Some commands pull in heavy modules (binaryen, serial ports), so the
 * command's own file (commands/NAME.ts, the registry's convention) is tried first and the full
 * registry only loaded when that fails; `liquid build` then starts without the simulator's deps.
 */
async function findCommand(name: string): Promise<Command | undefined> {
  if (/^[a-z][a-z0-9-]*$/.test(name)) {
    try {
      const mod = (await import(`./commands/${name}.js`)) as Record<string, unknown>;
      const found = Object.values(mod).find(
        (v): v is Command => typeof v === "object" && v !== null && (v as Command).name === name && typeof (v as Command).run === "function",
      );
      if (found) return found;
    } catch {
      // no such file (or it failed to load): the registry below decides, and reports real errors
    }
  }
  return (await allCommands()).find((c) => c.name === name);
}

function help(list: Command[]): string {
  const width = Math.max(...list.map((c) => c.name.length), 4);
  const lines = list.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return ["usage: liquid COMMAND [ARGS...]", "", "commands:", ...lines, "", "liquid help COMMAND shows a command's options."].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    const target = rest[0] ? await findCommand(rest[0]) : undefined;
    console.log(target ? target.usage : help(await allCommands()));
    return 0;
  }
  const command = await findCommand(name);
  if (!command) {
    console.error(`liquid: unknown command '${name}'\n\n${help(await allCommands())}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`liquid ${name}: ${err.message}\n\n${command.usage}`);
      return 2;
    }
    if (err instanceof CliError) {
      console.error(`liquid ${name}: ${err.message}`);
      return err.exitCode;
    }
    throw err;
  }
}
