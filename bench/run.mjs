#!/usr/bin/env node
// Benchmarks the Liquid engine against native code and Node/V8 in one run.
//
//   npm run bench [-- --only fib,crc32] [-- --repeat 3]
//
// Every workload in bench/workloads/ is one C file exporting `int run(int n)`. It is compiled
// to wasm32 with clang-14 + wasm-ld-14 and natively with gcc -O2; some also have an
// AssemblyScript twin in bench/workloads/as/ (asc -O3, rows named as-NAME) measured against
// the same native C build. Each is timed:
//   native     the gcc build (best of --repeat runs)
//   liquid-vm  the Release engine build in build/posix-release (best of --repeat runs; the
//              call's time from `liquid-vm --stats`, excluding load and instantiation)
//   node       V8 in this Node process (best of --repeat calls after one warm-up call, so
//              V8 has tiered up to its optimizing compiler)
// Times are CPU time of the measuring process around the call only, not wall time: the
// machine is shared, and CPU time does not grow while other jobs hold the cores.
// All three must return the same checksum, or the run fails. Prints per-workload ratios and
// their geometric mean.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const WORKLOADS_DIR = join(ROOT, "bench", "workloads");
const OUT = join(ROOT, "build", "bench");
const RELEASE = join(ROOT, "build", "posix-release");
const LIQUID_VM = join(RELEASE, "firmware", "engine", "vm", "liquid-vm");

/** Workloads and the n that makes each take tens of milliseconds natively. */
export const WORKLOADS = [
  { name: "crc32", kind: "integer", n: 1500 },
  { name: "sieve", kind: "integer", n: 30 },
  { name: "sort", kind: "memory", n: 15 },
  { name: "fib", kind: "calls", n: 35 },
  { name: "nbody", kind: "float", n: 500000 },
  { name: "matmul", kind: "float", n: 1000 },
  { name: "interp", kind: "dispatch", n: 1500000 },
  // AssemblyScript twins (bench/workloads/as/), the language Liquid apps are written in; their
  // native baseline is the C build of the same algorithm, and the checksums must agree.
  { name: "fib", lang: "as", kind: "calls", n: 35 },
  { name: "crc32", lang: "as", kind: "integer", n: 1500 },
  { name: "sieve", lang: "as", kind: "integer", n: 30 },
];

function parseArgs(argv) {
  const opts = { only: null, repeat: 3 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--only") opts.only = new Set(argv[++i].split(","));
    else if (argv[i] === "--repeat") opts.repeat = Math.max(1, Number(argv[++i]));
    else throw new Error(`bench: unknown argument '${argv[i]}' (use --only a,b or --repeat N)`);
  }
  return opts;
}

function run(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 16 << 20, ...opts });
}

function buildEngine() {
  run("cmake", ["-S", ROOT, "-B", RELEASE, "-DCMAKE_BUILD_TYPE=Release", "-DLIQUID_SANITIZE=OFF"]);
  run("cmake", ["--build", RELEASE, "-j2", "--target", "liquid-vm"]);
}

function buildWorkload(name) {
  mkdirSync(OUT, { recursive: true });
  const src = join(WORKLOADS_DIR, `${name}.c`);
  const obj = join(OUT, `${name}.o`);
  const libc = join(OUT, "bench_libc.o");
  const wasm = join(OUT, `${name}.wasm`);
  const native = join(OUT, `${name}.native`);
  run("clang-14", ["--target=wasm32", "-O2", "-c", src, "-o", obj]);
  // memcpy/memset that clang may emit calls to; -fno-builtin keeps them from calling themselves.
  run("clang-14", ["--target=wasm32", "-O2", "-fno-builtin", "-c", join(WORKLOADS_DIR, "bench_libc.c"), "-o", libc]);
  run("wasm-ld-14", ["--no-entry", "--export=run", "-o", wasm, obj, libc]);
  run("gcc", ["-O2", "-std=c99", "-o", native, src, join(WORKLOADS_DIR, "native_main.c"), "-lm"]);
  return { wasm, native };
}

function buildAssemblyScript(name) {
  mkdirSync(OUT, { recursive: true });
  const wasm = join(OUT, `as-${name}.wasm`);
  run(join(ROOT, "node_modules", ".bin", "asc"), [join(WORKLOADS_DIR, "as", `${name}.ts`), "-O3", "--runtime", "stub", "--noAssert", "-o", wasm]);
  return wasm;
}

function timeNative(native, n) {
  const out = run(native, [String(n)]);
  return { result: Number(/^result (-?\d+)$/m.exec(out)[1]), ms: Number(/^cpu_ms ([\d.]+)$/m.exec(out)[1]) };
}

function timeEngine(wasm, n) {
  // The result is on stdout, the --stats timing on stderr.
  const p = spawnSync(LIQUID_VM, [wasm, "--invoke", "run", `i32:${n}`, "--stats"], { encoding: "utf8" });
  if (p.status !== 0) throw new Error(`liquid-vm failed (${p.status}): ${p.stderr}`);
  const result = Number(/^i32:(-?\d+)$/m.exec(p.stdout)?.[1]);
  const ms = Number(/call cpu ([\d.]+) ms/.exec(p.stderr)?.[1]);
  const m = /load ([\d.]+) ms, instantiate ([\d.]+) ms/.exec(p.stderr);
  return { result, ms, loadMs: Number(m?.[1]), instantiateMs: Number(m?.[2]) };
}

