import { describe, expect, it } from "vitest";
import { createMemoryTimelineStore } from "../src/index.js";

describe("createMemoryTimelineStore options", () => {
  it("refuses a misspelt option, naming it and the options, and takes maxEvents", () => {
    expect(() => createMemoryTimelineStore({ maxEvent: 5 } as never)).toThrow(
      expect.objectContaining({
        code: "INVALID_INPUT",
        message: "createMemoryTimelineStore: options.maxEvent is not an option (options: maxEvents)",
        details: { path: "options.maxEvent" },
      }),
    );
    expect(createMemoryTimelineStore({ maxEvents: 5 }).size).toBe(0);
  });
});
