import type { TimelineBatch, TimelineStore } from "@sluice/timeline";
import { createMemoryTimelineStore } from "@sluice/timeline-memory";
import { describe, it } from "vitest";
import { harness, tick } from "./helpers.js";

describe("scratch", () => {
  it("store that deep-freezes the lent batch", async () => {
    const unhandled: unknown[] = [];
    const on = (e: unknown) => unhandled.push(e);
    process.on("unhandledRejection", on);
    const inner = await createMemoryTimelineStore();
    const store: TimelineStore = {
      append: (events) => inner.append(events),
      async appendBatch(batch: TimelineBatch) {
        await inner.append(batch.toEvents());
        Object.freeze(batch); // keeps it "immutable" as stored
        for (const v of Object.values(batch)) if (Array.isArray(v)) Object.freeze(v);
      },
      query: (f) => inner.query(f),
      delete: (f) => inner.delete(f),
      close: () => inner.close(),
    };
    const h = await harness({ timelineStore: store, timeline: { flushIntervalMs: 1 } });
    await h.runtime.register({
      id: "w",
      triggers: { go: { event: "go", pipeline: "p" } },
      pipelines: { p: { stages: [{ id: "s", steps: [{ id: "a", action: (ctx: any) => { ctx.logger.info("hi"); return {}; } }] }] } },
    });
    const results: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await h.runtime.invoke("w", "go", {});
      results.push(r.ok ? r.value.status : (r.error as any).code);
      await tick(5);
    }
    let flush = "pending";
    h.runtime.flushTimeline().then(() => (flush = "ok"), (e) => (flush = `rejected ${e}`));
    await tick(50);
    const stored = (await inner.query({})).events.length;
    console.log({ results, flush, stored, unhandled: unhandled.map(String), errors: h.errors.map((e) => `${e.code} ${e.message}`) });
    let stop = "pending";
    h.runtime.stop().then(() => (stop = "ok"), (e) => (stop = `rejected ${e}`));
    await tick(200);
    console.log({ stop });
    process.off("unhandledRejection", on);
  });
});
