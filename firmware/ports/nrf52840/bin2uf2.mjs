#!/usr/bin/env node
// bin2uf2.mjs — converts a raw firmware image (objcopy -O binary) into UF2 for a USB mass
// storage bootloader, e.g. the Adafruit nRF52 bootloader (family 0xADA52840).
//   node bin2uf2.mjs IN.bin OUT.uf2 --base 0x26000 [--family 0xADA52840]
// Plain Node ESM with no dependencies so the CMake build can run it without a TypeScript
// compile step. UF2 block layout (Microsoft's spec): 512 bytes = 8 header words, 476 data
// bytes of which 256 are used, the end magic; flag 0x2000 says the size field holds a family.
import { readFileSync, writeFileSync } from "node:fs";

const MAGIC_START0 = 0x0a324655;
const MAGIC_START1 = 0x9e5d5157;
const MAGIC_END = 0x0ab16f30;
const FLAG_FAMILY_ID_PRESENT = 0x00002000;
const PAYLOAD = 256;

function fail(message) {
  process.stderr.write(`bin2uf2: ${message}\n`);
  process.exit(2);
}

function parseNumber(text, what) {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) fail(`bad ${what}: ${text}`);
  return value;
}

const args = process.argv.slice(2);
const positional = [];
let base;
let family = 0xada52840;
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--base") base = parseNumber(args[++i], "--base");
  else if (args[i] === "--family") family = parseNumber(args[++i], "--family");
  else positional.push(args[i]);
}
if (positional.length !== 2 || base === undefined) fail("usage: bin2uf2.mjs IN.bin OUT.uf2 --base ADDR [--family ID]");
if (base % PAYLOAD !== 0) fail(`--base 0x${base.toString(16)} is not a multiple of ${PAYLOAD}`);

const image = readFileSync(positional[0]);
if (image.length === 0) fail(`${positional[0]} is empty`);
const blocks = Math.ceil(image.length / PAYLOAD);
const out = Buffer.alloc(blocks * 512);
for (let n = 0; n < blocks; n++) {
  const at = n * 512;
  out.writeUInt32LE(MAGIC_START0, at);
  out.writeUInt32LE(MAGIC_START1, at + 4);
  out.writeUInt32LE(FLAG_FAMILY_ID_PRESENT, at + 8);
  out.writeUInt32LE(base + n * PAYLOAD, at + 12);
  out.writeUInt32LE(PAYLOAD, at + 16);
  out.writeUInt32LE(n, at + 20);
  out.writeUInt32LE(blocks, at + 24);
  out.writeUInt32LE(family, at + 28);
  out.fill(0xff, at + 32, at + 32 + PAYLOAD); // the tail of the last block reads as erased flash
  image.copy(out, at + 32, n * PAYLOAD, Math.min(image.length, (n + 1) * PAYLOAD));
  out.writeUInt32LE(MAGIC_END, at + 508);
}
writeFileSync(positional[1], out);
process.stdout.write(`bin2uf2: ${positional[1]}: ${blocks} blocks at 0x${base.toString(16)}, family 0x${family.toString(16)}\n`);
