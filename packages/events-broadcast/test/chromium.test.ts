import { fileURLToPath } from "node:url";
import { eventBusConformanceCases } from "@sluice/events/conformance";
import { openBundledPage } from "@sluice/test-browser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PageResult, Seen } from "./browser/page.js";

// Two pages of one browser context at one origin, each with a bus on one channel, through the
// built package: the real cross-context case. The browser is opened inside the tests, so a missing
// Chromium fails them (never skips them) with how to install it.
type Page = Awaited<ReturnType<typeof openBundledPage>>["page"];

const PAGE = fileURLToPath(new URL("./browser/page.ts", import.meta.url));

describe("in Chromium (two pages, built package)", () => {
  let browser: Awaited<ReturnType<typeof openBundledPage>>;
  let pageA: Page;
  let pageB: Page;
  const pageErrors: Error[] = [];
  beforeAll(async () => {
    browser = await openBundledPage(PAGE, {
      purpose: "The BroadcastChannel bus's browser test",
      title: "sluice events-broadcast",
    });
    pageA = browser.page;
    pageB = await browser.page.context().newPage();
    pageB.on("pageerror", (error) => pageErrors.push(error));
    await pageB.goto(browser.url);
    await pageB.waitForFunction(() => window.__sluice !== undefined, null, { timeout: 30_000 });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
  });

  const seen = (page: Page): Promise<Seen[]> => page.evaluate(() => window.__sluice!.seen());
  const waitFor = (page: Page, count: number) =>
    page.waitForFunction((n) => window.__sluice!.seen().length >= n, count, { timeout: 10_000 });
  const from = (list: Seen[], prefix: string) => list.filter((s) => s.type.startsWith(prefix));

  it("an event emitted in one page reaches the other page's handlers, each page's in emit order", async () => {
    const channel = `two-pages-${Date.now()}`;
    await pageA.evaluate((c) => window.__sluice!.open(c), channel);
    await pageB.evaluate((c) => window.__sluice!.open(c), channel);
    const at = Date.UTC(2024, 0, 2, 3, 4, 5);
    await pageA.evaluate((t) => {
      window.__sluice!.emit("a.placed", { n: 1 }, t);
      window.__sluice!.emit("a.approved", { n: 2 });
      window.__sluice!.emit("a.placed", { n: 3 });
    }, at);
    await pageB.evaluate(() => {
      window.__sluice!.emit("b.one", { n: 1 });
      window.__sluice!.emit("b.two", undefined);
    });
    await Promise.all([waitFor(pageA, 5), waitFor(pageB, 5)]);
    const fromA: Seen[] = [
      { type: "a.placed", payload: { n: 1, at: "Date" }, at },
      { type: "a.approved", payload: { n: 2 } },
      { type: "a.placed", payload: { n: 3 } },
    ];
    const fromB: Seen[] = [
      { type: "b.one", payload: { n: 1 } },
      { type: "b.two", payload: undefined },
    ];
    for (const page of [pageA, pageB]) {
      const got = await seen(page);
      expect(got).toHaveLength(5);
      expect(from(got, "a.")).toEqual(fromA);
      expect(from(got, "b.")).toEqual(fromB);
    }
  }, 60_000);

  it("close() in one page stops its deliveries; the other page's bus goes on", async () => {
    const before = (await seen(pageA)).length;
    await pageA.evaluate(() => window.__sluice!.close());
    expect(await pageA.evaluate(() => window.__sluice!.emitAfterClose())).toMatch(
      /^INVALID_STATE: eventBus\.emit: the broadcast bus on channel "two-pages-\d+" is closed/,
    );
    const bBefore = (await seen(pageB)).length;
    await pageB.evaluate(() => window.__sluice!.emit("b.after-close", { n: 3 }));
    await waitFor(pageB, bBefore + 1);
    // B's own delivery came a macrotask after emit; give A's (closed) channel ample time as well
    await pageA.waitForTimeout(200);
    expect((await seen(pageA)).length).toBe(before);
    expect((await seen(pageB)).slice(bBefore)).toEqual([{ type: "b.after-close", payload: { n: 3 } }]);
  }, 60_000);

  it("an event the platform drops on the way back (a WebAssembly.Module payload) is reported, and the bus goes on", async () => {
    const channel = `dropped-${Date.now()}`;
    await pageA.evaluate((c) => window.__sluice!.open(c), channel);
    await pageB.evaluate((c) => window.__sluice!.open(c), channel);
    const aBefore = (await seen(pageA)).length;
    // Chromium posts it, but no channel (this page's own listening one included) ever gets it
    expect(await pageA.evaluate(() => window.__sluice!.emitUndeliverable("a.module", 10_000))).toBe(
      "delivered",
    );
    expect(await pageA.evaluate(() => window.__sluice!.errors())).toEqual(["a.module: INVALID_INPUT"]);
    // a bus still waiting for its own event would hold every event from elsewhere behind it
    await pageA.evaluate(() => window.__sluice!.emit("a.after", { n: 1 }));
    await pageB.evaluate(() => window.__sluice!.emit("b.after", { n: 2 }));
    await waitFor(pageA, aBefore + 2);
    expect((await seen(pageA)).slice(aBefore).map((s) => s.type)).toEqual(["a.after", "b.after"]);
  }, 60_000);

  it("delivered() resolves when a handler of an own event emits one the platform drops", async () => {
    const channel = `dropped-later-${Date.now()}`;
    await pageA.evaluate((c) => window.__sluice!.open(c), channel);
    const errorsBefore = (await pageA.evaluate(() => window.__sluice!.errors())).length;
    // delivered() is called before the handler emits: its fence covers only the first event, so
    // the bus must fence again behind what the handler posted, or wait for the lost one for ever
    expect(await pageA.evaluate(() => window.__sluice!.emitUndeliverableFromHandler("a.first", 10_000))).toBe(
      "delivered",
    );
    expect((await pageA.evaluate(() => window.__sluice!.errors())).slice(errorsBefore)).toEqual([
      "a.first.module: INVALID_INPUT",
    ]);
  }, 60_000);

  it("passes every conformance case in the page", async () => {
    const results: PageResult[] = await pageB.evaluate(() => window.__sluice!.runConformance());
    // every case a bus without peer or synchronous delivery runs (the peer cases run in Node)
    expect(results.length).toBe(eventBusConformanceCases({ create: () => ({}) as never }).length);
    const failures = results.filter((r) => !r.passed).map((r) => `✗ ${r.name}\n    ${r.error}`);
    expect(failures, `failed in Chromium:\n${failures.join("\n")}`).toEqual([]);
    expect([...browser.pageErrors, ...pageErrors].map(String)).toEqual([]);
  }, 120_000);
});
