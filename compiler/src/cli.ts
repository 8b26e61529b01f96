import { UsageError } from "./args.js";
import { CliError, type Command } from "./command.js";
import { commands } from "./commands/index.js";

function help(list: Command[]): string {
  const width = Math.max(...list.map((c) => c.name.length), 4);
  const lines = list.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return ["usage: liquid COMMAND [ARGS...]", "", "commands:", ...lines, "", "liquid help COMMAND shows a command's options."].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    const target = rest[0] && commands.find((c) => c.name === rest[0]);
    console.log(target ? target.usage : help(commands));
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    console.error(`liquid: unknown command '${name}'\n\n${help(commands)}`);
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
