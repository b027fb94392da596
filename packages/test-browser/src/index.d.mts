import type { BrowserContext, Page } from "playwright-core";

/** Flags that keep headless Chromium off the (closed) network and quiet on this machine. */
export declare const CHROMIUM_ARGS: readonly string[];
/** Where Chromium is looked for: `CHROMIUM_PATH`, else Debian's `/usr/bin/chromium`. */
export declare function chromiumPath(): string;
/** Throws (a test must fail, never skip) when Chromium is missing, saying how to install it; returns its path. */
export declare function requireChromium(purpose?: string, path?: string): string;

/** Options for {@link launchChromium} and {@link openBundledPage}. */
export interface LaunchOptions {
  /** Named in the missing-Chromium message. */
  purpose?: string;
  /** Page size (device scale factor 1, for stable screenshots). */
  viewport?: { width: number; height: number };
}
/** Launches Chromium with a fresh profile; `close()` also removes the profile. */
export declare function launchChromium(
  options?: LaunchOptions,
): Promise<{ context: BrowserContext; close(): Promise<void> }>;

/** Serves the files under `dir` on 127.0.0.1 at a random port; `/` is `index.html`; no path escapes `dir`. */
export declare function serveDirectory(dir: string): Promise<{ url: string; close(): Promise<void> }>;
/** Bundles `entry` and everything it imports into one browser ES module (esbuild). */
export declare function bundleForBrowser(entry: string): Promise<string>;

/**
 * Bundles `entry`, serves it in a minimal page on loopback, opens it in Chromium and waits until the
 * module sets `window.__sluice` (or `window.__sluiceError`, which fails the call).
 */
export declare function openBundledPage(
  entry: string,
  options?: LaunchOptions & { title?: string; head?: string },
): Promise<{ page: Page; url: string; pageErrors: Error[]; close(): Promise<void> }>;
