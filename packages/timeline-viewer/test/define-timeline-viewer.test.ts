import { SystemError } from "@sluice/errors";
import { describe, expect, it } from "vitest";

describe("defineTimelineViewer outside a browser", () => {
  it("importing the package defines nothing and touches no DOM global", async () => {
    expect("customElements" in globalThis).toBe(false);
    const mod = await import("../src/index.js");
    expect(typeof mod.defineTimelineViewer).toBe("function");
    expect("customElements" in globalThis).toBe(false);
  });

  it("is a no-op returning undefined where customElements is missing", async () => {
    const { defineTimelineViewer } = await import("../src/index.js");
    expect(defineTimelineViewer()).toBeUndefined();
    expect(defineTimelineViewer("my-timeline")).toBeUndefined();
  });

  it("rejects a tag name that is not a custom element name", async () => {
    const { defineTimelineViewer } = await import("../src/index.js");
    for (const name of ["timeline", "Sluice-Timeline", "1-x", ""]) {
      let caught: unknown;
      try {
        defineTimelineViewer(name);
      } catch (error) {
        caught = error;
      }
      expect(SystemError.is(caught, "INVALID_INPUT"), name).toBe(true);
      expect((caught as Error).message).toContain("custom element name");
    }
  });
});
