import { defineConfig } from "vitest/config";

// The reliability suite measures heap after garbage collection, so test workers get `--expose-gc`
// (harmless for the other tests). Everything else stays at vitest's defaults.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    poolOptions: { forks: { execArgv: ["--expose-gc"] } },
  },
});
