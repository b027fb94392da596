import { SystemError } from "@sluice/errors";
import { describe, expect, it } from "vitest";
import { createMemoryTimelineStore, type MemoryTimelineStore } from "../src/index.js";

describe("createMemoryTimelineStore options", () => {
  it("refuses a misspelt option with a rejected promise (not a synchronous throw), naming it and the options, and takes maxEvents", async () => {
    let pending: Promise<MemoryTimelineStore> | undefined;
    expect(() => {
      pending = createMemoryTimelineStore({ maxEvent: 5 } as never);
    }).not.toThrow();
    await expect(pending).rejects.toBeInstanceOf(SystemError);
    await expect(pending).rejects.toMatchObject({
      code: "INVALID_INPUT",
      message: "createMemoryTimelineStore: options.maxEvent is not an option (options: maxEvents)",
      details: { path: "options.maxEvent" },
    });
    expect((await createMemoryTimelineStore({ maxEvents: 5 })).size).toBe(0);
  });
});
