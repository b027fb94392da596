// Builds the example with Vite's JS API. Launching Chromium and serving the output come from
// @sluice/test-browser, shared with the other real-browser tests.
import { build } from "vite";

/** Builds the page in `root` (with its vite.config.ts) into `outDir`. */
export async function buildPage(root: string, outDir: string): Promise<void> {
  await build({
    root,
    logLevel: "error",
    build: { outDir, emptyOutDir: true, sourcemap: false },
  });
}
