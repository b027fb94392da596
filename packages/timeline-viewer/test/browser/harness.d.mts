import type { Page } from "playwright-core";

/** Where Chromium is looked for: CHROMIUM_PATH, else Debian's package. */
export function chromiumPath(): string;
/** Throws (never skips) when Chromium is missing, saying how to install it; returns its path. */
export function requireChromium(): string;
/** Bundles `entry` (and everything it imports) into one browser ES module. */
export function bundle(entry: string): Promise<string>;
/** Opens a Chromium page running the bundle of `entry`, once it has set `window.__sluice`. */
export function openBrowserPage(
  entry: string,
  viewport?: { width: number; height: number },
): Promise<{ page: Page; url: string; pageErrors: Error[]; close(): Promise<void> }>;
