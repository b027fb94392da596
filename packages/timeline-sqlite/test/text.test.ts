import { compareTimelineEvents, type TimelineEvent } from "@sluice/timeline";
import { describe, expect, it } from "vitest";
import { createSqliteTimelineStore } from "../src/index.js";

// SQLite sees strings as UTF-8: these check that every JavaScript string survives and that ids tie-break
// in JavaScript's code-unit order, which UTF-8 byte order does not give by itself.
const awkward = [
  "plain",
  "a\uD800b", // lone high surrogate
  "a\uDC00b", // lone low surrogate
  "a\uFFFDb", // what a lossy conversion would turn both of the above into
  "\uD83D\uDE00", // U+1F600: sorts before U+E000 by code unit, after it by code point
  "\uE000",
  "\uFFFF",
  "nul\u0000inside",
  "\uD800",
];

const event = (id: string, runId: string, extra: Partial<TimelineEvent> = {}): TimelineEvent => ({
  id,
  runId,
  workflowId: `wf-${runId}`,
  seq: 0,
  at: 1,
  source: "runtime",
  type: "log",
  ...extra,
});

describe("strings SQLite cannot hold as UTF-8 text", () => {
  it("round-trips every string and orders ids by UTF-16 code unit", async () => {
    const store = await createSqliteTimelineStore({ filename: ":memory:" });
    const events = awkward.map((s) => event(s, "r", { message: s, stage: s, step: s, data: { s } }));
    await store.append(events);
    const page = await store.query({ runId: "r" });
    expect(page.events).toEqual([...events].sort(compareTimelineEvents));
    // Paging through the same order with a cursor on each awkward id.
    const seen: string[] = [];
    let next: string | undefined;
    do {
      const p = await store.query(
        next === undefined ? { runId: "r", limit: 1 } : { runId: "r", limit: 1, next },
      );
      seen.push(...p.events.map((e) => e.id));
      next = p.next;
    } while (next !== undefined);
    expect(seen).toEqual(page.events.map((e) => e.id));
    await store.close();
  });

  it("keeps runs and workflows apart that a lossy conversion would merge", async () => {
    const store = await createSqliteTimelineStore({ filename: ":memory:" });
    await store.append(awkward.map((s, i) => event(`e${i}`, s)));
    for (const s of awkward) {
      expect((await store.query({ runId: s })).events.map((e) => e.runId)).toEqual([s]);
      expect((await store.query({ workflowId: `wf-${s}` })).events.map((e) => e.runId)).toEqual([s]);
    }
    expect(await store.delete({ runId: "a\uD800b" })).toBe(1);
    expect((await store.query()).events).toHaveLength(awkward.length - 1);
    await store.close();
  });
});
