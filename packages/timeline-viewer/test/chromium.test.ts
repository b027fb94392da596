import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { openBundledPage } from "@sluice/test-browser";
import type { Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TimelineViewerElement } from "../src/index.js";

const PAGE_HEAD =
  "<style>body{margin:0;padding:16px;background:#f3f4f6;font-family:system-ui,sans-serif}" +
  "h1{font-size:15px;margin:0 0 10px;color:#111827}sluice-timeline{border:1px solid #e5e7eb;border-radius:6px;" +
  "overflow:hidden;box-shadow:0 1px 2px rgba(0,0,0,.05)}</style><h1>Sluice — run timeline</h1>";
const openBrowserPage = (entry: string, viewport: { width: number; height: number }) =>
  openBundledPage(entry, {
    purpose: "The timeline viewer's browser test",
    title: "sluice timeline viewer",
    head: PAGE_HEAD,
    viewport,
  });

import { manyRunId } from "./browser/many-runs.js";
import type { ScenarioRuns } from "./browser/viewer-page.js";
import { scenario } from "./synthetic-events.js";

// The viewer in a real Chromium, pointed live at the store of a real WorkflowRuntime running in
// the page. Fails (never skips) when Chromium is missing; the error says how to install it.
const PAGE = fileURLToPath(new URL("./browser/viewer-page.ts", import.meta.url));
const ARTIFACTS = fileURLToPath(new URL("../../../ci-artifacts/", import.meta.url));
const SCREENSHOT = `${ARTIFACTS}timeline-viewer.png`;

