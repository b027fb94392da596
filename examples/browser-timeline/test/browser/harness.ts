// Builds the example with Vite's JS API, serves the output from 127.0.0.1 with node:http, and
// drives Debian's Chromium through playwright-core with a fresh profile (so IndexedDB starts empty
// and survives reloads within the test).
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize, resolve, sep } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";
import { build } from "vite";

/** Where Chromium is looked for: CHROMIUM_PATH, else Debian's package. */
export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
}

/** Throws (never skips) when Chromium is missing, saying how to install it; returns its path. */
export function requireChromium(path = chromiumPath()): string {
  if (!existsSync(path)) {
    throw new Error(
      `Chromium not found at ${path}. The browser-timeline example's test drives a real Chromium: ` +
        "install Debian's package (sudo apt-get install -y chromium) or set CHROMIUM_PATH to a Chromium binary. " +
        "(playwright-core drives the system Chromium; `npx playwright install` is not used.)",
    );
  }
  return path;
}

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Builds the page in `root` (with its vite.config.ts) into `outDir`. */
export async function buildPage(root: string, outDir: string): Promise<void> {
  await build({
    root,
    logLevel: "error",
    build: { outDir, emptyOutDir: true, sourcemap: false },
  });
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
};

/** Serves the files under `dir` on 127.0.0.1 at a random port; `/` is `index.html`. */
export function serveDirectory(dir: string): Promise<{ url: string; close(): Promise<void> }> {
  const base = resolve(dir);
  const server: Server = createServer(async (req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? "/", "http://localhost").pathname);
    const file = resolve(base, `.${normalize(pathname === "/" ? "/index.html" : pathname)}`);
    if (file !== base && !file.startsWith(base + sep)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      res
        .writeHead(200, { "content-type": CONTENT_TYPES[extname(file)] ?? "application/octet-stream" })
        .end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolvePromise, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolvePromise({
        url: `http://127.0.0.1:${port}/`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}

/** Launches Chromium with a fresh profile; `close` also removes the profile. */
export async function launchChromium(viewport: {
  width: number;
  height: number;
}): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const executablePath = requireChromium();
  const userDataDir = await mkdtemp(join(tmpdir(), "sluice-browser-timeline-chromium-"));
  try {
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport,
      deviceScaleFactor: 1,
    });
    return {
      context,
      close: async () => {
        await context.close().catch(() => {});
        await rm(userDataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(userDataDir, { recursive: true, force: true });
    throw error;
  }
}
