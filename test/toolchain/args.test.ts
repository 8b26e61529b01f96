// The shared option parser: every command relies on it refusing what it does not know.
import { describe, expect, it } from "vitest";
import { type OptionSpec, UsageError, flag, opt, opts, parseArgs } from "../../compiler/src/args.js";

const specs: OptionSpec[] = [
  { name: "out", short: "o", value: true },
  { name: "debug", value: false },
  { name: "set", value: true, repeat: true },
];

describe("parseArgs", () => {
  it("reads long, short, inline and repeated options around positionals", () => {
    const a = parseArgs(["app", "-o", "x.wasm", "--debug", "--set=A=1", "--set", "B=2", "more"], specs);
    expect(a.positionals).toEqual(["app", "more"]);
    expect(opt(a, "out")).toBe("x.wasm");
    expect(flag(a, "debug")).toBe(true);
    expect(opts(a, "set")).toEqual(["A=1", "B=2"]);
    expect(flag(a, "set")).toBe(true);
    expect(opt(a, "missing")).toBeUndefined();
    expect(opts(a, "missing")).toEqual([]);
  });

  it("treats everything after -- as positionals, and a lone - as a positional", () => {
    const a = parseArgs(["--", "--debug", "-o"], specs);
    expect(a.positionals).toEqual(["--debug", "-o"]);
    expect(parseArgs(["-"], specs).positionals).toEqual(["-"]);
  });

  it("allows an option value that looks like an option", () => {
    expect(opt(parseArgs(["--out", "--weird.wasm"], specs), "out")).toBe("--weird.wasm");
  });

  it.each([
    [["--verbose"], "unknown option --verbose"],
    [["-x"], "unknown option -x"],
    [["--out"], "option --out needs a value"],
    [["--debug=yes"], "option --debug takes no value"],
    [["-o", "a", "--out", "b"], "option --out given twice"],
  ])("refuses %j: %s", (argv, message) => {
    expect(() => parseArgs(argv, specs)).toThrow(UsageError);
    expect(() => parseArgs(argv, specs)).toThrow(message);
  });
});
