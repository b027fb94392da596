// W6 contenders: the three timeline adapters, and an array push as the floor.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** @type {import("./contract.mjs").CreateTimeline} */
export async function createArrayTimeline() {
  let events = [];
  return {
    async append(batch) {
      for (const event of batch) events.push(event);
    },
    close: async () => {
      events = [];
    },
  };
}

/** @type {import("./contract.mjs").CreateTimeline} */
export async function createMemoryTimeline() {
  const { createMemoryTimelineStore } = await import("@sluice/timeline-memory");
  return createMemoryTimelineStore({ maxEvents: 1_000_000 });
}

/** @type {import("./contract.mjs").CreateTimeline} */
export async function createSqliteTimeline() {
  const { createSqliteTimelineStore } = await import("@sluice/timeline-sqlite");
  const dir = await mkdtemp(join(tmpdir(), "sluice-bench-"));
  const store = await createSqliteTimelineStore({ filename: join(dir, "timeline.db") });
  return {
    append: (batch) => store.append(batch),
    async close() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

let databases = 0;

/** @type {import("./contract.mjs").CreateTimeline} */
export async function createIndexedDBTimeline() {
  const { indexedDB, IDBKeyRange } = await import("fake-indexeddb");
  const { createIndexedDBTimelineStore } = await import("@sluice/timeline-indexeddb");
  return createIndexedDBTimelineStore({ database: `bench-${++databases}`, indexedDB, IDBKeyRange });
}
