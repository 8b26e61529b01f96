import { defineConfig } from "vitest/config";

// Two cores: run files in parallel forks but keep it to the machine's size.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 60_000,
    hookTimeout: 600_000,
    globalSetup: ["test/global-setup.ts"],
  },
});
