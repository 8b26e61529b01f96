// `liquid build` and ABI v2 of shared-everything libraries (docs/linking.md): a shared library
// calls the app's allocator and puts its table entries in the app's table; an app importing a
// library exports its allocator and a growable table; an app importing none is unchanged.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import binaryen from "binaryen";
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../compiler/src/app-build/index.js";

const ROOT = resolve(import.meta.dirname, "..", "..");
const OUT = mkdtempSync(join(tmpdir(), "liquid-abi-test-"));

async function build(path: string, library = false, shared = false): Promise<{ wasm: Uint8Array; imports: string[]; exports: string[] }> {
  const name = path.split("/").pop()!;
  const r = await buildApp(resolve(ROOT, path), { out: join(OUT, `${name}.wasm`), library, shared, force: true });
  if (!r.ok) throw new Error(`build of ${path} failed: ${[...r.errors, ...r.diagnostics.map((d) => d.message)].join("; ")}`);
  const module = new WebAssembly.Module(r.wasm! as BufferSource); // V8 accepts it
  return {
    wasm: r.wasm!,
    imports: WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}:${i.kind}`),
    exports: WebAssembly.Module.exports(module).map((e) => `${e.name}:${e.kind}`),
  };
}

function u32Section(wasm: Uint8Array, name: string): number | undefined {
  const s = WebAssembly.Module.customSections(new WebAssembly.Module(wasm as BufferSource), name);
  return s.length ? new DataView(s[0]!).getUint32(0, true) : undefined;
}

/** The module's text, to look for instructions and limits V8's reflection does not show. */
function text(wasm: Uint8Array): string {
  const mod = binaryen.readBinaryWithFeatures(wasm, binaryen.Features.All);
  try {
    return mod.emitText();
  } finally {
    mod.dispose();
  }
}

let histogram: Awaited<ReturnType<typeof build>>, ops: Awaited<ReturnType<typeof build>>;
let histuser: Awaited<ReturnType<typeof build>>, opsuser: Awaited<ReturnType<typeof build>>;

beforeAll(async () => {
  histogram = await build("test/linking/fixtures/histogram", true, true);
  ops = await build("test/linking/fixtures/ops", true, true);
  histuser = await build("test/linking/fixtures/histuser");
  opsuser = await build("test/linking/fixtures/opsuser");
}, 60_000);

describe("shared library side", () => {
  it("a library that allocates imports the app's allocator and keeps no heap of its own", () => {
    expect(histogram.imports).toEqual(expect.arrayContaining(["env.__lq_alloc:function", "env.memory:memory", "env.__memory_base:global"]));
    expect(histogram.imports.filter((i) => i.endsWith(":table"))).toEqual([]); // no table entries, no table
    const wat = text(histogram.wasm);
    expect(wat).not.toMatch(/memory\.grow/);
    expect(wat.match(/\(global \$\S+ \(mut i32\)/g)).toHaveLength(1); // its own counter; the stub's bump pointer is gone
    expect(u32Section(histogram.wasm, "liquid.shared_table")).toBeUndefined();
  });

  it("a library with table entries imports the app's table (no limits) and __table_base, and says how many slots", () => {
    expect(ops.imports).toEqual(expect.arrayContaining(["env.table:table", "env.__table_base:global", "env.__memory_base:global", "env.memory:memory"]));
    expect(u32Section(ops.wasm, "liquid.shared_table")).toBe(3); // twice, thrice, negate
    const wat = text(ops.wasm);
    expect(wat).toMatch(/\(import "env" "table" \(table \$\S+ 0 funcref\)\)/);
    expect(wat).toMatch(/\(elem \$\S+ \(global\.get \$\S+\) \$\S+ \$\S+ \$\S+\)/);
    expect(wat).toMatch(/\(start \$/); // patches the Function objects and the Array literal
    expect(wat).not.toMatch(/5921280|5921281|5921282/); // no sentinel table index left
  });
});

describe("app side", () => {
  it("an app importing a library exports its allocator and a growable table", async () => {
    for (const app of [histuser, opsuser]) {
      expect(app.exports).toEqual(expect.arrayContaining(["__lq_alloc:function", "__lq_realloc:function", "__lq_free:function", "table:table"]));
      expect(text(app.wasm)).toMatch(/\(table \$\S+ \d+ funcref\)/); // no maximum
    }
    const desc = binaryen.readBinaryWithFeatures(histuser.wasm, binaryen.Features.All);
    try {
      const sig = (name: string) => {
        const fn = binaryen.getFunctionInfo(desc.getFunction(binaryen.getExportInfo(desc.getExport(name)).value));
        return `${binaryen.expandType(fn.params).length}->${binaryen.expandType(fn.results).length}`;
      };
      expect([sig("__lq_alloc"), sig("__lq_realloc"), sig("__lq_free")]).toEqual(["1->1", "2->1", "1->0"]);
    } finally {
      desc.dispose();
    }
  });

  it("an app importing no library is left as it was: no allocator or table exports (blinky stays 346 bytes)", async () => {
    const blinky = await build("examples/blinky");
    expect(blinky.wasm.length).toBe(346);
    expect(blinky.exports.filter((e) => e.startsWith("__lq_alloc") || e.startsWith("table"))).toEqual([]);
  });

  it("an app importing a library may not declare __lq_alloc itself: the build says why", async () => {
    const dir = join(OUT, "reserved");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "liquid.json"), '{ "name": "reserved", "version": "0.1.0" }');
    writeFileSync(join(dir, "app.ts"), '@external("ops@^1", "apply") declare function apply(i: i32, x: i32): i32;\nexport function __lq_alloc(n: usize): usize { return n; }\nexport function start(): void { apply(0, 1); }\n');
    const r = await buildApp(dir, { out: join(OUT, "reserved.wasm"), force: true });
    expect(r.ok).toBe(false);
    expect(r.errors).toEqual(["the app declares __lq_alloc, a name liquid build reserves in apps that import a library: it exports the app's allocator under it for shared libraries (docs/linking.md); rename it"]);
  });

  it("diagnostics in an app importing a library keep their line numbers", async () => {
    const dir = join(OUT, "badline");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "liquid.json"), '{ "name": "badline", "version": "0.1.0" }');
    writeFileSync(join(dir, "app.ts"), '@external("ops@^1", "apply") declare function apply(i: i32, x: i32): i32;\n\nexport function start(): void {\n  apply(0, undefinedName);\n}\n');
    const r = await buildApp(dir, { out: join(OUT, "badline.wasm"), force: true });
    expect(r.ok).toBe(false);
    expect(r.diagnostics.find((d) => d.category === "error")).toMatchObject({ file: join(dir, "app.ts"), line: 4 });
  });
});
