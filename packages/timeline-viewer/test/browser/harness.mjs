// Runs a bundled page in a real Chromium: esbuild bundles the entry (the viewer's source plus the
// real runtime packages it imports), a node:http server on 127.0.0.1 serves it, and playwright-core
// drives Debian's Chromium with a fresh profile. Used by test/chromium.test.ts.
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { chromium } from "playwright-core";

/** Where Chromium is looked for: CHROMIUM_PATH, else Debian's package. */
export function chromiumPath() {
  return process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
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

/** Throws (never skips) when Chromium is missing, saying how to install it; returns its path. */
export function requireChromium() {
  const path = chromiumPath();
  if (!existsSync(path)) {
    throw new Error(
      `Chromium not found at ${path}. The timeline viewer's browser test needs a real Chromium: ` +
        "install Debian's package (sudo apt-get install -y chromium) or set CHROMIUM_PATH to a Chromium binary. " +
        "(`npx playwright install` is not used: playwright-core drives the system Chromium.)",
    );
  }
  return path;
}

/** Bundles `entry` (and everything it imports) into one browser ES module. */
export async function bundle(entry) {
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

function serve(script) {
  const html =
    '<!doctype html><html lang="en"><meta charset="utf-8"><title>sluice timeline viewer</title>' +
    "<style>body{margin:0;padding:16px;background:#f3f4f6;font-family:system-ui,sans-serif}" +
    "h1{font-size:15px;margin:0 0 10px;color:#111827}sluice-timeline{border:1px solid #e5e7eb;border-radius:6px;" +
    "overflow:hidden;box-shadow:0 1px 2px rgba(0,0,0,.05)}</style>" +
    "<h1>Sluice — run timeline</h1>" +
    '<script type="module" src="/bundle.js"></script>';
  const server = createServer((req, res) => {
    if (req.url === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(html);
    } else if (req.url === "/bundle.js") {
      res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" }).end(script);
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

/**
 * Opens a Chromium page running the bundle of `entry` and waits until the module has set
 * `window.__sluice` (or `window.__sluiceError`). Resolves to `{ page, url, close }`.
 */
export async function openBrowserPage(entry, viewport = { width: 1280, height: 720 }) {
  const executablePath = requireChromium();
  const script = await bundle(entry);
  const server = await serve(script);
  const userDataDir = await mkdtemp(join(tmpdir(), "sluice-viewer-chromium-"));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport,
      deviceScaleFactor: 1,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const pageErrors = [];
    page.on("pageerror", (error) => pageErrors.push(error));
    const { port } = server.address();
    const url = `http://127.0.0.1:${port}/`;
    await page.goto(url);
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
    const close = async () => {
      await context.close().catch(() => {});
      await new Promise((resolve) => server.close(resolve));
      await rm(userDataDir, { recursive: true, force: true });
    };
    return { page, url, pageErrors, close };
  } catch (error) {
    await context?.close().catch(() => {});
    server.close();
    await rm(userDataDir, { recursive: true, force: true });
    throw error;
  }
}
