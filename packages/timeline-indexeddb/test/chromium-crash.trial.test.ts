import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleForBrowser, CHROMIUM_ARGS, requireChromium } from "@sluice/test-browser";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// A tab that crashes, and a browser killed with SIGKILL, while the built adapter appends to a real
// Chromium's IndexedDB; then the same profile and origin are opened again. The origin (the server's
// port) stays the same throughout: IndexedDB is per origin.
const PAGE = fileURLToPath(new URL("./browser/crash-page.ts", import.meta.url));
/** Events per batch, as the page appends them. */
const BATCH = 40;

let url: string;
let closeServer: () => Promise<void>;
beforeAll(async () => {
  const script = await bundleForBrowser(PAGE);
  const html = '<!doctype html><meta charset="utf-8"><script type="module" src="/bundle.js"></script>';
  const server = createServer((req, res) => {
    if (req.url === "/") res.writeHead(200, { "content-type": "text/html" }).end(html);
    else if (req.url === "/bundle.js") res.writeHead(200, { "content-type": "text/javascript" }).end(script);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  closeServer = () => new Promise((resolve) => server.close(() => resolve()));
}, 60_000);
afterAll(() => closeServer?.());

/** mulberry32: the crash moments are seeded. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const launch = (userDataDir: string) =>
  chromium.launchPersistentContext(userDataDir, {
    executablePath: requireChromium("The IndexedDB crash trial"),
    headless: true,
    args: [...CHROMIUM_ARGS],
  });

/** A new page on the test origin, its acknowledged batches collected from its console. */
async function openPage(context: BrowserContext, acked: Set<number>): Promise<Page> {
  const page = await context.newPage();
  page.on("console", (message) => {
    const match = /^ack \S+ (\d+)$/.exec(message.text());
    if (match) acked.add(Number(match[1]));
  });
  await page.goto(url);
  await page.waitForFunction(() => window.__sluiceCrash !== undefined);
  return page;
}

/** Starts appending in `page` and resolves once `count` more batches were acknowledged. */
async function appendUntil(page: Page, database: string, first: number, acked: Set<number>, count: number) {
  void page
    .evaluate(([db, from]) => window.__sluiceCrash!.appendForever(db, from), [database, first] as const)
    .catch(() => {});
  for (let waited = 0; [...acked].filter((b) => b >= first).length < count; waited += 10) {
    if (waited > 30_000) throw new Error(`only ${acked.size} batches acknowledged in 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** What is missing or partial of the acknowledged batches, by what `page` reads back. */
async function check(page: Page, database: string, acked: Set<number>): Promise<string[]> {
  const stored = await page.evaluate((db) => window.__sluiceCrash!.storedBatches(db), database);
  const problems = Object.entries(stored)
    .filter(([, n]) => n !== BATCH)
    .map(([run, n]) => `${run}: ${n} of ${BATCH}`);
  for (const b of acked) if (stored[`batch-${b}`] === undefined) problems.push(`batch-${b} lost`);
  return problems;
}

describe("IndexedDB in Chromium, crashed mid-append", () => {
  it("a crashed tab: every acknowledged batch is whole, and the database opens in the next tab", async () => {
    const profile = await mkdtemp(join(tmpdir(), "sluice-idb-crash-"));
    const context = await launch(profile);
    try {
      const random = seeded(99);
      const acked = new Set<number>();
      for (let round = 0; round < 2; round++) {
        const page = await openPage(context, acked);
        await appendUntil(page, "tab-crash", round * 10_000, acked, 15);
        await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 40)));
        const crashed = page.waitForEvent("crash");
        await page.goto("chrome://crash").catch(() => {});
        await crashed;
        await page.close();
        const next = await openPage(context, acked);
        expect(await check(next, "tab-crash", acked)).toEqual([]);
        await next.close();
      }
      expect(acked.size).toBeGreaterThanOrEqual(30);
    } finally {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    }
  }, 120_000);

  it("a browser killed with SIGKILL: every acknowledged batch is whole after a restart on the same profile", async () => {
    const profile = await mkdtemp(join(tmpdir(), "sluice-idb-kill-"));
    try {
      const random = seeded(7);
      const acked = new Set<number>();
      const context = await launch(profile);
      const page = await openPage(context, acked);
      await appendUntil(page, "browser-kill", 0, acked, 15);
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 40)));
      const closed = new Promise((resolve) => context.once("close", resolve));
      process.kill(browserPid(profile), "SIGKILL");
      await closed;
      const restarted = await launch(profile);
      try {
        const next = await openPage(restarted, acked);
        expect(await check(next, "browser-kill", acked)).toEqual([]);
        // and it takes appends again
        await appendUntil(next, "browser-kill", 10_000, acked, 5);
      } finally {
        await restarted.close();
      }
    } finally {
      await rm(profile, { recursive: true, force: true });
    }
  }, 120_000);
});

describe("IndexedDB in Chromium, over its quota", () => {
  it("rejects the appends that do not fit with STORAGE_FAILED naming QuotaExceededError; what was acknowledged reads back", async () => {
    const profile = await mkdtemp(join(tmpdir(), "sluice-idb-quota-"));
    const context = await launch(profile);
    try {
      const page = await openPage(context, new Set());
      const cdp = await context.newCDPSession(page);
      await cdp.send("Storage.overrideQuotaForOrigin", { origin: new URL(url).origin, quotaSize: 400_000 });
      const { acked, failures, read } = await page.evaluate(
        (db) => window.__sluiceCrash!.fillQuota(db),
        "quota",
      );
      expect(acked).toBeGreaterThan(0);
      // Chromium's QuotaExceededError has an empty message: the store's said "append failed: "
      expect(failures).toEqual(
        Array(3).fill(
          "STORAGE_FAILED QuotaExceededError: IndexedDB timeline store: append failed: QuotaExceededError",
        ),
      );
      expect(read).toBe(acked * BATCH);
    } finally {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    }
  }, 60_000);
});

/** The pid of the Chromium browser process (not a renderer, `--type=…`) running on `profile`. */
function browserPid(profile: string): number {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    if (args.includes(`--user-data-dir=${profile}`) && !args.some((a) => a.startsWith("--type="))) {
      return Number(entry);
    }
  }
  throw new Error(`no Chromium process on ${profile}`);
}
