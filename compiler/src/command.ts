/** One `liquid` subcommand. Each lives in its own file under compiler/src/commands/. */
export interface Command {
  name: string;
  /** One line for `liquid help`. */
  summary: string;
  /** Usage text shown by `liquid help NAME` and on usage errors. */
  usage: string;
  /** Runs the command; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}

/** An error whose message is meant for the user as is (no stack trace). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
