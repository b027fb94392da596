// Bundled into the page of chromium-crash.trial.test.ts: appends batches to a database through the
// built adapter, telling the test process of each one acknowledged (its append resolved) on the
// console, until the test crashes the tab or kills the browser; then reads back what is stored.
import { createIndexedDBTimelineStore } from "../../dist/index.js";

/** Events per batch (one append each); chromium-crash.trial.test.ts counts on it. */
const BATCH = 40;

declare global {
  interface Window {
    __sluiceCrash?: {
      /** Appends batch after batch, logging "ack <database> <batch>" once each has resolved. */
      appendForever(database: string, first: number): Promise<void>;
      /** Events stored per run (one run per batch), read back by a new store. */
      storedBatches(database: string): Promise<Record<string, number>>;
      /**
       * Appends batches until three fail (the origin's quota is small), then reads back: how many
       * were acknowledged, how each failure was told, and how many events a query then finds.
       */
      fillQuota(database: string): Promise<{ acked: number; failures: string[]; read: number }>;
    };
  }
}

window.__sluiceCrash = {
  async appendForever(database, first) {
    const store = await createIndexedDBTimelineStore({ database });
    const data = { note: "z".repeat(200), list: [1, 2, 3] };
    for (let b = first; ; b++) {
      await store.append(
        Array.from({ length: BATCH }, (_, seq) => ({
          id: `b${b}:${seq}`,
          runId: `batch-${b}`,
          workflowId: "crash",
          seq,
          at: b,
          source: "runtime",
          type: "log",
          data,
        })),
      );
      console.log(`ack ${database} ${b}`);
    }
  },
  async fillQuota(database) {
    const store = await createIndexedDBTimelineStore({ database });
    const data = { note: "q".repeat(2000) };
    const failures: string[] = [];
    let acked = 0;
    for (let b = 0; failures.length < 3; b++) {
      try {
        await store.append(
          Array.from({ length: BATCH }, (_, seq) => ({
            id: `b${b}:${seq}`,
            runId: `batch-${b}`,
            workflowId: "quota",
            seq,
            at: b,
            source: "runtime",
            type: "log",
            data,
          })),
        );
        acked++;
      } catch (e) {
        const error = e as { code?: string; message?: string; cause?: { name?: string } };
        failures.push(`${error.code} ${error.cause?.name}: ${error.message}`);
      }
    }
    await store.close();
    const stored = await window.__sluiceCrash!.storedBatches(database);
    return { acked, failures, read: Object.values(stored).reduce((a, n) => a + n, 0) };
  },
  async storedBatches(database) {
    const store = await createIndexedDBTimelineStore({ database });
    const counts: Record<string, number> = {};
    let page = await store.query({ limit: 1000 });
    for (;;) {
      for (const e of page.events) counts[e.runId] = (counts[e.runId] ?? 0) + 1;
      if (page.next === undefined) break;
      page = await store.query({ limit: 1000, next: page.next });
    }
    await store.close();
    return counts;
  },
};
