import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import { launchChromium } from "@sluice/test-browser";
import { build } from "esbuild";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ShopProbe } from "./app/shop.js";

// Sluice in a browser app, as a front-end team ships it: pages bundled by esbuild for the browser
// from the packages' published entry points (their `exports`, ESM builds), served from loopback,
// driven in Debian's Chromium (fresh profile). Each test gets an origin of its own (a server on
// its own port), so localStorage, IndexedDB and Web Locks start empty.
const APP = fileURLToPath(new URL("./app/", import.meta.url));
const DOCS = fileURLToPath(new URL("../../../docs/pause-and-resume.md", import.meta.url));
const RECIPE_FENCE = "```ts no-run: needs a browser (localStorage, pagehide, navigator.locks)";

/** docs/pause-and-resume.md's browser-tab recipe, the code block as a user copies it. */
function recipe(): string {
  const lines = readFileSync(DOCS, "utf8").split("\n");
  const start = lines.indexOf(RECIPE_FENCE);
  if (start < 0) throw new Error(`docs/pause-and-resume.md has no block fenced ${RECIPE_FENCE}`);
  return lines.slice(start + 1, lines.indexOf("```", start + 1)).join("\n");
}

async function bundle(file: string, edit: (source: string) => string = (s) => s): Promise<string> {
  const result = await build({
    stdin: {
      contents: edit(readFileSync(APP + file, "utf8")),
      loader: "ts",
      resolveDir: APP,
      sourcefile: file,
    },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0]!.text;
}

const scripts: Record<string, string> = {};
let browser: Awaited<ReturnType<typeof launchChromium>>;
const servers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  [scripts.shop, scripts.recipe, scripts["worker-page"], scripts.worker] = await Promise.all([
    bundle("shop.ts"),
    bundle("recipe-page.ts", (s) => s.replace("/* the recipe */", recipe())),
    bundle("worker-page.ts"),
    bundle("worker.ts"),
  ]);
  browser = await launchChromium({ purpose: "The browser-app trial" });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await Promise.all(servers.map((close) => close()));
});

/** A new origin: `/<name>.html` loads the module `<name>.js`; `/blank.html` is empty. */
async function origin(): Promise<string> {
  const http = createServer((req, res) => {
    const [, name, ext] = /^\/([\w-]+)\.(html|js)/.exec(req.url ?? "") ?? [];
    if (ext === "html") {
      const body = name === "blank" ? "" : `<script type="module" src="/${name}.js"></script>`;
      res.writeHead(200, { "content-type": "text/html" }).end(`<!doctype html><meta charset="utf-8">${body}`);
    } else if (ext === "js" && name !== undefined && scripts[name] !== undefined) {
      res.writeHead(200, { "content-type": "text/javascript" }).end(scripts[name]);
    } else res.writeHead(404).end();
  });
  await new Promise<void>((listening) => http.listen(0, "127.0.0.1", listening));
  servers.push(() => new Promise((closed) => http.close(() => closed())));
  return `http://127.0.0.1:${(http.address() as { port: number }).port}`;
}

/** A new tab; what it throws uncaught fails the test at its end. */
const uncaught: string[] = [];
async function tab(url?: string): Promise<Page> {
  const page = await browser.context.newPage();
  page.on("pageerror", (error) => uncaught.push(String(error)));
  if (url !== undefined) await page.goto(url);
  return page;
}

/** Events stored in IndexedDB `database`, read with the raw API in `page`, in key (id) order. */
function stored(page: Page, database: string) {
  return page.evaluate(
    (name) =>
      new Promise<{ id: string; runId: string; seq: number; type: string }[]>((resolve, reject) => {
        const open = indexedDB.open(name);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const all = open.result.transaction("events").objectStore("events").getAll();
          all.onsuccess = () => {
            open.result.close();
            resolve(all.result);
          };
        };
      }),
    database,
  );
}

