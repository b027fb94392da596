import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium, requireChromium, serveDirectory } from "@sluice/test-browser";
import type { Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPage } from "./browser/harness.js";

const PURPOSE = "The browser-timeline example's test";

// The example as a user gets it: `vite build`, served statically, clicked through in a real
// Chromium. The page's runtime writes to the browser's real IndexedDB; the viewer only reads the store.
// Fails (never skips) when Chromium is missing; the error says how to install it.
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const ARTIFACTS = fileURLToPath(new URL("../../../ci-artifacts/", import.meta.url));
const SCREENSHOT = join(ARTIFACTS, "browser-timeline.png");

describe("Chromium", () => {
  // A failed test, not a skipped suite, when the browser is missing: the error says how to install it.
  it("is installed (CHROMIUM_PATH, else /usr/bin/chromium)", () => {
    expect(requireChromium(PURPOSE)).toBeTruthy();
  });

  it("when missing, fails with an install hint", () => {
    expect(() => requireChromium(PURPOSE, "/nonexistent/chromium")).toThrow(
      /apt-get install -y chromium.*CHROMIUM_PATH/,
    );
  });
});

describe("examples/browser-timeline in Chromium", () => {
  let outDir: string | undefined;
  let server: Awaited<ReturnType<typeof serveDirectory>> | undefined;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  const viewer = () => page.locator("sluice-timeline");
  // Playwright's CSS engine pierces open shadow roots.
  const drawn = (selector: string): Locator => viewer().locator(selector);
  const order = (status: string) => page.locator(`#orders tr[data-status="${status}"]`);
  const click = (action: string) => page.locator(`[data-action="${action}"]`).click();
  const runStatus = (runId: string) =>
    drawn(`[data-kind="run"][data-run="${runId}"]`).getAttribute("data-status");
  const stages = (runId: string) =>
    drawn(`[data-kind="stage"][data-run="${runId}"]`).evaluateAll((nodes) =>
      nodes.map((n) => `${n.getAttribute("data-stage")}:${n.getAttribute("data-status")}`),
    );
  /** Events in the page's IndexedDB, read with the raw API (not through the adapter). */
  const storedEvents = () =>
    page.evaluate(
      () =>
        new Promise<number>((resolve, reject) => {
          const open = indexedDB.open("sluice-browser-timeline");
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const count = open.result.transaction("events").objectStore("events").count();
            count.onsuccess = () => {
              open.result.close();
              resolve(count.result);
            };
            count.onerror = () => reject(count.error);
          };
        }),
    );

  async function load(): Promise<void> {
    await page.goto(server!.url);
    await page.waitForFunction(
      () => document.documentElement.dataset.ready === "true" || document.documentElement.dataset.error,
      null,
      { timeout: 15_000 },
    );
    const error = await page.evaluate(() => document.documentElement.dataset.error);
    if (error !== undefined) throw new Error(`the page failed to start: ${error}`);
  }

  beforeAll(async () => {
    requireChromium(PURPOSE); // before the build: a missing browser is the first thing to report
    outDir = await mkdtemp(join(tmpdir(), "sluice-browser-timeline-dist-"));
    await buildPage(ROOT, outDir);
    server = await serveDirectory(outDir);
    browser = await launchChromium({ purpose: PURPOSE, viewport: { width: 1280, height: 800 } });
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    page.on("pageerror", (error) => pageErrors.push(String(error)));
    page.on("console", (message) => {
      if (message.type() === "error") pageErrors.push(message.text());
    });
    await load();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (outDir !== undefined) await rm(outDir, { recursive: true, force: true });
  });

  let shipped: string;
  let waiting: string;
  let failed: string;

  it("starts on an empty IndexedDB timeline", async () => {
    expect(await drawn('[data-kind="run"]').count()).toBe(0);
    expect(await storedEvents()).toBe(0);
    await expect.poll(() => page.locator('[data-action="approve"]').isDisabled()).toBe(true);
  });

  it("runs orders from the buttons: one approved, one waiting, one invalid", async () => {
    await click("place-order");
    await click("place-order");
    await expect.poll(() => order("waiting").count(), { timeout: 5000 }).toBe(2);
    await click("approve"); // the oldest waiting order
    await expect.poll(() => order("shipped").count(), { timeout: 5000 }).toBe(1);
    await click("place-invalid");
    await expect.poll(() => order("failed").count(), { timeout: 5000 }).toBe(1);

    shipped = (await order("shipped").getAttribute("data-run"))!;
    waiting = (await order("waiting").getAttribute("data-run"))!;
    failed = (await order("failed").getAttribute("data-run"))!;
    expect(new Set([shipped, waiting, failed]).size).toBe(3);
    // The first order placed is the one approved.
    const rows = await page.locator("#orders tr").evaluateAll((trs) => trs.map((tr) => tr.dataset.status));
    expect(rows).toEqual(["shipped", "waiting", "failed"]);
    expect(await order("failed").locator("small").textContent()).toContain("has no positive total");
  });

  it("draws every run live from the store with its status", async () => {
    // 3 order runs + the notify-customer run the shipped order triggered. The runtime flushes its
    // timeline in batches and the viewer polls, so wait for the picture to settle.
    const notify = drawn('[data-kind="run"][data-workflow="notify-customer"]');
    const picture = async () => ({
      runs: await drawn('[data-kind="run"]').count(),
      shipped: await runStatus(shipped),
      waiting: await runStatus(waiting),
      failed: await runStatus(failed),
      notify: (await notify.count()) === 1 ? await notify.getAttribute("data-status") : null,
      failureMarkers: await drawn(`[data-kind="failure"][data-run="${failed}"]`).count(),
      shippedStages: (await stages(shipped)).length,
      // The viewer asks the runtime which runs are live: none of these was cut off.
      lost: await drawn('[data-kind="run"][data-status="lost"]').count(),
    });
    await expect.poll(picture, { timeout: 5000 }).toEqual({
      runs: 4,
      shipped: "completed",
      waiting: "paused",
      failed: "failed",
      notify: "completed",
      failureMarkers: 1,
      shippedStages: 3,
      lost: 0,
    });
  });

  it("draws stage bars, the pause and resume, the failure and log ticks", async () => {
    expect(await stages(shipped)).toEqual(["validate:completed", "approval:completed", "ship:completed"]);
    const pause = drawn(`[data-kind="pause"][data-run="${shipped}"]`);
    expect(await pause.count()).toBe(1);
    expect(await pause.getAttribute("data-resumed")).toBe("true");
    expect(await drawn(`[data-kind="resume"][data-run="${shipped}"]`).count()).toBe(1);
    const logs = await drawn(`[data-kind="log"][data-run="${shipped}"]`).evaluateAll((nodes) =>
      nodes.map((n) => n.getAttribute("title")?.split("\n")[0]),
    );
    expect(logs).toEqual([
      "info [validate › check]: validated",
      "debug [approval › request]: waiting for approval",
      "info [ship › dispatch]: shipped",
    ]);
    expect(
      await drawn(`[data-kind="step"][data-run="${shipped}"][data-step="cancel"]`).getAttribute(
        "data-status",
      ),
    ).toBe("skipped");

    // Still waiting: an open pause after approval, nothing after it.
    expect(await stages(waiting)).toEqual(["validate:completed", "approval:completed"]);
    expect(await drawn(`[data-kind="pause"][data-run="${waiting}"]`).getAttribute("data-resumed")).toBe(
      "false",
    );

    expect(await stages(failed)).toEqual(["validate:failed"]);
    expect(await drawn(`[data-kind="failure"][data-run="${failed}"]`).getAttribute("title")).toContain(
      "has no positive total",
    );

    // The SMS step of notify-customer is busy on its first try and retried.
    const notifyRetries = drawn('[data-kind="step"][data-workflow="notify-customer"][data-status="retried"]');
    expect(await notifyRetries.count()).toBeGreaterThanOrEqual(1);
  });

  it("saves a screenshot for people to look at", async () => {
    await expect.poll(() => page.locator("#activity li").count()).toBeGreaterThan(5);
    await mkdir(ARTIFACTS, { recursive: true });
    const png = await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(png.byteLength).toBeGreaterThan(20_000);
  });

  it("persists the events in IndexedDB: after a reload the viewer draws the same runs", async () => {
    const before = await storedEvents();
    expect(before).toBeGreaterThan(40);
    await load();
    // A new runtime in a new page: only the store remembers the runs.
    expect(await page.locator("#orders tr").count()).toBe(0);
    await expect.poll(() => drawn('[data-kind="run"]').count(), { timeout: 5000 }).toBe(4);
    expect(await runStatus(shipped)).toBe("completed");
    // The new page's runtime does not know the waiting run, but it is parked, not lost.
    expect(await runStatus(waiting)).toBe("paused");
    expect(await runStatus(failed)).toBe("failed");
    expect(await stages(shipped)).toEqual(["validate:completed", "approval:completed", "ship:completed"]);
    expect(await storedEvents()).toBe(before);
  });

  it("clears the timeline from IndexedDB", async () => {
    await click("clear");
    await expect.poll(() => drawn('[data-kind="run"]').count(), { timeout: 5000 }).toBe(0);
    expect(await storedEvents()).toBe(0);
    await load();
    await viewer().evaluate((el) => (el as HTMLElementTagNameMap["sluice-timeline"]).refresh());
    expect(await drawn('[data-kind="run"]').count()).toBe(0);
  });

  it("reports no page or runtime errors", async () => {
    expect(pageErrors).toEqual([]);
    expect(await page.locator('#activity [data-kind="runtime-error"]').count()).toBe(0);
  });
});
