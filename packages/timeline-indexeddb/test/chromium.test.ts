import { fileURLToPath } from "node:url";
import { openBundledPage } from "@sluice/test-browser";
import { describe, expect, it } from "vitest";
import type { PageResult } from "./browser/conformance-page.js";

// The conformance suite against a real Chromium's IndexedDB, through the built package. The browser
// is opened inside the test, so a missing Chromium fails it (never skips it) with how to install it.
const PAGE = fileURLToPath(new URL("./browser/conformance-page.ts", import.meta.url));

describe("in Chromium (real IndexedDB, built package)", () => {
  it("passes every conformance case", async () => {
    const browser = await openBundledPage(PAGE, {
      purpose: "The IndexedDB adapter's browser conformance test",
      title: "sluice timeline-indexeddb",
    });
    try {
      const results: PageResult[] = await browser.page.evaluate(() => window.__sluice!.runConformance());
      expect(results.length).toBeGreaterThan(10);
      const failures = results.filter((r) => !r.passed).map((r) => `✗ ${r.name}\n    ${r.error}`);
      expect(failures, `failed in Chromium:\n${failures.join("\n")}`).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 300_000);
});