/** Waits until IndexedDB `database` holds `count` events. */
async function untilStored(page: Page, database: string, count: number): Promise<void> {
  await expect
    .poll(async () => (await stored(page, database)).length, { timeout: 10_000 })
    .toBeGreaterThanOrEqual(count);
}

/** Each run's stored events as `seq type`, in seq order. */
function stories(events: { runId: string; seq: number; type: string }[]): Record<string, string[]> {
  const byRun: Record<string, string[]> = {};
  for (const e of [...events].sort((a, b) => a.seq - b.seq))
    (byRun[e.runId] ??= []).push(`${e.seq} ${e.type}`);
  return byRun;
}

/** The 17 events of an order's run (placed, waited for approval, shipped), in seq order. */
const ORDER_STORY = [
  "1 run.started",
  ...["2 stage.started", "3 step.started", "4 log", "5 step.completed", "6 stage.completed"],
  ...["7 stage.started", "8 step.started", "9 step.completed", "10 stage.completed"],
  "11 run.paused",
  "12 run.resumed",
  ...["13 stage.started", "14 step.started", "15 step.completed", "16 stage.completed"],
  "17 run.completed",
];

describe("the browser-tab recipe of docs/pause-and-resume.md, as written, in two tabs", () => {
  const CHECKPOINTS = "orders-checkpoint:";
  const emit = (page: Page, type: string, payload: unknown) =>
    page.evaluate(([t, p]) => window.__sluiceRecipe!.emit(t as string, p), [type, payload] as const);
  const loaded = (page: Page) =>
    page.waitForFunction(() => window.__sluiceRecipe !== undefined, null, { timeout: 10_000 });

  it("loads the app's module in every tab; the lock holder runs orders from the other tab, and when it closes the other adopts its parked run", async () => {
    const url = `${await origin()}/recipe.html`;
    const a = await tab(url);
    await loaded(a); // the code after the recipe ran: the module finished loading
    await a.waitForFunction(() => window.__sluiceRecipe!.listening("order.placed")); // a holds the runtime
    const b = await tab(url);
    await loaded(b);
    expect(await b.evaluate(() => window.__sluiceRecipe!.listening("order.placed"))).toBe(false);
    await emit(b, "order.placed", { orderId: "o1" });
    await emit(b, "order.placed", { orderId: "o2" });
    await b.waitForFunction(
      (prefix) => Object.keys(localStorage).filter((k) => k.startsWith(prefix)).length === 2,
      CHECKPOINTS,
    );
    await emit(b, "order.approved", { orderId: "o1", by: "b" });
    await b.waitForFunction(
      (prefix) => Object.keys(localStorage).filter((k) => k.startsWith(prefix)).length === 1,
      CHECKPOINTS,
    );
    await untilStored(b, "orders-timeline", 17 + 11); // o1 whole, o2 up to its pause

    await a.close({ runBeforeUnload: true }); // b takes the lock and adopts o2
    await b.waitForFunction(() => window.__sluiceRecipe!.listening("order.approved")); // o2 waits in b
    await emit(b, "order.approved", { orderId: "o2", by: "b" });
    await b.waitForFunction(
      (prefix) => Object.keys(localStorage).filter((k) => k.startsWith(prefix)).length === 0,
      CHECKPOINTS,
    );
    await untilStored(b, "orders-timeline", 2 * 17);
    const events = await stored(b, "orders-timeline");
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    expect(Object.values(stories(events))).toEqual([ORDER_STORY, ORDER_STORY]);
    await b.close();
  }, 60_000);
});

