import { describe, expect, it } from "vitest";
import { maxSatisfying, parseModuleSpec, parseRange, satisfies } from "../../hub/src/semver.js";

describe("version ranges", () => {
  const versions = ["0.9.0", "1.0.0", "1.2.3", "1.4.0", "1.4.1-beta.1", "2.0.0", "2.1.5"];
  it.each([
    ["^1", "1.4.0"],
    ["^1.2", "1.4.0"],
    ["~1.2.0", "1.2.3"],
    ["1.x", "1.4.0"],
    ["*", "2.1.5"],
    [">=1.2.3 <2", "1.4.0"],
    ["1.0.0 - 1.2.3", "1.2.3"],
    ["^0.9", "0.9.0"],
    ["<1", "0.9.0"],
    ["2.0.0", "2.0.0"],
    ["^3 || ~1.0", "1.0.0"],
    [">=1.4.1-beta.0 <1.5", "1.4.1-beta.1"],
  ])("%s picks %s", (range, want) => {
    expect(maxSatisfying(versions, range)).toBe(want);
  });

  it("pre-releases match only ranges that name them", () => {
    expect(satisfies("1.4.1-beta.1", "^1")).toBe(false);
    expect(satisfies("1.4.1-beta.1", ">=1.4.1-beta.0")).toBe(true);
  });

  it("no match is null, a bad range is an error naming it", () => {
    expect(maxSatisfying(versions, "^4")).toBeNull();
    expect(() => parseRange("^1.q")).toThrow(/invalid version range '\^1.q'/);
  });

  it("splits name@range", () => {
    expect(parseModuleSpec("bme280@^1")).toEqual({ name: "bme280", range: "^1" });
    expect(parseModuleSpec("tmp105")).toEqual({ name: "tmp105", range: "*" });
  });
});
