// The nRF52840 port cannot run here (no nRF52840 model in QEMU 7.2), so this suite proves what
// can be proved without the chip: the full firmware cross-builds and links for both memory
// layouts, fits the chip (sizes printed against 1 MiB flash / 256 KiB RAM), and the .hex and
// .uf2 files hold exactly the linked image at the right addresses with a sane vector table.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HAVE_ARM_GCC, ROOT, buildArmPort } from "./qemu-harness.js";

const title = HAVE_ARM_GCC
  ? "nrf52840 port: cross build, sizes, hex and uf2"
  : "nrf52840 port: cross build (SKIPPED: arm-none-eabi-gcc is not installed)";

const CHIP_FLASH = 1024 * 1024;
const CHIP_RAM = 256 * 1024;
const UF2_MAGIC0 = 0x0a324655;
const UF2_MAGIC1 = 0x9e5d5157;
const UF2_MAGIC_END = 0x0ab16f30;
const BIN2UF2 = join(ROOT, "firmware", "ports", "nrf52840", "bin2uf2.mjs");

/** Section sizes from `arm-none-eabi-size -A`. */
function sections(elf: string): Map<string, { size: number; addr: number }> {
  const out = execFileSync("arm-none-eabi-size", ["-A", elf], { encoding: "utf8" });
  const map = new Map<string, { size: number; addr: number }>();
  for (const line of out.split("\n")) {
    const m = /^(\.\S+)\s+(\d+)\s+(\d+)/.exec(line);
    if (m) map.set(m[1]!, { size: Number(m[2]), addr: Number(m[3]) });
  }
  return map;
}

/** Intel HEX → address-sorted bytes; checks every record's checksum. */
function parseHex(text: string): Map<number, number> {
  const bytes = new Map<number, number>();
  let upper = 0;
  for (const [n, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line) continue;
    expect(line[0], `line ${n + 1}`).toBe(":");
    const rec = Buffer.from(line.slice(1), "hex");
    expect(rec.reduce((a, b) => (a + b) & 0xff, 0), `checksum of line ${n + 1}`).toBe(0);
    const len = rec[0]!;
    const addr = rec.readUInt16BE(1);
    const type = rec[3]!;
    const data = rec.subarray(4, 4 + len);
    if (type === 0) data.forEach((b, i) => bytes.set(upper + addr + i, b));
    else if (type === 4) upper = data.readUInt16BE(0) << 16;
    else if (type === 2) upper = data.readUInt16BE(0) << 4;
    else if (type === 1) break;
  }
  return bytes;
}

function symbol(elf: string, name: string): number {
  const out = execFileSync("arm-none-eabi-nm", [elf], { encoding: "utf8" });
  const m = new RegExp(`^([0-9a-f]+) \\w ${name}$`, "m").exec(out);
  if (!m) throw new Error(`${name} not in ${elf}`);
  return parseInt(m[1]!, 16);
}