describe("the browser-tab recipe, a tab reloaded while a run's onComplete awaits the app's work", () => {
  it("does not bring the finished run back waiting for the approval it had", async () => {
    const page = await tab(`${await origin()}/recipe.html`);
    const checkpoints = () => page.evaluate(() => Object.keys(localStorage));
    const started = () => page.waitForFunction(() => window.__sluiceRecipe?.listening("order.placed"));
    await started();
    await page.evaluate(() => window.__sluiceRecipe!.emit("order.placed", { orderId: "o1" }));
    await page.waitForFunction(() => Object.keys(localStorage).length === 1);
    await page.evaluate(() => window.__sluiceRecipe!.emit("order.approved", { orderId: "o1", by: "ada" }));
    await page.waitForFunction(() => window.__sluiceRecipe!.told.length === 1); // shipped; telling the server
    // the page goes away now: what it saved is what the next load adopts
    expect(await checkpoints()).toEqual([]);
    await page.reload();
    await started(); // registered, and so past the adopt loop
    expect(await page.evaluate(() => window.__sluiceRecipe!.listening("order.approved"))).toBe(false);
    await page.close();
  }, 60_000);
});

describe("a shop page: runtime in the tab, IndexedDB timeline, live <sluice-timeline>", () => {
  const ready = async (page: Page) => {
    await page.waitForFunction(() => window.__sluice !== undefined || window.__sluiceError !== undefined);
    const error = await page.evaluate(() => window.__sluiceError);
    if (error !== undefined) throw new Error(`the shop page did not start: ${error}`);
  };
  const probe = <T>(page: Page, read: (shop: ShopProbe) => T): Promise<Awaited<T>> =>
    page.evaluate(`(${read.toString()})(window.__sluice)`) as Promise<Awaited<T>>;
  const order = async (page: Page, button: "place" | "approve", orderId: string) => {
    await page.fill("#order-id", orderId);
    await page.click(`#${button}`);
  };

  it("runs parked at a reload are adopted, approved and drawn whole, each event once", async () => {
    const page = await tab(`${await origin()}/shop.html?db=reload`);
    await ready(page);
    await order(page, "place", "o1");
    await order(page, "place", "o2");
    await page.waitForFunction(() => window.__sluice!.saved().length === 2);
    const parked = (await probe(page, (shop) => shop.saved())).sort();
    await page.reload();
    await ready(page);
    expect((await probe(page, (shop) => shop.adopted)).sort()).toEqual(parked);
    await order(page, "approve", "o2");
    await order(page, "approve", "o1");
    await page.waitForFunction(() => window.__sluice!.ended.length === 2);
    expect(await probe(page, (shop) => shop.ended)).toEqual(["o2 completed", "o1 completed"]);
    await probe(page, (shop) => shop.flush());
    const events = await stored(page, "reload");
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    expect(stories(events)).toEqual(Object.fromEntries(parked.map((runId) => [runId, ORDER_STORY])));
    // the live viewer shows each run's whole story: three stages, the pause, the resume
    const viewer = page.locator("sluice-timeline");
    for (const runId of parked) {
      const drawn = (kind: string) => viewer.locator(`[data-kind="${kind}"][data-run="${runId}"]`);
      await drawn("run").and(viewer.locator('[data-status="completed"]')).waitFor();
      expect(await drawn("stage").evaluateAll((ns) => ns.map((n) => n.getAttribute("data-status")))).toEqual([
        "completed",
        "completed",
        "completed",
      ]);
      expect(await drawn("pause").getAttribute("data-resumed-by")).toBe("event");
    }
    expect(await probe(page, (shop) => shop.errors)).toEqual([]);
    await page.close();
  }, 60_000);

  it("another tab deleting the timeline's database: the runtime's later batches are stored in a new one", async () => {
    const url = await origin();
    const page = await tab(`${url}/shop.html?db=deleted`);
    await ready(page);
    await order(page, "place", "o1");
    await page.waitForFunction(() => window.__sluice!.saved().length === 1);
    await probe(page, (shop) => shop.flush());
    const other = await tab(`${url}/blank.html`); // the app's "clear my data", say
    await other.evaluate(
      () =>
        new Promise<void>((resolve, reject) => {
          const request = indexedDB.deleteDatabase("deleted");
          request.onsuccess = () => resolve();
          request.onerror = () => reject(request.error);
          request.onblocked = () => reject(new Error("the shop's timeline store blocked the deletion"));
        }),
    );
    await page.bringToFront();
    await order(page, "approve", "o1");
    await order(page, "place", "o2");
    await order(page, "approve", "o2");
    await page.waitForFunction(() => window.__sluice!.ended.length === 2);
    await probe(page, (shop) => shop.flush());
    expect(await probe(page, (shop) => shop.ended)).toEqual(["o1 completed", "o2 completed"]);
    expect(await probe(page, (shop) => shop.errors)).toEqual([]);
    // o1's events up to its pause went with the old database; everything after is in the new one
    const runs = Object.values(stories(await stored(page, "deleted"))).sort((a, b) => a.length - b.length);
    expect(runs).toEqual([ORDER_STORY.slice(11), ORDER_STORY]);
    await other.close();
    await page.close();
  }, 60_000);

  it("another tab upgrading the timeline's database to a newer schema: the runtime reports each lost batch saying to reload, the runs go on", async () => {
    const url = await origin();
    const page = await tab(`${url}/shop.html?db=upgraded`);
    await ready(page);
    await order(page, "place", "o1");
    await page.waitForFunction(() => window.__sluice!.saved().length === 1);
    await probe(page, (shop) => shop.flush());
    const other = await tab(`${url}/blank.html`); // a newer build of the app, say
    await other.evaluate(
      () =>
        new Promise<void>((resolve, reject) => {
          const open = indexedDB.open("upgraded", 99);
          open.onsuccess = () => resolve(open.result.close());
          open.onerror = () => reject(open.error);
        }),
    );
    await page.bringToFront(); // a background tab draws no frames, and Playwright clicks wait for some
    await order(page, "approve", "o1");
    await order(page, "place", "o2");
    await order(page, "approve", "o2");
    await page.waitForFunction(() => window.__sluice!.ended.length === 2);
    await probe(page, (shop) => shop.flush());
    expect(await probe(page, (shop) => shop.ended)).toEqual(["o1 completed", "o2 completed"]);
    const errors = await probe(page, (shop) => shop.errors);
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) {
      expect(error).toMatch(
        /^STORAGE_FAILED timeline append of \d+ events failed, they are lost: IndexedDB timeline store: append\(\) failed: database "upgraded" now has a newer timeline schema than version 1, .*Reload the page to run that build's code/,
      );
    }
    await other.close();
    await page.close();
  }, 60_000);

  it("over the origin's storage quota: the runtime reports each lost batch, the runs go on", async () => {
    const url = await origin();
    const page = await tab();
    const cdp = await browser.context.newCDPSession(page);
    await cdp.send("Storage.overrideQuotaForOrigin", { origin: url, quotaSize: 100_000 });
    await page.goto(`${url}/shop.html?db=quota`);
    await ready(page);
    const ids = Array.from({ length: 40 }, (_, i) => `o${i}-${"x".repeat(400)}`);
    const click = (button: "place" | "approve") =>
      page.evaluate(
        ([selector, orderIds]) => {
          for (const orderId of orderIds) {
            document.querySelector<HTMLInputElement>("#order-id")!.value = orderId;
            document.querySelector<HTMLButtonElement>(selector)!.click();
          }
        },
        [`#${button}`, ids] as const,
      );
    await click("place");
    await page.waitForFunction((n) => window.__sluice!.saved().length === n, ids.length);
    await click("approve");
    await page.waitForFunction((n) => window.__sluice!.ended.length === n, ids.length);
    await probe(page, (shop) => shop.flush());
    expect(await probe(page, (shop) => shop.ended)).toEqual(ids.map((id) => `${id} completed`));
    const errors = await probe(page, (shop) => shop.errors);
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) {
      expect(error).toMatch(
        /^STORAGE_FAILED timeline append of \d+ events failed, they are lost: .*QuotaExceededError/,
      );
    }
    await page.close();
  }, 60_000);
});

