/**
 * Incremental builds: most of a cold `liquid build` is loading the AssemblyScript compiler and
 * binaryen, so an unchanged app is answered from a small record beside its output
 * (build/.NAME.buildinfo.json) without loading either. The record lists every source file the
 * compiler read (app, SDK) with its hash, plus a fingerprint of everything else that shapes the
 * output: options, the HAL spec, liquid.json, the compiler version and this toolchain's own code.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { HAL_SPEC_PATH, LIQUID_ROOT } from "../paths.js";
import { writeFileAtomic } from "./atomic-write.js";
import type { AppManifest } from "./manifest.js";

interface BuildInfo {
  fingerprint: string;
  files: Record<string, string>;
  manifest: AppManifest;
  warnings: string[];
}

function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

function fileHash(path: string): string | undefined {
  try {
    return sha256(readFileSync(path));
  } catch {
    return undefined;
  }
}

let toolchainHash: string | undefined;
/** Hash of the build code itself and the compiler version, so a toolchain change rebuilds. */
function toolchainFingerprint(): string {
  if (toolchainHash) return toolchainHash;
  const h = createHash("sha256");
  const here = dirname(fileURLToPath(import.meta.url));
  for (const f of readdirSync(here).sort()) if (/\.(js|ts)$/.test(f)) h.update(f).update(readFileSync(join(here, f)));
  const asc = join(LIQUID_ROOT, "node_modules", "assemblyscript", "package.json");
  const bin = join(LIQUID_ROOT, "node_modules", "binaryen", "package.json");
  for (const p of [asc, bin, HAL_SPEC_PATH]) h.update(existsSync(p) ? readFileSync(p) : "-");
  toolchainHash = h.digest("hex");
  return toolchainHash;
}

export function buildFingerprint(options: Record<string, unknown>, configPath?: string): string {
  return sha256(
    JSON.stringify({ toolchain: toolchainFingerprint(), options, config: configPath ? (fileHash(configPath) ?? "-") : "none" }),
  );
}

export function buildInfoPath(wasmPath: string): string {
  return join(dirname(wasmPath), `.${basename(wasmPath, ".wasm")}.buildinfo.json`);
}

/** The cached manifest and warnings when nothing that shapes the output changed, else undefined. */
export function readCachedBuild(
  wasmPath: string,
  manifestPath: string,
  fingerprint: string,
): { manifest: AppManifest; warnings: string[]; wasm: Uint8Array } | undefined {
  try {
    const info = JSON.parse(readFileSync(buildInfoPath(wasmPath), "utf8")) as BuildInfo;
    if (info.fingerprint !== fingerprint) return undefined;
    for (const [path, hash] of Object.entries(info.files)) if (fileHash(path) !== hash) return undefined;
    const wasm = new Uint8Array(readFileSync(wasmPath));
    if (sha256(wasm) !== info.manifest.sha256) return undefined;
    if (readFileSync(manifestPath, "utf8") !== `${JSON.stringify(info.manifest, null, 2)}\n`) return undefined;
    return { manifest: info.manifest, warnings: info.warnings, wasm };
  } catch {
    return undefined;
  }
}

export function writeBuildInfo(wasmPath: string, fingerprint: string, files: string[], manifest: AppManifest, warnings: string[]): void {
  const record: BuildInfo = { fingerprint, files: {}, manifest, warnings };
  for (const f of files) {
    const h = fileHash(f);
    if (h) record.files[f] = h;
  }
  writeFileAtomic(buildInfoPath(wasmPath), `${JSON.stringify(record, null, 1)}\n`);
}