async function timeNode(wasm, n, repeat) {
  const module = await WebAssembly.compile(readFileSync(wasm));
  const instance = await WebAssembly.instantiate(module, {});
  const runFn = instance.exports.run;
  runFn(n); // warm-up: lets V8 tier up from Liftoff to TurboFan
  let best = Infinity;
  let result = 0;
  for (let i = 0; i < repeat; i++) {
    const c0 = process.cpuUsage();
    result = runFn(n);
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / 1000);
  }
  return { result, ms: best };
}

function best(fn, repeat) {
  let b = null;
  for (let i = 0; i < repeat; i++) {
    const r = fn();
    if (b === null || r.ms < b.ms) b = r;
    if (b.result !== r.result) throw new Error("non-deterministic result");
  }
  return b;
}

const geomean = (xs) => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);
const pad = (s, w) => String(s).padStart(w);

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  process.stdout.write("building liquid-vm (Release) and the workloads...\n");
  buildEngine();
  const chosen = WORKLOADS.filter((w) => !opts.only || opts.only.has(w.name));
  if (chosen.length === 0) throw new Error("bench: --only matched no workload");
  const rows = [];
  const nativeTimes = new Map();
  let mismatch = false;
  for (const w of chosen) {
    const { wasm: cWasm, native } = buildWorkload(w.name);
    const wasm = w.lang === "as" ? buildAssemblyScript(w.name) : cWasm;
    const label = w.lang === "as" ? `as-${w.name}` : w.name;
    // An AssemblyScript twin reuses its C workload's native time (same binary, same n).
    const key = `${w.name}:${w.n}`;
    const nat = nativeTimes.get(key) ?? best(() => timeNative(native, w.n), opts.repeat);
    nativeTimes.set(key, nat);
    const vm = best(() => timeEngine(wasm, w.n), opts.repeat);
    const v8 = await timeNode(wasm, w.n, opts.repeat);
    const same = nat.result === vm.result && vm.result === v8.result;
    if (!same) mismatch = true;
    rows.push({ ...w, wasm, nat, vm, v8, same });
    process.stdout.write(
      `${label.padEnd(9)} ${w.kind.padEnd(9)} n=${String(w.n).padEnd(8)} native ${pad(nat.ms.toFixed(1), 8)} ms  ` +
        `liquid-vm ${pad(vm.ms.toFixed(1), 9)} ms  node ${pad(v8.ms.toFixed(1), 8)} ms  ` +
        `vm/native ${pad((vm.ms / nat.ms).toFixed(1), 6)}x  vm/node ${pad((vm.ms / v8.ms).toFixed(1), 6)}x` +
        `${same ? "" : `  RESULT MISMATCH native=${nat.result} vm=${vm.result} node=${v8.result}`}\n`,
    );
  }
  const gVmNative = geomean(rows.map((r) => r.vm.ms / r.nat.ms));
  const gVmNode = geomean(rows.map((r) => r.vm.ms / r.v8.ms));
  const gNodeNative = geomean(rows.map((r) => r.v8.ms / r.nat.ms));
  process.stdout.write(
    `geomean over ${rows.length} workloads: liquid-vm/native ${gVmNative.toFixed(2)}x, ` +
      `liquid-vm/node ${gVmNode.toFixed(2)}x, node/native ${gNodeNative.toFixed(2)}x\n`,
  );
  const ready = rows.map((r) => r.vm.loadMs + r.vm.instantiateMs);
  process.stdout.write(
    `liquid-vm load + instantiate (wall time): ${Math.min(...ready).toFixed(2)}–${Math.max(...ready).toFixed(2)} ms per module ` +
      `(${Math.min(...rows.map((r) => statSync(r.wasm).size))}–${Math.max(...rows.map((r) => statSync(r.wasm).size))} bytes of wasm)\n`,
  );
  const results = {
    date: new Date().toISOString(),
    unit: "ms of CPU time around the call, best of --repeat",
    workloads: rows.map((r) => ({
      name: r.lang === "as" ? `as-${r.name}` : r.name, kind: r.kind, n: r.n, checksum: r.vm.result,
      native: r.nat.ms, liquidVm: r.vm.ms, node: r.v8.ms, sameChecksum: r.same,
      wasmBytes: statSync(r.wasm).size, liquidVmLoadMs: r.vm.loadMs, liquidVmInstantiateMs: r.vm.instantiateMs,
    })),
    geomean: { liquidVmOverNative: gVmNative, liquidVmOverNode: gVmNode, nodeOverNative: gNodeNative },
  };
  writeFileSync(join(OUT, "results.json"), JSON.stringify(results, null, 2) + "\n");
  process.stdout.write(`results written to ${join("build", "bench", "results.json")}\n`);
  if (mismatch) {
    process.stderr.write("bench: the engines disagree on a checksum (see RESULT MISMATCH above)\n");
    process.exitCode = 1;
  }
}

main().catch((e) => {
  process.stderr.write(`bench: ${e.stderr ?? ""}${e.message}\n`);
  process.exitCode = 1;
});
