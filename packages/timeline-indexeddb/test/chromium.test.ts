import { fileURLToPath } from "node:url";
import { openBundledPage } from "@sluice/test-browser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PageResult } from "./browser/conformance-page.js";
import type { ConnectionResult } from "./browser/connections.js";

// The conformance suite and the connection cases against a real Chromium's IndexedDB, through the
// built package. The browser is opened inside the tests, so a missing Chromium fails them (never
// skips them) with how to install it.
const PAGE = fileURLToPath(new URL("./browser/conformance-page.ts", import.meta.url));

describe("in Chromium (real IndexedDB, built package)", () => {
  let browser: Awaited<ReturnType<typeof openBundledPage>>;
  beforeAll(async () => {
    browser = await openBundledPage(PAGE, {
      purpose: "The IndexedDB adapter's browser conformance test",
      title: "sluice timeline-indexeddb",
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
  });

  it("passes every conformance case", async () => {
    const results: PageResult[] = await browser.page.evaluate(() => window.__sluice!.runConformance());
    expect(results.length).toBeGreaterThan(10);
    const failures = results.filter((r) => !r.passed).map((r) => `✗ ${r.name}\n    ${r.error}`);
    expect(failures, `failed in Chromium:\n${failures.join("\n")}`).toEqual([]);
  }, 300_000);

  // Chromium aborts a transaction not yet committed when its page unloads: without commit() a tab
  // closed or reloaded right as a run ended lost the run's last batch (about one leave in five).
  it("keeps an append the page left during: the transaction is committed at once", async () => {
    const page = browser.page;
    const lost: string[] = [];
    for (let trial = 0; trial < 50; trial++) {
      const database = `leave-${trial}`;
      const loaded = page.waitForEvent("load");
      // the navigation may destroy the evaluating context before it returns
      await page.evaluate((db) => window.__sluice!.appendThenLeave(db, 6), database).catch(() => {});
      await loaded;
      await page.waitForFunction(() => window.__sluice !== undefined);
      const ids: string[] = await page.evaluate((db) => window.__sluice!.storedIds(db), database);
      if (ids.length !== 6) lost.push(`${database}: ${ids.length} of 6 stored`);
    }
    expect(lost).toEqual([]);
    expect(browser.pageErrors.map(String)).toEqual([]);
  }, 120_000);

  it("never blocks another connection, and an open another connection blocks fails with TIMEOUT", async () => {
    const results: ConnectionResult[] = await browser.page.evaluate(() =>
      window.__sluice!.runConnectionCases(),
    );
    const [blocked, queued, aside, deleted] = results;
    expect(results.map((r) => r.problem)).toEqual([undefined, undefined, undefined, undefined]);
    // An upgrade another connection blocks: TIMEOUT after the wait, naming the database; once the
    // holder lets go, the abandoned open upgrades nothing and holds nothing.
    expect(blocked).toMatchObject({ code: "TIMEOUT" });
    expect(blocked!.message).toMatch(
      /opening database "connections-blocked" stayed blocked for 300 ms: another connection holds it open at version 1/,
    );
    expect(blocked!.ms).toBeGreaterThanOrEqual(290);
    expect(blocked!.ms).toBeLessThan(5_000);
    expect(blocked!.after).toMatchObject({ version: 5, blocked: false });
    expect(blocked!.after!.indexes).not.toContain("byType");
    // The factory queued behind another connection's blocked upgrade: TIMEOUT too.
    expect(queued).toMatchObject({ code: "TIMEOUT" });
    expect(queued!.message).toContain('opening database "connections-queued" stayed blocked for 300 ms');
    expect(queued!.after).toMatchObject({ version: 3, blocked: false });
    // A store open on the database: its append in flight lands, the newer connection is not
    // blocked, and the store's next call reopens the database, refusing the newer schema and
    // saying to reload; once that database is gone, a later call writes into a new one.
    expect(aside!.ids).toEqual(["e1", "e2"]);
    expect(aside!.after).toMatchObject({ version: 2, blocked: false });
    expect(aside!.code).toBe("INVALID_STATE");
    expect(aside!.message).toMatch(
      /^IndexedDB timeline store: query\(\) failed: database "connections-versionchange" now has a newer timeline schema than version 1, .*Reload the page to run that build's code/,
    );
    expect(aside!.later).toEqual(["e3"]);
    // Deleted by another connection: the store's next calls (two at once) reopen it and store.
    expect(deleted).toMatchObject({ name: "append after deletion", ids: ["e2", "e3"], later: ["e2", "e3"] });
    expect(deleted!.code).toBeUndefined();
    expect(browser.pageErrors.map(String)).toEqual([]);
  }, 60_000);

  it("reopens the database after the browser closed its connection (the site's data cleared)", async () => {
    const page = browser.page;
    await page.evaluate((db) => window.__sluice!.openStoreToClear(db), "cleared");
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Storage.clearDataForOrigin", {
      origin: new URL(browser.url).origin,
      storageTypes: "indexeddb",
    });
    await cdp.detach();
    const result: ConnectionResult = await page.evaluate(
      (db) => window.__sluice!.appendAfterClearing(db),
      "cleared",
    );
    expect(result).toMatchObject({ later: ["e2"] });
    expect(result.code).toBeUndefined();
    expect(browser.pageErrors.map(String)).toEqual([]);
  }, 60_000);
});
