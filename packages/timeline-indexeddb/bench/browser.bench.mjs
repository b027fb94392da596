// The built IndexedDB adapter in a real Chromium (Debian's), through the same page harness as the
// browser tests. Run: pnpm --filter @sluice/timeline-indexeddb build && pnpm --filter @sluice/timeline-indexeddb bench:browser
import { fileURLToPath } from "node:url";
import { openBundledPage } from "@sluice/test-browser";
import { printTables } from "./workload.mjs";

const browser = await openBundledPage(fileURLToPath(new URL("./browser-page.mjs", import.meta.url)), {
  purpose: "The IndexedDB browser benchmark",
});
try {
  const totals = [
    [1, 2_000],
    [100, 50_000],
    [1000, 50_000],
  ];
  const result = await browser.page.evaluate((t) => window.__sluice.bench(t), totals);
  const version = await browser.page.evaluate(() => window.__sluice.userAgent.match(/Chrome\/[\d.]+/)?.[0]);
  printTables(`@sluice/timeline-indexeddb in ${version} (headless, real IndexedDB on disk)`, result);
} finally {
  await browser.close();
}
