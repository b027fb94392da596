// Bundled by @sluice/test-browser (openBundledPage) into the Chromium test page: the built package's
// buses and the framework-free conformance suite, run on the page's own event loop and timers.
import { runEventBusConformance } from "../../dist/conformance.js";
import { createDeferredEventBus, createEventBus } from "../../dist/index.js";

/** One case's outcome, as plain data the test process can receive. */
export interface PageResult {
  bus: string;
  name: string;
  passed: boolean;
  error?: string;
}

declare global {
  interface Window {
    __sluice?: { runConformance(): Promise<PageResult[]> };
    __sluiceError?: string;
  }
}

const quiet = { onError: () => {} };

window.__sluice = {
  async runConformance() {
    const out: PageResult[] = [];
    const record = (bus: string) => (r: { name: string; passed: boolean; error?: unknown }) => {
      const result: PageResult = { bus, name: r.name, passed: r.passed };
      if (!r.passed) result.error = r.error instanceof Error ? r.error.message : String(r.error);
      out.push(result);
    };
    await runEventBusConformance(
      { create: () => createEventBus(quiet), synchronous: true },
      record("createEventBus"),
    );
    await runEventBusConformance(
      {
        create: () => createDeferredEventBus(quiet),
        settled: (bus) => bus.delivered(),
      },
      record("createDeferredEventBus"),
    );
    return out;
  },
};
