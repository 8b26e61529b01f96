/**
 * A small, strict option parser shared by every command: `--flag`, `--opt value`,
 * `--opt=value`, `-o value`, repeated options, and positionals. Unknown options are errors,
 * so a typo never silently changes what a command does.
 */
export interface OptionSpec {
  /** Long name without dashes, e.g. "board". */
  name: string;
  /** Optional one-letter alias, e.g. "o". */
  short?: string;
  /** true: takes a value; false: boolean flag. */
  value: boolean;
  /** May be given several times (values collected in order). */
  repeat?: boolean;
}

export interface ParsedArgs {
  positionals: string[];
  options: Map<string, string[]>;
}

export class UsageError extends Error {}

export function parseArgs(argv: string[], specs: OptionSpec[]): ParsedArgs {
  const byLong = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  const positionals: string[] = [];
  const options = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let spec: OptionSpec | undefined;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
      spec = byLong.get(name);
      if (!spec) throw new UsageError(`unknown option --${name}`);
    } else if (arg.startsWith("-") && arg.length === 2 && arg !== "-") {
      spec = byShort.get(arg.slice(1));
      if (!spec) throw new UsageError(`unknown option ${arg}`);
    } else {
      positionals.push(arg);
      continue;
    }
    let value = "true";
    if (spec.value) {
      if (inline !== undefined) value = inline;
      else if (i + 1 < argv.length) value = argv[++i]!;
      else throw new UsageError(`option --${spec.name} needs a value`);
    } else if (inline !== undefined) {
      throw new UsageError(`option --${spec.name} takes no value`);
    }
    const list = options.get(spec.name) ?? [];
    if (list.length && !spec.repeat) throw new UsageError(`option --${spec.name} given twice`);
    list.push(value);
    options.set(spec.name, list);
  }
  return { positionals, options };
}

export function opt(args: ParsedArgs, name: string): string | undefined {
  return args.options.get(name)?.[0];
}

export function flag(args: ParsedArgs, name: string): boolean {
  return args.options.has(name);
}

export function opts(args: ParsedArgs, name: string): string[] {
  return args.options.get(name) ?? [];
}
