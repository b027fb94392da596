import { defineConfig } from "vitest/config";

// Every test runs once; the run-behaviour tests (those importing Pipeline from test/loops.ts) run a
// second time with their pipelines sent through the engine's general run loop instead of its loop
// for plain pipelines, so both loops are held to the same behaviour.
const behaviour = [
  "test/abort.test.ts",
  "test/fail.test.ts",
  "test/execute-then.test.ts",
  "test/execution.test.ts",
  "test/observer.test.ts",
  "test/pause-checkpoint.test.ts",
  "test/restore-by-stage-id.test.ts",
];

export default defineConfig({
  test: {
    projects: [
      { test: { name: "pipeline", include: ["test/**/*.test.ts"] } },
      {
        test: { name: "general loop", include: behaviour, env: { SLUICE_PIPELINE_LOOP: "general" } },
      },
    ],
  },
});