describe("the runtime in a Web Worker, the page on the broadcast bus", () => {
  it.each([
    ["Worker", ""],
    ["SharedWorker", "?shared"],
  ])(
    "%s: runs an order the page places and approves, with no Node globals, its timeline in the origin's IndexedDB",
    async (_, query) => {
      const page = await tab(`${await origin()}/worker-page.html${query}`);
      const seen = (type: string) =>
        page.waitForFunction((t) => window.__sluiceWorkerPage?.seen.find((e) => e.type === t)?.payload, type);
      expect(await (await seen("shop.ready")).jsonValue()).toEqual({ process: "undefined" });
      await page.evaluate(() => window.__sluiceWorkerPage!.emit("order.placed", { orderId: "w1" }));
      await page.evaluate(() =>
        window.__sluiceWorkerPage!.emit("order.approved", { orderId: "w1", by: "page" }),
      );
      expect(await (await seen("shop.ended")).jsonValue()).toEqual({
        status: "completed",
        state: { orderId: "w1", approvedBy: "page", shipped: true },
      });
      expect(Object.values(stories(await stored(page, "worker-timeline")))).toEqual([ORDER_STORY]);
      expect(
        await page.evaluate(() => window.__sluiceWorkerPage!.seen.filter((e) => e.type === "shop.error")),
      ).toEqual([]);
      await page.close();
    },
    60_000,
  );
});

