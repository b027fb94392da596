// Runs a bundled module in a real Chromium page: esbuild bundles the entry (which imports the
// built adapter), a tiny node:http server on 127.0.0.1 serves it, and playwright-core drives
// Debian's Chromium with a fresh profile. Used by test/chromium.test.ts and bench/browser.bench.mjs.
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

/**
 * Throws (never skips) when Chromium is missing, saying how to install it.
 */
export function requireChromium() {
  const path = chromiumPath();
  if (!existsSync(path)) {
    throw new Error(
      `Chromium not found at ${path}. The IndexedDB adapter's browser tests need a real Chromium: ` +
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
    '<!doctype html><meta charset="utf-8"><title>sluice timeline-indexeddb</title>' +
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
 * Opens a Chromium page running the bundle of `entry`, and waits until the module has set
 * `window.__sluice`. Resolves to `{ page, url, close }`; `close()` tears everything down.
 */
export async function openBrowserPage(entry) {
  const executablePath = requireChromium();
  const script = await bundle(entry);
  const server = await serve(script);
  const userDataDir = await mkdtemp(join(tmpdir(), "sluice-chromium-"));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
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
    return { page, url, close };
  } catch (error) {
    await context?.close().catch(() => {});
    server.close();
    await rm(userDataDir, { recursive: true, force: true });
    throw error;
  }
}
