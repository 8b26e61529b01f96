// The smallest app whose state matters: a counter that logs "count N" every 200 ms. Its whole
// state is one global, which is what a migration must carry over.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Writes the counter app's source as DIR/counter/app.ts and returns DIR/counter. */
export function writeCounterApp(dir: string): string {
  const counterDir = join(dir, "counter");
  mkdirSync(counterDir);
  writeFileSync(
    join(counterDir, "app.ts"),
    [
      'import { Timer, Text, log } from "liquid";',
      "let count: i32 = 0;",
      "export function start(): void { Timer.every(200); }",
      'export function on_timer(timer: i32): void { count++; log.info(Text.begin().str("count ").int(count)); }',
      "",
    ].join("\n"),
  );
  return counterDir;
}