describe.skipIf(!HAVE_ARM_GCC)(title, () => {
  let dir = "";
  let tmp = "";
  const image = (file: string) => join(dir, "firmware", "ports", "nrf52840", file);

  beforeAll(async () => {
    dir = (await buildArmPort("nrf52840")).dir;
    tmp = mkdtempSync(join(tmpdir(), "lq-nrf-"));
  }, 600_000);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  for (const [elf, layout] of [["liquid-nrf52840.elf", "DK, linked at 0x0"], ["liquid-nrf52840-uf2.elf", "UF2 bootloader, linked at 0x26000"]] as const) {
    it(`${elf} (${layout}) fits the chip: flash and RAM within 1 MiB / 256 KiB`, () => {
      const s = sections(image(elf));
      const size = (name: string) => s.get(name)?.size ?? 0;
      const flash = size(".vectors") + size(".text") + size(".ARM.exidx") + size(".init_array") + size(".data");
      const ram = size(".data") + size(".bss");
      const arena = size(".arena"); // the engine's arena: all RAM the static data leaves
      const store = size(".store");
      const stack = 8 * 1024;
      const heap = 1024;
      const sizeLine = execFileSync("arm-none-eabi-size", [image(elf)], { encoding: "utf8" }).trim().split("\n")[1]!.trim().replace(/\s+\S*\/(\S+)$/, " $1");
      console.log(
        `nrf52840 ${layout}: flash ${flash} B (${((flash / CHIP_FLASH) * 100).toFixed(1)} % of 1 MiB), ` +
          `RAM: ${ram} B static data, ${arena} B engine arena for apps, ${heap} B heap, ${stack} B stack (${ram + arena + heap + stack} of ${CHIP_RAM}), ` +
          `module store ${store / 1024} KiB of flash  [size: ${sizeLine}]`,
      );
      expect(s.get(".vectors")).toBeDefined();
      expect(store).toBe(256 * 1024);
      expect(flash + store).toBeLessThanOrEqual(CHIP_FLASH);
      expect(ram + arena + heap + stack).toBeLessThanOrEqual(CHIP_RAM);
      expect(arena).toBeGreaterThanOrEqual(128 * 1024); // room for two apps' 64 KiB pages
      expect(s.get(".data")!.addr).toBeGreaterThanOrEqual(0x20000000);
    });
  }

  it("the .hex holds the DK image from 0x0: vector table, reset handler, nothing in the store", () => {
    const elf = image("liquid-nrf52840.elf");
    const bytes = parseHex(readFileSync(image("liquid-nrf52840.hex"), "utf8"));
    const bin = readFileSync(image("liquid-nrf52840.bin"));
    const addresses = [...bytes.keys()].sort((a, b) => a - b);
    expect(addresses[0]).toBe(0);
    expect(addresses[addresses.length - 1]).toBe(bin.length - 1);
    expect(addresses.every((a) => a < 0xc0000)).toBe(true); // the store region is not programmed
    for (let i = 0; i < bin.length; i += 997) expect(bytes.get(i)).toBe(bin[i]);
    const word = (a: number) => (bytes.get(a)! | (bytes.get(a + 1)! << 8) | (bytes.get(a + 2)! << 16) | (bytes.get(a + 3)! << 24)) >>> 0;
    expect(word(0)).toBe(0x20040000); // initial stack pointer: top of the 256 KiB RAM
    expect(word(4)).toBe((symbol(elf, "lq_reset_handler") | 1) >>> 0); // thumb bit set
    // the board descriptor is compiled in
    expect(bin.includes(Buffer.from('"name": "nrf52840-dk"'))).toBe(true);
  });

  it("the .uf2 carries the UF2-layout image at 0x26000 for family 0xADA52840, block by block", () => {
    const uf2 = readFileSync(image("liquid-nrf52840.uf2"));
    const bin = readFileSync(image("liquid-nrf52840-uf2.bin"));
    expect(uf2.length % 512).toBe(0);
    const blocks = uf2.length / 512;
    expect(blocks).toBe(Math.ceil(bin.length / 256));
    for (let n = 0; n < blocks; n++) {
      const at = n * 512;
      expect([uf2.readUInt32LE(at), uf2.readUInt32LE(at + 4), uf2.readUInt32LE(at + 508)]).toEqual([UF2_MAGIC0, UF2_MAGIC1, UF2_MAGIC_END]);
      expect(uf2.readUInt32LE(at + 8) & 0x2000).toBe(0x2000); // family id present
      expect(uf2.readUInt32LE(at + 12)).toBe(0x26000 + n * 256);
      expect(uf2.readUInt32LE(at + 16)).toBe(256);
      expect(uf2.readUInt32LE(at + 20)).toBe(n);
      expect(uf2.readUInt32LE(at + 24)).toBe(blocks);
      expect(uf2.readUInt32LE(at + 28)).toBe(0xada52840);
      const payload = uf2.subarray(at + 32, at + 32 + 256);
      const expected = bin.subarray(n * 256, n * 256 + 256);
      expect(payload.subarray(0, expected.length).equals(expected)).toBe(true);
    }
    const elf = image("liquid-nrf52840-uf2.elf");
    expect(uf2.readUInt32LE(32 + 4)).toBe((symbol(elf, "lq_reset_handler") | 1) >>> 0);
    expect(symbol(elf, "lq_reset_handler")).toBeGreaterThan(0x26000);
  });

  it("bin2uf2 refuses bad input with a clear message", () => {
    const run = (args: string[]) => spawnSync("node", [BIN2UF2, ...args], { encoding: "utf8" });
    const empty = join(tmp, "empty.bin");
    writeFileSync(empty, "");
    const one = join(tmp, "one.bin");
    writeFileSync(one, Buffer.from([1, 2, 3]));
    let r = run([one, join(tmp, "x.uf2")]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("usage: bin2uf2.mjs IN.bin OUT.uf2 --base ADDR");
    r = run([one, join(tmp, "x.uf2"), "--base", "0x26001"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--base 0x26001 is not a multiple of 256");
    r = run([empty, join(tmp, "x.uf2"), "--base", "0x26000"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("is empty");
    r = run([one, join(tmp, "x.uf2"), "--base", "banana"]);
    expect(r.stderr).toContain("bad --base: banana");
    // a short image: one block, the tail of the payload reads as erased flash
    r = run([one, join(tmp, "one.uf2"), "--base", "0x1000", "--family", "0x12345678"]);
    expect(r.status).toBe(0);
    const uf2 = readFileSync(join(tmp, "one.uf2"));
    expect(uf2.length).toBe(512);
    expect(uf2.readUInt32LE(28)).toBe(0x12345678);
    expect([...uf2.subarray(32, 36)]).toEqual([1, 2, 3, 0xff]);
  });
});
