// The module store's power-fail test (firmware/ports/posix/tests/store_powerfail.c): a
// sequence of installs, replacements, removals, a compaction and a full-store error, with the
// power cut at every flash operation in turn; the store must come back with the last committed
// state every time.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { POSIX_BUILD } from "../helpers/native-build.js";

const BIN = join(POSIX_BUILD, "firmware", "ports", "posix", "liquid_store_powerfail");

describe("module store on flash", () => {
  test("recovers the last committed state after a power cut at every flash operation", () => {
    const out = execFileSync(BIN, { encoding: "utf8" });
    const m = /store power-fail: (\d+) cut points tested, (\d+) torn, (\d+) failures/.exec(out);
    expect(m, out).not.toBeNull();
    const [cuts, torn, failures] = [Number(m![1]), Number(m![2]), Number(m![3])];
    console.log(`store power-fail: ${cuts} cut points tested`);
    expect(failures).toBe(0);
    expect(cuts).toBeGreaterThan(300);
    expect(torn).toBe(cuts - 1); // every cut but the one past the end interrupted an operation
    // a full store is a clear error, and loses nothing (checked by the program)
    expect(out).toMatch(/full store reports: store full: \d+ bytes free, \d+ needed/);
    // an upload interrupted by a reboot continues from the bytes already on flash
    const resumed = /upload resumed after a reboot at byte (\d+) of (\d+)/.exec(out);
    expect(resumed, out).not.toBeNull();
    expect(Number(resumed![1])).toBeGreaterThan(0);
  });
});