describe("bundled for the browser (esbuild, platform browser, code splitting)", () => {
  /** Inputs of each output file, by package (`@sluice/x`, or the third-party package's name). */
  async function chunks(app: string): Promise<string[][]> {
    const result = await build({
      stdin: { contents: app, loader: "ts", resolveDir: APP },
      bundle: true,
      splitting: true,
      outdir: "out", // not written
      format: "esm",
      platform: "browser", // a Node built-in anywhere in the graph fails the build
      minify: true,
      metafile: true,
      write: false,
      logLevel: "silent",
    });
    const packageOf = (input: string) => {
      const sluice = /packages\/([^/]+)\/dist\//.exec(input);
      if (sluice !== null) return `@sluice/${sluice[1]}`;
      return /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? input;
    };
    return Object.values(result.metafile.outputs).map((out) =>
      [...new Set(Object.keys(out.inputs).map(packageOf))].sort(),
    );
  }

  it("a minimal app (runtime, in-page bus, memory timeline) loads none of the other adapters; the IndexedDB one only when createTestTimelineStore is called", async () => {
    const [entry, ...lazy] = await chunks(`
      import { WorkflowRuntime } from "@sluice/runtime-core";
      import { createEventBus } from "@sluice/events";
      import { StoreRegistry } from "@sluice/store";
      import { createMemoryTimelineStore } from "@sluice/timeline-memory";
      export const runtime = new WorkflowRuntime({
        bus: createEventBus(), storeRegistry: new StoreRegistry(), timelineStore: await createMemoryTimelineStore(),
      });`);
    expect(entry).not.toContain("@sluice/timeline-indexeddb");
    expect(entry).not.toContain("@sluice/timeline-viewer");
    expect(entry).not.toContain("@sluice/events-broadcast");
    expect(lazy.flat()).toContain("@sluice/timeline-indexeddb");
  });

  it("the full app (broadcast bus, IndexedDB timeline, viewer) bundles without Node built-ins", async () => {
    const all = (await chunks('import "./shop.ts"; import "./worker.ts";')).flat();
    for (const name of [
      "@sluice/runtime-core",
      "@sluice/events-broadcast",
      "@sluice/timeline-indexeddb",
      "@sluice/timeline-viewer",
    ]) {
      expect(all).toContain(name);
    }
  });
});

afterAll(() => {
  expect(uncaught).toEqual([]);
});
