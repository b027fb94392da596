import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The memory test calls global.gc() to measure what 100k transient resolutions retain.
    pool: "forks",
    poolOptions: { forks: { execArgv: ["--expose-gc"], singleFork: true } },
  },
});
