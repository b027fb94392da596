import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import { launchChromium } from "@sluice/test-browser";
import { build } from "esbuild";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

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
  while ((await stored(page, database)).length < count) await page.waitForTimeout(20);
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
  const checkpoints = (page: Page) =>
    page.evaluate((prefix) => Object.keys(localStorage).filter((k) => k.startsWith(prefix)), CHECKPOINTS);
  const emit = (page: Page, type: string, payload: unknown) =>
    page.evaluate(([t, p]) => window.__sluiceRecipe!.emit(t as string, p), [type, payload] as const);
  const loaded = (page: Page) =>
    page.waitForFunction(() => window.__sluiceRecipe !== undefined, null, { timeout: 10_000 });

  it("loads the app's module in every tab; the lock holder runs orders from the other tab, and when it closes the other adopts its parked run", async () => {
    const url = `${await origin()}/recipe.html`;
    const a = await tab(url);
    await a.waitForFunction(async () => (await navigator.locks.query()).held?.length === 1); // a's runtime
    await loaded(a); // the code after the recipe ran: the module finished loading
    const b = await tab(url);
    await loaded(b);
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
    // b's runtime subscribes once it has opened the store and registered: an approval sent
    // before then finds no wait (the recipe says so), so approve until o2's checkpoint goes
    while ((await checkpoints(b)).length > 0) {
      await emit(b, "order.approved", { orderId: "o2", by: "b" });
      await b.waitForTimeout(50);
    }
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
    await page.waitForFunction(async () => (await navigator.locks.query()).held?.length === 1);
    await page.waitForFunction(() => window.__sluiceRecipe !== undefined);
    await page.evaluate(() => window.__sluiceRecipe!.emit("order.placed", { orderId: "o1" }));
    await page.waitForFunction(() => Object.keys(localStorage).length === 1);
    await page.evaluate(() => window.__sluiceRecipe!.emit("order.approved", { orderId: "o1", by: "ada" }));
    await page.waitForFunction(() => window.__sluiceRecipe!.told.length === 1); // shipped; telling the server
    // the page goes away now: what it saved is what the next load adopts
    expect(await checkpoints()).toEqual([]);
    await page.reload();
    await page.waitForFunction(async () => (await navigator.locks.query()).held?.length === 1);
    await page.waitForFunction(() => window.__sluiceRecipe !== undefined);
    expect(await checkpoints()).toEqual([]);
    await page.close();
  }, 60_000);
});

afterAll(() => {
  expect(uncaught).toEqual([]);
});
