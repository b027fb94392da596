import { fileURLToPath } from "node:url";
import { openBundledPage } from "@sluice/test-browser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventBusConformanceCases } from "../src/conformance/index.js";
import type { PageResult } from "./browser/conformance-page.js";

// Both buses through the built package, on a real Chromium's event loop and timers (a browser
// clamps nested timers, which a deferred bus leans on). The browser is opened inside the tests, so
// a missing Chromium fails them (never skips them) with how to install it.
const PAGE = fileURLToPath(new URL("./browser/conformance-page.ts", import.meta.url));

describe("in Chromium (built package)", () => {
  let browser: Awaited<ReturnType<typeof openBundledPage>>;
  beforeAll(async () => {
    browser = await openBundledPage(PAGE, {
      purpose: "The event bus browser conformance test",
      title: "sluice events",
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
  });

  it("createEventBus and createDeferredEventBus pass every conformance case", async () => {
    const results: PageResult[] = await browser.page.evaluate(() => window.__sluice!.runConformance());
    const count = (synchronous: boolean) =>
      eventBusConformanceCases({ create: () => ({}) as never, synchronous }).length;
    expect(results.filter((r) => r.bus === "createEventBus").length).toBe(count(true));
    expect(results.filter((r) => r.bus === "createDeferredEventBus").length).toBe(count(false));
    const failures = results.filter((r) => !r.passed).map((r) => `✗ ${r.bus}: ${r.name}\n    ${r.error}`);
    expect(failures, `failed in Chromium:\n${failures.join("\n")}`).toEqual([]);
    expect(browser.pageErrors.map(String)).toEqual([]);
  }, 60_000);
});