describe("<sluice-timeline> in Chromium, live on a real runtime", () => {
  let browser: Awaited<ReturnType<typeof openBrowserPage>> | undefined;
  let page: Page;
  let runs: ScenarioRuns;

  const viewer = () => page.locator("sluice-timeline");
  // Playwright's CSS engine pierces open shadow roots.
  const drawn = (selector: string): Locator => viewer().locator(selector);

  beforeAll(async () => {
    browser = await openBrowserPage(PAGE, { width: 1280, height: 640 });
    page = browser.page;
    runs = await page.evaluate(() => window.__sluice!.runScenario());
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  it("draws one row per run with its workflow, short run id and status", async () => {
    // The viewer only ever saw the store: every row arrived by live polling.
    await expect.poll(() => drawn('[data-kind="run"]').count(), { timeout: 5000 }).toBe(4);
    const status = async (runId: string) =>
      drawn(`[data-kind="run"][data-run="${runId}"]`).getAttribute("data-status");
    await expect.poll(() => status(runs.approved)).toBe("completed");
    expect(await status(runs.failed)).toBe("failed");
    expect(await status(runs.waiting)).toBe("paused");
    expect(await status(runs.synced)).toBe("completed");
    const label = drawn(`[data-kind="run"][data-run="${runs.approved}"] .label`);
    expect(await label.locator(".wf").textContent()).toBe("order-approval");
    expect(await label.locator(".pill").textContent()).toBe("completed");
    // Short run ids tell the runs apart and are the end of the full id (the runtime's ids share a prefix).
    const shortIds = await drawn('[data-kind="run"] .rid').allTextContents();
    expect(new Set(shortIds).size).toBe(4);
    const approvedShort = (await label.locator(".rid").textContent())!;
    expect(runs.approved.endsWith(approvedShort.replace("…", ""))).toBe(true);
  });

  it("draws the approved run's three stage bars in order, with its steps", async () => {
    const stages = drawn(`[data-kind="stage"][data-run="${runs.approved}"]`);
    await expect.poll(() => stages.count()).toBe(3);
    const info = await stages.evaluateAll((nodes) =>
      nodes.map((n) => ({
        stage: n.getAttribute("data-stage"),
        status: n.getAttribute("data-status"),
        left: n.getBoundingClientRect().left,
        width: n.getBoundingClientRect().width,
      })),
    );
    expect(info.map((b) => [b.stage, b.status])).toEqual([
      ["validate", "completed"],
      ["approval", "completed"],
      ["ship", "completed"],
    ]);
    expect(info[0]!.left).toBeLessThan(info[1]!.left);
    expect(info[1]!.left).toBeLessThan(info[2]!.left);
    for (const bar of info) expect(bar.width).toBeGreaterThan(2);
    const steps = await drawn(`[data-kind="step"][data-run="${runs.approved}"]`).evaluateAll((nodes) =>
      nodes.map((n) => n.getAttribute("data-step")),
    );
    expect(steps).toEqual(["check", "reserve", "request", "label", "notify"]);
  });

  it("marks the pause as a gap between approval and ship, and the resume", async () => {
    const pause = drawn(`[data-kind="pause"][data-run="${runs.approved}"]`);
    expect(await pause.count()).toBe(1);
    expect(await pause.getAttribute("data-resumed")).toBe("true");
    expect(await pause.getAttribute("title")).toMatch(
      /^paused for .* after stage approval; continues with ship; resumed by approve$/,
    );
    // Measured in one go: while live, every redraw rescales the axis to the moving "now".
    const { gap, approval, ship } = await viewer().evaluate((el, runId) => {
      const rect = (selector: string) => {
        const r = el.shadowRoot!.querySelector(`[data-run="${runId}"]${selector}`)!.getBoundingClientRect();
        return { left: r.left, right: r.right };
      };
      return {
        gap: rect('[data-kind="pause"]'),
        approval: rect('[data-kind="stage"][data-stage="approval"]'),
        ship: rect('[data-kind="stage"][data-stage="ship"]'),
      };
    }, runs.approved);
    // The page waits 200 ms before approving; the axis grows while the test runs, so only "visible".
    expect(gap.right - gap.left).toBeGreaterThan(4);
    const drawnPause = await viewer().evaluate(
      (el, runId) => (el as TimelineViewerElement).layout!.rows.find((r) => r.runId === runId)!.pauses[0]!,
      runs.approved,
    );
    expect(drawnPause.end - drawnPause.start).toBeGreaterThanOrEqual(190);
    expect(gap.left).toBeGreaterThanOrEqual(approval.right - 2);
    expect(gap.right).toBeLessThanOrEqual(ship.left + 2);
    expect(await drawn(`[data-kind="resume"][data-run="${runs.approved}"]`).count()).toBe(1);
    // The run still waiting has an open pause, and no resume.
    expect(await drawn(`[data-kind="pause"][data-run="${runs.waiting}"]`).getAttribute("data-resumed")).toBe(
      "false",
    );
    expect(await drawn(`[data-kind="resume"][data-run="${runs.waiting}"]`).count()).toBe(0);
  });

  it("draws the failure in red with the error message as its tooltip", async () => {
    const failedStage = drawn(`[data-kind="stage"][data-run="${runs.failed}"][data-stage="validate"]`);
    expect(await failedStage.getAttribute("data-status")).toBe("failed");
    expect(await failedStage.getAttribute("title")).toContain("amount must be positive (got 0)");
    expect(await failedStage.evaluate((n) => getComputedStyle(n).backgroundColor)).toBe("rgb(220, 38, 38)");
    const marker = drawn(`[data-kind="failure"][data-run="${runs.failed}"]`);
    expect(await marker.count()).toBe(1);
    expect(await marker.getAttribute("title")).toContain(runs.failureMessage);
    // It stopped at validate: nothing after it was drawn.
    expect(await drawn(`[data-kind="stage"][data-run="${runs.failed}"]`).count()).toBe(1);
  });

  it("draws logger calls as ticks with their level and message", async () => {
    const tick = drawn(`[data-kind="log"][data-run="${runs.approved}"]`);
    expect(await tick.count()).toBe(1);
    expect(await tick.getAttribute("data-level")).toBe("info");
    expect(await tick.getAttribute("data-stage")).toBe("ship");
    expect(await tick.getAttribute("title")).toMatch(/^info \[ship › label\]: shipping\n.*"carrier":"dhl"/);
    const warn = drawn(`[data-kind="log"][data-run="${runs.synced}"]`);
    expect(await warn.getAttribute("data-level")).toBe("warn");
    expect(await drawn(`[data-kind="step"][data-run="${runs.synced}"][data-status="retried"]`).count()).toBe(
      1,
    );
  });

  it("keeps the still-paused run growing while live", async () => {
    const pause = drawn(`[data-kind="pause"][data-run="${runs.waiting}"]`);
    const before = (await pause.boundingBox())!;
    await page.waitForTimeout(300);
    const after = (await pause.boundingBox())!;
    // The open pause reaches "now", which moves right relative to the finished runs.
    expect(after.width).toBeGreaterThan(before.width);
  });

  it("filters by workflow and by run through its own selects and attributes", async () => {
    await drawn('select[data-kind="workflow-filter"]').selectOption("inventory-sync");
    await expect.poll(() => drawn('[data-kind="run"]').count()).toBe(1);
    expect(await viewer().getAttribute("workflow")).toBe("inventory-sync");
    await drawn('select[data-kind="workflow-filter"]').selectOption("");
    await expect.poll(() => drawn('[data-kind="run"]').count()).toBe(4);
    await viewer().evaluate((el, runId) => el.setAttribute("run", runId), runs.failed);
    await expect.poll(() => drawn('[data-kind="run"]').count()).toBe(1);
    expect(await drawn('select[data-kind="run-filter"]').inputValue()).toBe(runs.failed);
    await viewer().evaluate((el) => el.removeAttribute("run"));
    await expect.poll(() => drawn('[data-kind="run"]').count()).toBe(4);
  });

  it("saves a screenshot for people to look at", async () => {
    // Stop polling so the picture is stable, then draw once more.
    await viewer().evaluate((el) => {
      (el as HTMLElement & { live: boolean; renderNow(): void }).live = false;
      (el as HTMLElement & { renderNow(): void }).renderNow();
    });
    await mkdir(ARTIFACTS, { recursive: true });
    // The page's body: its heading and the chart, without the empty viewport below.
    const png = await page.locator("body").screenshot({ path: SCREENSHOT });
    expect(png.byteLength).toBeGreaterThan(10_000);
  });
});

describe("<sluice-timeline> element API in Chromium", () => {
  let browser: Awaited<ReturnType<typeof openBrowserPage>> | undefined;
  let page: Page;

  beforeAll(async () => {
    browser = await openBrowserPage(PAGE, { width: 1000, height: 600 });
    page = browser.page;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  it("takes events by assignment, append and push, once per id, and still appends DOM nodes", async () => {
    const result = await page.evaluate((events) => {
      const el = document.createElement("sluice-timeline");
      document.body.append(el);
      const rows = () => el.shadowRoot!.querySelectorAll('[data-kind="run"]').length;
      el.events = events.slice(0, 10);
      el.renderNow();
      const first = rows();
      el.append(events.slice(10));
      el.push(events[0]!); // already held
      el.renderNow();
      const all = [rows(), el.events.length];
      el.push({ ...events[0]!, id: "extra:0", runId: "extra" });
      el.renderNow();
      const pushed = rows();
      el.append(document.createElement("span"), "text");
      const lightChildren = el.childNodes.length;
      el.events = [];
      el.renderNow();
      const empty = el.shadowRoot!.querySelector('[data-kind="empty"]')?.textContent;
      el.remove();
      return { first, all, pushed, lightChildren, empty, total: events.length };
    }, scenario());
    expect(result.first).toBe(1);
    expect(result.all).toEqual([3, result.total]);
    expect(result.pushed).toBe(4);
    expect(result.lightChildren).toBe(2);
    expect(result.empty).toBe("No runs to show yet.");
  });

  it("rejects bad input with SystemError INVALID_INPUT messages that say what to fix", async () => {
    const errors = await page.evaluate(() => {
      const el = document.createElement("sluice-timeline");
      const attempt = (f: () => void) => {
        try {
          f();
          return "no error";
        } catch (error) {
          return `${(error as { code?: string }).code}: ${(error as Error).message}`;
        }
      };
      return [
        attempt(() => {
          el.events = "nope" as never;
        }),
        attempt(() => el.push({ id: "x", runId: "r", workflowId: "w", seq: 0, at: "soon" } as never)),
        attempt(() => {
          el.pollMs = 5;
        }),
        attempt(() => {
          el.store = {} as never;
        }),
        attempt(() => {
          el.store = Promise.resolve({ query: async () => ({ events: [] }) }) as never;
        }),
      ];
    });
    expect(errors).toEqual([
      "INVALID_INPUT: <sluice-timeline>.events must be an array of TimelineEvent objects",
      'INVALID_INPUT: <sluice-timeline>.append(…) argument 0[0]: "type" must be a non-empty string',
      "INVALID_INPUT: <sluice-timeline>.pollMs must be a number of milliseconds >= 16 (got 5)",
      "INVALID_INPUT: <sluice-timeline>.store must be a TimelineStore (an object with query()), or undefined",
      "INVALID_INPUT: <sluice-timeline>.store is a Promise: await the store's factory first (viewer.store = await createIndexedDBTimelineStore(…))",
    ]);
  });

  it("reads configuration from attributes", async () => {
    const state = await page.evaluate(async (events) => {
      const host = document.createElement("div");
      host.innerHTML = '<sluice-timeline workflow="report" poll-ms="40" live></sluice-timeline>';
      document.body.append(host);
      const el = host.firstElementChild as HTMLElementTagNameMap["sluice-timeline"];
      el.events = events;
      el.renderNow();
      const out = {
        pollMs: el.pollMs,
        live: el.live,
        workflowId: el.workflowId,
        rows: Array.from(el.shadowRoot!.querySelectorAll('[data-kind="run"]'), (r) =>
          r.getAttribute("data-run"),
        ),
        select: el.shadowRoot!.querySelector<HTMLSelectElement>('[data-kind="workflow-filter"]')!.value,
      };
      host.remove();
      return out;
    }, scenario());
    expect(state).toEqual({
      pollMs: 40,
      live: true,
      workflowId: "report",
      rows: ["report-1"],
      select: "report",
    });
  });

  it("loads every page of a store, polls while live and connected, and stops when removed", async () => {
    const result = await page.evaluate(async () => {
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
      const memory = await window.__sluice!.createMemoryTimelineStore();
      const many = Array.from({ length: 2500 }, (_, i) => ({
        id: `e${i}`,
        runId: `run-${i % 5}`,
        workflowId: "bulk",
        seq: Math.floor(i / 5),
        at: 1000 + i,
        source: "logger",
        type: "log",
        message: `line ${i}`,
      }));
      await memory.append(many);
      let queries = 0;
      // The real store, counting the viewer's queries.
      const store = {
        ...memory,
        query: (filter?: Parameters<typeof memory.query>[0]) => {
          queries++;
          return memory.query(filter);
        },
      };
      const el = document.createElement("sluice-timeline");
      el.pollMs = 20;
      el.live = true;
      el.store = store as never;
      document.body.append(el);
      await sleep(200);
      const loaded = el.events.length;
      const pagesAndPolls = queries;
      await memory.append([{ ...many[0]!, id: "late", seq: 9999, at: 5000, message: "late line" }]);
      await sleep(100);
      const afterAppend = el.events.length;
      el.remove();
      await sleep(30);
      const atRemoval = queries;
      await sleep(150);
      return { loaded, pagesAndPolls, afterAppend, atRemoval, later: queries };
    });
    expect(result.loaded).toBe(2500);
    expect(result.pagesAndPolls).toBeGreaterThan(4); // 3 pages, then polls
    expect(result.afterAppend).toBe(2501);
    expect(result.later).toBe(result.atRemoval);
  });

  it("keeps reading new events while live after one stamped far in the future", async () => {
    const result = await page.evaluate(async () => {
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
      const store = await window.__sluice!.createMemoryTimelineStore();
      const event = (id: string, at: number) => ({
        id,
        runId: "r",
        workflowId: "clock",
        seq: 1,
        at,
        source: "logger",
        type: "log",
        message: id,
      });
      // a runtime on a machine whose clock ran a day ahead wrote one event
      await store.append([event("ahead", Date.now() + 86_400_000)]);
      const el = document.createElement("sluice-timeline");
      el.pollMs = 20;
      el.live = true;
      el.store = store;
      document.body.append(el);
      await sleep(150);
      const first = el.events.map((e) => e.id);
      await store.append([{ ...event("now", Date.now()), runId: "r2" }]);
      await sleep(200);
      const later = el.events.map((e) => e.id).sort();
      el.remove();
      return { first, later };
    });
    expect(result.first).toEqual(["ahead"]);
    expect(result.later).toEqual(["ahead", "now"]);
  });

  it("reports a failing store as a timeline-error event and on its toolbar", async () => {
    const result = await page.evaluate(async () => {
      const store = await window.__sluice!.createMemoryTimelineStore();
      await store.close(); // every query now rejects with DISPOSED
      const el = document.createElement("sluice-timeline");
      const seen: string[] = [];
      el.addEventListener("timeline-error", (e) =>
        seen.push((e as CustomEvent<{ code: string }>).detail.code),
      );
      document.body.append(el);
      el.store = store;
      await new Promise((r) => setTimeout(r, 100));
      el.renderNow();
      const state = el.shadowRoot!.querySelector('[data-kind="state"]');
      const out = { seen, text: state?.textContent, error: state?.classList.contains("error") };
      el.remove();
      return out;
    });
    expect(result.seen).toEqual(["DISPOSED"]);
    expect(result.error).toBe(true);
    expect(result.text).toBe("timeline-memory: query() called after close(); create a new store");
  });
});

describe("<sluice-timeline> liveRuns in Chromium", () => {
  let browser: Awaited<ReturnType<typeof openBrowserPage>> | undefined;
  let page: Page;

  beforeAll(async () => {
    browser = await openBrowserPage(PAGE, { width: 1000, height: 600 });
    page = browser.page;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  /**
   * Puts a viewer on the page holding three runs without a closing event, stamped just now:
   * `alive` (mid-stage), `dead` (mid-stage; its last event, a log line, 40 ms after the stage
   * started) and `parked` (paused). Returns nothing; `#lost` is the viewer.
   */
  async function showRuns(): Promise<void> {
    await page.evaluate(() => {
      document.querySelector("#lost")?.remove();
      const t = Date.now() - 1000;
      const run = (runId: string, types: Array<[number, string, Record<string, unknown>?]>) =>
        types.map(([at, type, extra], seq) => ({
          id: `${runId}:${seq}`,
          runId,
          workflowId: "orders",
          seq,
          at: t + at,
          source: type === "log" ? "logger" : "pipeline",
          type,
          ...extra,
        }));
      const el = document.createElement("sluice-timeline");
      el.id = "lost";
      document.body.prepend(el);
      el.events = [
        ...run("alive", [
          [0, "run.started"],
          [0, "stage.started", { stage: "ship" }],
        ]),
        ...run("dead", [
          [10, "run.started"],
          [10, "stage.started", { stage: "pack" }],
          [50, "log", { stage: "pack", message: "packing", level: "info" }],
        ]),
        ...run("parked", [
          [20, "run.started"],
          [30, "run.paused", { stage: "approve" }],
        ]),
      ] as never;
      el.renderNow();
    });
  }

  const viewer = () => page.locator("#lost");
  const rowStatus = (runId: string) =>
    viewer().locator(`[data-kind="run"][data-run="${runId}"]`).getAttribute("data-status");
  const redraw = () => viewer().evaluate((el) => (el as TimelineViewerElement).renderNow());

  it("draws a run that is not live, not paused and has no closing event as lost, its bar ending at its last event", async () => {
    await showRuns();
    // Without liveRuns the viewer cannot know: every unfinished run is running.
    expect(await rowStatus("dead")).toBe("running");
    expect(await viewer().locator('.legend [data-status="lost"]').isVisible()).toBe(false);

    await viewer().evaluate((el) => {
      (el as TimelineViewerElement).liveRuns = new Set(["alive"]);
    });
    await redraw();
    expect(await rowStatus("dead")).toBe("lost");
    expect(await rowStatus("alive")).toBe("running");
    expect(await rowStatus("parked")).toBe("paused");
    const dead = viewer().locator('[data-kind="run"][data-run="dead"]');
    expect(await dead.locator(".pill").textContent()).toBe("lost");
    expect(await dead.locator(".label").getAttribute("title")).toContain("ended without a record");
    expect(await viewer().locator('[data-kind="state"]').textContent()).toBe("3 runs, 2 active, 1 lost");
    expect(await viewer().locator('.legend [data-status="lost"]').isVisible()).toBe(true);
    // Its stage bar stops at its last event (the log tick), while the live run's reaches now.
    const edges = await viewer().evaluate((el) => {
      const box = (selector: string) => el.shadowRoot!.querySelector(selector)!.getBoundingClientRect();
      return {
        deadBarRight: box('[data-run="dead"][data-kind="stage"]').right,
        deadLog:
          box('[data-run="dead"][data-kind="log"]').left +
          box('[data-run="dead"][data-kind="log"]').width / 2,
        aliveBarRight: box('[data-run="alive"][data-kind="stage"]').right,
        deadTitle: el
          .shadowRoot!.querySelector('[data-run="dead"][data-kind="stage"]')!
          .getAttribute("title"),
        layoutEnd: (el as TimelineViewerElement).layout!.rows.find((row) => row.runId === "dead")!.end,
        lastAt: (el as TimelineViewerElement).events.find((e) => e.id === "dead:2")!.at,
      };
    });
    expect(Math.abs(edges.deadBarRight - edges.deadLog)).toBeLessThanOrEqual(1);
    expect(edges.aliveBarRight).toBeGreaterThan(edges.deadBarRight + 100);
    expect(edges.layoutEnd).toBe(edges.lastAt);
    expect(edges.deadTitle).toMatch(/^stage pack: unfinished \(the run ended without a record\), 40 ms$/);

    // Unset: as before.
    await viewer().evaluate((el) => {
      (el as TimelineViewerElement).liveRuns = undefined;
    });
    await redraw();
    expect(await rowStatus("dead")).toBe("running");
  });

  it("asks a function about the runs without a closing event, and reports one that throws", async () => {
    await showRuns();
    const asked = await viewer().evaluate((el) => {
      const seen: string[] = [];
      (el as TimelineViewerElement).liveRuns = (runId: string) => {
        seen.push(runId);
        return runId === "alive";
      };
      (el as TimelineViewerElement).renderNow();
      return [...new Set(seen)].sort();
    });
    expect(asked).toEqual(["alive", "dead"]);
    expect(await rowStatus("dead")).toBe("lost");

    const reported = await viewer().evaluate((el) => {
      const codes: string[] = [];
      el.addEventListener("timeline-error", (e) =>
        codes.push((e as CustomEvent<{ code: string }>).detail.code),
      );
      (el as TimelineViewerElement).liveRuns = () => {
        throw new Error("runtime stopped");
      };
      (el as TimelineViewerElement).renderNow();
      (el as TimelineViewerElement).renderNow();
      return codes;
    });
    // Once, not on every draw; the runs are drawn as their events say.
    expect(reported).toEqual(["INVALID_INPUT"]);
    expect(await rowStatus("dead")).toBe("running");
    expect(await viewer().locator('[data-kind="state"]').textContent()).toMatch(
      /^<sluice-timeline>\.liveRuns threw for run "(alive|dead)": Error: runtime stopped$/,
    );
    await viewer().evaluate((el) => {
      (el as TimelineViewerElement).liveRuns = ["alive"];
    });
    await redraw();
    expect(await rowStatus("dead")).toBe("lost");
    expect(await viewer().locator('[data-kind="state"]').textContent()).toBe("3 runs, 2 active, 1 lost");
  });

  it("rejects a liveRuns that is neither run ids nor a function", async () => {
    const error = await page.evaluate(() => {
      const el = document.createElement("sluice-timeline");
      try {
        el.liveRuns = "alive" as never;
        return "no error";
      } catch (thrown) {
        return `${(thrown as { code?: string }).code}: ${(thrown as Error).message}`;
      }
    });
    expect(error).toBe(
      'INVALID_INPUT: <sluice-timeline>.liveRuns must be run ids (an array or a Set of strings) or a function (runId) => boolean, not "alive"',
    );
  });
});

describe("<sluice-timeline> with ten thousand runs in Chromium", () => {
  let browser: Awaited<ReturnType<typeof openBrowserPage>> | undefined;
  let page: Page;
  const RUNS = 10_000;
  const last = manyRunId(RUNS - 1);

  beforeAll(async () => {
    browser = await openBrowserPage(PAGE, { width: 1000, height: 600 });
    page = browser.page;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  /** Row elements drawn, the ids of the first and last of them, and where the last run's row is. */
  const drawnRows = (selector: string) =>
    page.evaluate(
      ({ selector, last }) => {
        const el = document.querySelector(selector)!;
        const rows = Array.from(el.shadowRoot!.querySelectorAll('[data-kind="run"]'));
        const lastRow = el.shadowRoot!.querySelector(`[data-kind="run"][data-run="${last}"]`);
        const box = lastRow?.getBoundingClientRect();
        return {
          count: rows.length,
          first: rows[0]?.getAttribute("data-run"),
          last: rows.at(-1)?.getAttribute("data-run"),
          lastRun: box && {
            top: box.top,
            bottom: box.bottom,
            label: lastRow!.querySelector(".wf")!.textContent,
          },
        };
      },
      { selector, last },
    );

  it("draws a few dozen rows, not ten thousand, and scrolling the page to the bottom shows the last run", async () => {
    await page.evaluate((runs) => {
      const el = document.createElement("sluice-timeline");
      el.id = "many";
      document.body.append(el);
      el.events = window.__sluice!.manyRuns(runs);
      el.renderNow();
    }, RUNS);
    const top = await drawnRows("#many");
    expect(top.count).toBeGreaterThan(5);
    expect(top.count).toBeLessThanOrEqual(300);
    expect(top.first).toBe(manyRunId(0));
    // The chart is as tall as every row: the page scrolls through all of them.
    const height = await page.evaluate(() => document.querySelector("#many")!.getBoundingClientRect().height);
    expect(height).toBeGreaterThan(RUNS * 40);

    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    await expect.poll(async () => (await drawnRows("#many")).last).toBe(last);
    const bottom = await drawnRows("#many");
    expect(bottom.count).toBeLessThanOrEqual(300);
    expect(bottom.first).not.toBe(manyRunId(0));
    const viewportHeight = await page.evaluate(() => window.innerHeight);
    // In view, whole, and the last row of the chart.
    expect(bottom.lastRun!.top).toBeGreaterThanOrEqual(0);
    expect(bottom.lastRun!.bottom).toBeLessThanOrEqual(viewportHeight);
    expect(bottom.lastRun!.label).toBe("orders");

    await page.evaluate(() => window.scrollTo(0, 0));
    await expect.poll(async () => (await drawnRows("#many")).first).toBe(manyRunId(0));
    await page.evaluate(() => document.querySelector("#many")!.remove());
  });

  it("in a box that scrolls, draws the rows scrolled into it", async () => {
    await page.evaluate(async (runs) => {
      const el = document.createElement("sluice-timeline");
      el.id = "boxed";
      el.style.cssText = "height: 400px; overflow: auto";
      document.body.prepend(el);
      el.events = window.__sluice!.manyRuns(runs);
      el.renderNow();
      // Drawn, with no redraw pending, before it scrolls.
      await new Promise(requestAnimationFrame);
      await new Promise(requestAnimationFrame);
      el.scrollTop = el.scrollHeight;
    }, RUNS);
    await expect.poll(async () => (await drawnRows("#boxed")).last).toBe(last);
    const { lastRun, count } = await drawnRows("#boxed");
    const box = await page.evaluate(() => document.querySelector("#boxed")!.getBoundingClientRect().toJSON());
    expect(count).toBeLessThanOrEqual(300);
    expect(lastRun!.top).toBeGreaterThanOrEqual(box.top);
    expect(lastRun!.bottom).toBeLessThanOrEqual(box.bottom);
    await page.evaluate(() => document.querySelector("#boxed")!.remove());
  });

  it("inside a scrolling panel of another component's shadow DOM, draws the rows scrolled into it", async () => {
    const result = await page.evaluate(async (runs) => {
      const host = document.createElement("div");
      document.body.prepend(host);
      const panel = document.createElement("div");
      panel.style.cssText = "height: 300px; overflow: auto";
      host.attachShadow({ mode: "open" }).append(panel);
      const el = document.createElement("sluice-timeline");
      panel.append(el);
      el.events = window.__sluice!.manyRuns(runs);
      el.renderNow();
      // Drawn, with no redraw pending, before the panel scrolls.
      await new Promise(requestAnimationFrame);
      await new Promise(requestAnimationFrame);
      const drawnBefore = el.shadowRoot!.querySelectorAll('[data-kind="run"]').length;
      // (scroll events stay inside the panel's shadow tree)
      panel.scrollTop = panel.scrollHeight;
      const last = `run-${String(runs - 1).padStart(6, "0")}`;
      for (let frames = 0; frames < 100; frames++) {
        if (el.shadowRoot!.querySelector(`[data-run="${last}"]`) !== null) break;
        await new Promise(requestAnimationFrame);
      }
      const drawn = el.shadowRoot!.querySelector(`[data-kind="run"][data-run="${last}"]`) !== null;
      host.remove();
      return { drawnBefore, drawn };
    }, 2000);
    expect(result.drawnBefore).toBeLessThan(300);
    expect(result.drawn).toBe(true);
  });

  it("reads each event once, when it is added, however often it redraws", async () => {
    const reads = await page.evaluate((runs) => {
      let count = 0;
      // Each event's `at` counts its reads: the viewer keeps what it read instead of reading again.
      const events = window.__sluice!.manyRuns(runs).map((event) => {
        const { at, ...rest } = event;
        return Object.defineProperty(rest, "at", {
          enumerable: true,
          get: () => {
            count++;
            return at;
          },
        }) as typeof event;
      });
      const el = document.createElement("sluice-timeline");
      document.body.prepend(el);
      el.events = events;
      el.renderNow();
      const afterFirstDraw = count;
      el.push({
        id: "more",
        runId: "run-000003",
        workflowId: "orders",
        seq: 99,
        at: 1_700_000_000_031,
        source: "logger",
        type: "log",
      });
      el.renderNow();
      el.style.width = "700px"; // a narrower chart: every row moves
      el.renderNow();
      el.workflowId = "sync";
      el.renderNow();
      el.remove();
      return { afterFirstDraw, later: count - afterFirstDraw, events: events.length };
    }, RUNS);
    expect(reads.afterFirstDraw).toBe(reads.events);
    expect(reads.later).toBe(0);
  });

  it("redraws only the row whose run got new events", async () => {
    const result = await page.evaluate((runs) => {
      const el = document.createElement("sluice-timeline");
      document.body.prepend(el);
      const events = window.__sluice!.manyRuns(runs);
      el.events = events;
      el.renderNow();
      const root = el.shadowRoot!;
      const row = (runId: string) => root.querySelector(`[data-kind="run"][data-run="${runId}"]`)!;
      const target = "run-000003";
      const neighbour = row("run-000004").querySelector('[data-kind="stage"]')!;
      const observer = new MutationObserver(() => {});
      observer.observe(root.querySelector(".chart")!, {
        subtree: true,
        childList: true,
        attributes: true,
        characterData: true,
      });
      // A log line in the middle of run 3: the axis stays as it is.
      const at =
        events.find((e) => e.runId === target && e.type === "stage.started" && e.stage === "check")!.at + 1;
      el.push({
        id: "late-log",
        runId: target,
        workflowId: "orders",
        seq: 100,
        at,
        source: "logger",
        type: "log",
        level: "warn",
        message: "late",
      });
      el.renderNow();
      const changes = observer.takeRecords().map((record) => record.target);
      observer.disconnect();
      const changed = row(target);
      const out = {
        logs: changed.querySelectorAll('[data-kind="log"][data-level="warn"]').length,
        outside: changes.filter((node) => !changed.contains(node) && !changed.parentNode!.isSameNode(node))
          .length,
        neighbourKept: row("run-000004").querySelector('[data-kind="stage"]') === neighbour,
        changes: changes.length,
      };
      el.remove();
      return out;
    }, RUNS);
    expect(result.logs).toBe(1);
    expect(result.changes).toBeGreaterThan(0);
    expect(result.outside).toBe(0);
    expect(result.neighbourKept).toBe(true);
  });
});
