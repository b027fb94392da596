// Shared by every real-browser test in the repo (the IndexedDB adapter's conformance run, the
// timeline viewer, the browser-timeline example): one place knows how to find and launch Debian's
// Chromium on this platform, and how to serve a page from loopback.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize, resolve, sep } from "node:path";
import { build } from "esbuild";
import { chromium } from "playwright-core";

/** Flags that keep headless Chromium off the (closed) network and quiet on this machine. */
export const CHROMIUM_ARGS = Object.freeze([
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
]);

export function chromiumPath() {
  return process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
}

export function requireChromium(purpose = "this test", path = chromiumPath()) {
  if (!existsSync(path)) {
    throw new Error(
      `Chromium not found at ${path}. ${purpose} needs a real Chromium: install Debian's package ` +
        "(sudo apt-get install -y chromium) or set CHROMIUM_PATH to a Chromium binary. " +
        "(playwright-core drives the system Chromium; `npx playwright install` is not used.)",
    );
  }
  return path;
}

export async function launchChromium(options = {}) {
  const executablePath = requireChromium(options.purpose);
  const userDataDir = await mkdtemp(join(tmpdir(), "sluice-chromium-"));
  try {
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: [...CHROMIUM_ARGS],
      ...(options.viewport && { viewport: options.viewport, deviceScaleFactor: 1 }),
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

function listen(handler) {
  const server = createServer(handler);
  return new Promise((done, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      done({
        url: `http://127.0.0.1:${server.address().port}/`,
        close: () => new Promise((closed) => server.close(() => closed())),
      });
    });
  });
}

const CONTENT_TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
};

export function serveDirectory(dir) {
  const base = resolve(dir);
  return listen(async (req, res) => {
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
}

export async function bundleForBrowser(entry) {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
    sourcemap: "inline",
  });
  return result.outputFiles[0].text;
}

export async function openBundledPage(entry, options = {}) {
  const script = await bundleForBrowser(entry);
  const html =
    `<!doctype html><html lang="en"><meta charset="utf-8"><title>${options.title ?? "sluice test page"}</title>` +
    (options.head ?? "") +
    '<script type="module" src="/bundle.js"></script>';
  const server = await listen((req, res) => {
    if (req.url === "/") res.writeHead(200, { "content-type": CONTENT_TYPES[".html"] }).end(html);
    else if (req.url === "/bundle.js")
      res.writeHead(200, { "content-type": CONTENT_TYPES[".js"] }).end(script);
    else res.writeHead(404).end();
  });
  let browser;
  try {
    browser = await launchChromium(options);
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    const pageErrors = [];
    page.on("pageerror", (error) => pageErrors.push(error));
    await page.goto(server.url);
    await page.waitForFunction(
      () => window.__sluice !== undefined || window.__sluiceError !== undefined,
      null,
      {
        timeout: 30_000,
      },
    );
    const loadError = await page.evaluate(() => window.__sluiceError);
    if (loadError !== undefined || pageErrors.length > 0) {
      throw new Error(`the test page failed to load: ${loadError ?? pageErrors.map(String).join("; ")}`);
    }
    const opened = browser;
    return {
      page,
      url: server.url,
      pageErrors,
      close: async () => {
        await opened.close();
        await server.close();
      },
    };
  } catch (error) {
    await browser?.close();
    await server.close();
    throw error;
  }
}
