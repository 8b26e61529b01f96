import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "..", "..");
/** The sanitized posix build used by the tests. */
export const POSIX_BUILD = join(ROOT, "build", "posix-asan");

/** Configures and builds the top-level CMake project for posix with ASan+UBSan. */
export async function buildNative(): Promise<void> {
  if (!existsSync(join(ROOT, "CMakeLists.txt"))) return;
  execFileSync("cmake", ["-S", ROOT, "-B", POSIX_BUILD, "-DCMAKE_BUILD_TYPE=Debug", "-DLIQUID_SANITIZE=ON"], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  execFileSync("cmake", ["--build", POSIX_BUILD, "-j2"], { stdio: ["ignore", "ignore", "inherit"] });
}
