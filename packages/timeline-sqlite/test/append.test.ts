import type { TimelineEvent } from "@sluice/timeline";
import { describe, expect, it } from "vitest";
import { createSqliteTimelineStore } from "../src/index.js";

const event = (id: string, seq: number, message: string): TimelineEvent => ({
  id,
  runId: "r",
  workflowId: "w",
  seq,
  at: 1,
  source: "runtime",
  type: "log",
  message,
});

// Appends are written several rows per INSERT; these check the chunk edges.
describe("append batches", () => {
  it("keeps the first copy of an id repeated within and across insert chunks", async () => {
    const store = await createSqliteTimelineStore({ filename: ":memory:" });
    const batch = Array.from({ length: 70 }, (_, i) => event(`e${i}`, i, `m${i}`));
    for (const at of [3, 20, 40, 69]) batch[at] = event("dup", at, `copy at ${at}`);
    await store.append(batch);
    const { events } = await store.query({ limit: 100 });
    expect(events.filter((e) => e.id === "dup").map((e) => e.message)).toEqual(["copy at 3"]);
    expect(events).toHaveLength(67);
    await store.close();
  });

  it.each([1, 31, 32, 33, 64, 65, 1000])("stores every event of a batch of %i, in order", async (size) => {
    const store = await createSqliteTimelineStore({ filename: ":memory:" });
    await store.append(Array.from({ length: size }, (_, i) => event(`e${i}`, i, `m${i}`)));
    const { events } = await store.query({ limit: 1000 });
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: size }, (_, i) => i));
    await store.close();
  });
});
