import { describe, expect, it } from "vitest";
import { layoutTimeline } from "../src/index.js";

describe("layoutTimeline options", () => {
  it("refuses a misspelt option, naming it and the options, and takes every documented one", () => {
    expect(() => layoutTimeline([], { width: 800, runID: "r1" } as never)).toThrow(
      expect.objectContaining({
        code: "INVALID_INPUT",
        message:
          "layoutTimeline options.runID is not an option (options: width, now, workflowId, runId, liveRuns)",
      }),
    );
    expect(
      layoutTimeline([], { width: 800, now: 0, workflowId: "w", runId: "r1", liveRuns: [] }).rows,
    ).toEqual([]);
  });
});
