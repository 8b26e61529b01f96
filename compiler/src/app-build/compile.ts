/**
 * Runs the AssemblyScript compiler in-process. The SDK is served as the package "liquid"
 * (`import { Pin } from "liquid"`) by mapping a virtual package folder onto sdk/, so apps need
 * no node_modules and no configuration. Diagnostics are collected as data and rendered as
 * FILE:LINE:COLUMN lines by the caller.
 */
import { readFileSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import type binaryenType from "binaryen";
import { SDK_DIR } from "../paths.js";

/** Where asc looks for packages; never exists on disk: reads under it are served from sdk/. */
const VIRTUAL_PACKAGES = join(SDK_DIR, "..", ".liquid-packages");
const PACKAGE_NAME = "liquid";
/** The abort handler library (see sdk/runtime/liquid_abort.ts). */
const ABORT_LIB = join(SDK_DIR, "runtime", "liquid_abort.ts");
const ABORT_FUNCTION = "~lib/liquid_abort/liquid_abort";

export interface CompileOptions {
  entry: string;
  baseDir: string;
  /** Memory pages, initial = maximum. */
  pages: number;
  /** Debug build: no optimisation, names kept. */
  debug: boolean;
  /** Import the memory ("env"."memory") instead of defining it: a shared-everything library. */
  importMemory?: boolean;
  /** Where static data starts (asc --memoryBase): a shared library's sentinel base, see library.ts. */
  memoryBase?: number;
  /** Export the stub allocator's heap pointer as HEAP_POINTER_EXPORT (apps: see postprocess.ts). */
  exportHeapPointer?: boolean;
  /**
   * A shared-everything library (ABI v2, docs/linking.md): its stub allocator's block functions
   * become imports of the app's ("env"."__lq_alloc" ...), and it imports the app's function
   * table with its entries at SHARED_TABLE_BASE (library.ts relocates them).
   */
  sharedLibrary?: boolean;
  /**
   * An app that imports a library (an `@external("NAME@RANGE", ...)` function) or calls
   * `modules.load` exports its allocator and its table for shared libraries to use; other apps
   * are left exactly as they were.
   */
  shareWithLibraries?: boolean;
}

/** The stub runtime's bump pointer, by its name before optimisation strips names. */
const STUB_HEAP_POINTER = "~lib/rt/stub/offset";
/** The temporary export that marks the heap pointer through optimisation; postprocess.ts renames it. */
export const HEAP_POINTER_EXPORT = "__lq_heap";
/** Where a shared library's table entries start before relocation (asc --tableBase): binaryen
 * cannot handle a bigger table base, and no app has a table this large. */
export const SHARED_TABLE_BASE = 0x5a5a00;
/** The stub runtime's block-level allocator functions (by name before optimisation) and the
 * "env" imports a shared library calls instead: the app's own, which it exports by these names. */
export const SHARED_ALLOCATOR: readonly (readonly [internal: string, exported: string])[] = [
  ["~lib/rt/stub/__alloc", "__lq_alloc"],
  ["~lib/rt/stub/__realloc", "__lq_realloc"],
  ["~lib/rt/stub/__free", "__lq_free"],
];
/** Compiled into an app that imports a library: its allocator's block functions as exports. A
 * separate source, so the user's line numbers do not move; AssemblyScript declares the builtins. */
const SHARE_SOURCE = "__liquid_shared_abi.ts";
const SHARE_TEXT = `export function __lq_alloc(size: usize): usize { return __alloc(size); }
export function __lq_realloc(ptr: usize, size: usize): usize { return __realloc(ptr, size); }
export function __lq_free(ptr: usize): void { __free(ptr); }
`;
/** A call of the explicit linking API's load (sdk/modules.ts) in an app's source. */
const EXPLICIT_LOAD = /\bmodules\s*\.\s*load\s*\(/;
/** An import module naming a library: NAME@RANGE (as the linkers parse it). */
const LIBRARY_REF = /^[a-z0-9][a-z0-9._-]{0,63}@\S+$/;

interface AstNode {
  decorators?: { name?: { text?: string }; args?: { value?: unknown }[] | null }[] | null;
  members?: AstNode[] | null;
  name?: { text?: string } | null;
}

/** Whether any statement (also inside namespaces and classes) is `@external("NAME@RANGE", ...)`. */
function importsLibrary(statements: readonly AstNode[] | null | undefined): boolean {
  for (const s of statements ?? []) {
    for (const d of s.decorators ?? []) {
      const module = d.args?.[0]?.value;
      if (d.name?.text === "external" && typeof module === "string" && LIBRARY_REF.test(module)) return true;
    }
    if (importsLibrary(s.members)) return true;
  }
  return false;
}

export interface Diagnostic {
  category: "error" | "warning" | "info";
  code: number;
  message: string;
  /** Absolute file path when known (SDK and app files), else the compiler's name for it. */
  file?: string;
  line?: number;
  column?: number;
  /** The source line the diagnostic points at, for a caret display. */
  sourceLine?: string;
}

export interface CompileResult {
  wasm?: Uint8Array;
  diagnostics: Diagnostic[];
  /** Absolute paths of the app's own source files the compiler read (not SDK, not std). */
  appFiles: string[];
  /** Every file read from disk (app and SDK), for incremental builds. */
  readFiles: string[];
  /** "module.name" of each function import → absolute path of the file declaring it. */
  importOrigins: Map<string, string>;
  /** A failure that is not a diagnostic (e.g. the compiler itself failed), as text. */
  failure?: string;
}

type AscModule = typeof import("assemblyscript/asc");
let ascPromise: Promise<AscModule> | undefined;
/** Loading the compiler (and binaryen) takes most of a first build; do it once per process. */
function loadAsc(): Promise<AscModule> {
  ascPromise ??= import("assemblyscript/asc");
  return ascPromise;
}

/** binaryen as the compiler uses it (the same module instance, loaded once). */
export async function loadBinaryen(): Promise<typeof binaryenType> {
  return (await import("binaryen")).default;
}

function lineAndColumn(text: string, offset: number): { line: number; column: number; sourceLine: string } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  const end = text.indexOf("\n", lineStart);
  return { line, column: offset - lineStart + 1, sourceLine: text.slice(lineStart, end < 0 ? text.length : end).replace(/\r$/, "") };
}

/**
 * binaryen's pass options (optimise/shrink level, debug info, stack IR) are process-wide and
 * asc.main sets them per run. Builds are CPU-bound anyway, so running them one at a time costs
 * nothing and rules out one build's settings leaking into another's.
 */
let queue: Promise<unknown> = Promise.resolve();

export function compileApp(options: CompileOptions): Promise<CompileResult> {
  const run = queue.then(() => compileOnce(options));
  queue = run.catch(() => undefined);
  return run;
}

async function compileOnce(options: CompileOptions): Promise<CompileResult> {
  const asc = await loadAsc();
  const binaryen = await loadBinaryen();
  const baseDir = options.baseDir;
  const packageDir = join(VIRTUAL_PACKAGES, PACKAGE_NAME);
  /** Compiler-visible path → absolute file, for mapping diagnostics back to real files. */
  const realPaths = new Map<string, string>();
  const texts = new Map<string, string>();
  const appFiles = new Set<string>();
  const readFiles = new Set<string>();
  const importOrigins = new Map<string, string>();
  const diagnostics: Diagnostic[] = [];
  let wasm: Uint8Array | undefined;
  let stderrText = "";

  const toReal = (abs: string): string => {
    if (abs === packageDir || abs.startsWith(packageDir + sep)) return join(SDK_DIR, relative(packageDir, abs));
    return abs;
  };

  const readFile = (filename: string, dir: string): string | null => {
    const real = toReal(resolve(dir, filename));
    try {
      const text = readFileSync(real, "utf8");
      texts.set(real, text);
      readFiles.add(real);
      if (!real.startsWith(SDK_DIR + sep)) appFiles.add(real);
      return text;
    } catch {
      return null;
    }
  };

  // Compiler names: "app.ts" (relative to baseDir), "~lib/liquid/gpio.ts" (SDK),
  // "~lib/liquid_abort.ts" (the abort library), "~lib/array.ts" (std, not on disk).
  const realOf = (normalized: string): string | undefined => {
    if (normalized.startsWith(`~lib/${PACKAGE_NAME}/`)) return join(SDK_DIR, normalized.slice(`~lib/${PACKAGE_NAME}/`.length));
    if (normalized === "~lib/liquid_abort.ts") return ABORT_LIB;
    if (normalized.startsWith("~lib/")) return undefined;
    return resolve(baseDir, normalized);
  };

  /** Set after parsing: the app imports a library, so it shares its allocator and table. */
  let sharing = false;
  /** A name of SHARED_ALLOCATOR the app declares itself (the build then fails). */
  let reserved: string | undefined;
  const transform = {
    afterParse(parser: { sources: { sourceKind: number; statements: AstNode[]; text?: string }[]; parseFile(text: string, path: string, isEntry: boolean): void }) {
      if (!options.shareWithLibraries) return;
      // sourceKind 0/1: the user's files (2/3: the standard library), where @external is written.
      const user = parser.sources.filter((s) => s.sourceKind <= 1);
      // modules.load: the explicit API links libraries the app does not import by name.
      sharing = user.some((s) => importsLibrary(s.statements) || EXPLICIT_LOAD.test(s.text ?? ""));
      if (!sharing) return;
      // The app's own top-level __lq_alloc would silently hand libraries another allocator.
      const exported = new Set(SHARED_ALLOCATOR.map(([, name]) => name));
      reserved = user.flatMap((s) => s.statements).map((st) => st.name?.text).find((n) => n !== undefined && exported.has(n));
      if (!reserved) parser.parseFile(SHARE_TEXT, SHARE_SOURCE, true);
    },
    afterInitialize(program: { options: { exportTable: boolean } }) {
      if (sharing) program.options.exportTable = true;
    },
    afterCompile(module: binaryenType.Module) {
      // Internal function names start with the declaring file ("app/foo", "~lib/liquid/gpio/gpio_open"),
      // which the optimiser later strips: remember each import's origin for error messages now.
      for (let i = 0; i < module.getNumFunctions(); i++) {
        const info = binaryen.getFunctionInfo(module.getFunctionByIndex(i));
        if (!info.module || !info.base) continue;
        const file = realOf(info.name.slice(0, info.name.lastIndexOf("/")) + ".ts");
        if (file) importOrigins.set(`${info.module}.${info.base}`, file);
      }
      // Names are gone after optimisation: an export is the one mark that survives it.
      if (options.exportHeapPointer && module.getGlobal(STUB_HEAP_POINTER)) module.addGlobalExport(STUB_HEAP_POINTER, HEAP_POINTER_EXPORT);
      // A shared library allocates in the app's heap with the app's allocator: its own stub
      // functions become imports under the same internal names, so every caller stays valid, and
      // the optimiser then drops its heap pointer and memory.grow.
      if (options.sharedLibrary) {
        for (const [internal, exported] of SHARED_ALLOCATOR) {
          const fn = module.getFunction(internal);
          if (!fn) continue;
          const info = binaryen.getFunctionInfo(fn);
          module.removeFunction(internal);
          module.addFunctionImport(internal, "env", exported, info.params, info.results);
        }
      }
    },
  };

  const args = [
    relative(baseDir, options.entry),
    "--outFile",
    "app.wasm",
    "--runtime",
    "stub",
    // an imported memory accepts any app's: at least nothing, no maximum
    ...(options.importMemory ? ["--initialMemory", "0"] : ["--initialMemory", String(options.pages), "--maximumMemory", String(options.pages)]),
    "--path",
    VIRTUAL_PACKAGES,
    "--lib",
    ABORT_LIB,
    "--use",
    `abort=${ABORT_FUNCTION}`,
    ...(options.importMemory ? ["--importMemory"] : []),
    ...(options.memoryBase !== undefined ? ["--memoryBase", String(options.memoryBase)] : []),
    ...(options.sharedLibrary ? ["--importTable", "--tableBase", String(SHARED_TABLE_BASE)] : []),
    "--noColors",
    "--baseDir",
    baseDir,
    ...(options.debug ? ["--debug"] : ["--optimizeLevel", "3", "--shrinkLevel", "2", "--converge", "--noAssert"]),
  ];

  const result = await asc.main(args, {
    readFile,
    writeFile(name: string, contents: Uint8Array | string) {
      if (name.endsWith("app.wasm") && typeof contents !== "string") wasm = contents;
    },
    listFiles() {
      return [];
    },
    stdout: asc.createMemoryStream(),
    stderr: asc.createMemoryStream((chunk: Uint8Array | string) => {
      stderrText += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    }),
    reportDiagnostic(d: {
      message: string;
      code: number;
      category: number;
      range: { start: number; end: number; source: { normalizedPath: string } | null } | null;
    }) {
      const category = d.category === 3 ? "error" : d.category === 2 ? "warning" : "info";
      const diag: Diagnostic = { category, code: d.code, message: d.message };
      const normalized = d.range?.source?.normalizedPath;
      if (normalized !== undefined && d.range) {
        const real = realOf(normalized);
        diag.file = real ?? normalized;
        const text = real ? (texts.get(real) ?? safeRead(real)) : undefined;
        if (text !== undefined) Object.assign(diag, lineAndColumn(text, d.range.start));
      }
      diagnostics.push(diag);
    },
    transforms: [transform],
  } as unknown as Parameters<AscModule["main"]>[1]);

  const out: CompileResult = { diagnostics, appFiles: [...appFiles].sort(), readFiles: [...readFiles].sort(), importOrigins };
  if (reserved) {
    out.failure = `the app declares ${reserved}, a name liquid build reserves in apps that import a library: it exports the app's allocator under it for shared libraries (docs/linking.md); rename it`;
    return out;
  }
  if (result.error) {
    if (!diagnostics.some((d) => d.category === "error")) out.failure = (stderrText.trim() || result.error.message).trim();
    return out;
  }
  if (!wasm) {
    out.failure = "the AssemblyScript compiler produced no module";
    return out;
  }
  out.wasm = wasm;
  return out;
}

function safeRead(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** Renders a diagnostic as `FILE:LINE:COLUMN: error TS1005: message`, then the line and a caret. */
export function formatDiagnostic(d: Diagnostic, cwd = process.cwd()): string {
  const file = d.file ? (d.file.startsWith("~lib/") ? d.file : relative(cwd, d.file) || d.file) : "<compiler>";
  const where = d.line !== undefined ? `${file}:${d.line}:${d.column}` : file;
  const head = `${where}: ${d.category} TS${d.code}: ${d.message}`;
  if (d.sourceLine === undefined || d.column === undefined) return head;
  const caretPad = d.sourceLine.slice(0, d.column - 1).replace(/[^\t]/g, " ");
  return `${head}\n    ${d.sourceLine}\n    ${caretPad}^`;
}
