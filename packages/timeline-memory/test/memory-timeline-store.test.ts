import { SystemError } from "@sluice/errors";
import {
  compareTimelineEvents,
  matchesDeleteFilter,
  matchesQuery,
  type TimelineEvent,
} from "@sluice/timeline";
import { describe, expect, it } from "vitest";
import { createMemoryTimelineStore, DEFAULT_MAX_EVENTS } from "../src/index.js";

function ev(runId: string, seq: number, at: number, workflowId = "wf"): TimelineEvent {
  return { id: `${runId}#${seq}`, runId, workflowId, seq, at, source: "runtime", type: "log" };
}

async function everything(store: ReturnType<typeof createMemoryTimelineStore>): Promise<TimelineEvent[]> {
  return (await store.query({ limit: 10_000 })).events;
}

describe("createMemoryTimelineStore", () => {
  it("keeps at most maxEvents, evicting the oldest by insertion (not by at)", async () => {
    const store = createMemoryTimelineStore({ maxEvents: 5 });
    await store.append([ev("late", 0, 9000), ev("a", 0, 1), ev("a", 1, 2)]);
    await store.append([ev("b", 0, 3), ev("b", 1, 4), ev("b", 2, 5)]);
    expect(store.size).toBe(5);
    expect((await everything(store)).map((e) => e.id)).toEqual(["a#0", "a#1", "b#0", "b#1", "b#2"]);
    expect((await store.query({ runId: "late" })).events).toEqual([]);
    // an evicted id may be appended again
    await store.append([ev("late", 0, 9000)]);
    expect((await everything(store)).map((e) => e.id)).toEqual(["a#1", "b#0", "b#1", "b#2", "late#0"]);
  });

  it("keeps the newest maxEvents of a batch larger than maxEvents", async () => {
    const store = createMemoryTimelineStore({ maxEvents: 3 });
    const batch = Array.from({ length: 10 }, (_, i) => ev("r", i, 100 - i));
    await store.append(batch);
    expect((await store.query({ runId: "r" })).events.map((e) => e.seq)).toEqual([9, 8, 7]);
  });

  it(`defaults to ${DEFAULT_MAX_EVENTS} events`, async () => {
    const store = createMemoryTimelineStore();
    const batch = Array.from({ length: DEFAULT_MAX_EVENTS + 10 }, (_, i) => ev(`r${i % 10}`, i, i));
    await store.append(batch);
    expect(store.size).toBe(DEFAULT_MAX_EVENTS);
    expect((await store.query({ limit: 1 })).events[0]!.seq).toBe(10);
  });

  it("rejects a maxEvents that is not a positive integer", () => {
    for (const maxEvents of [0, -1, 1.5, Number.NaN, "10"]) {
      expect(() => createMemoryTimelineStore({ maxEvents } as never)).toThrow(
        expect.objectContaining({ code: "INVALID_INPUT", message: expect.stringContaining("maxEvents") }),
      );
    }
  });

  it("size counts stored events and drops to 0 on close", async () => {
    const store = createMemoryTimelineStore();
    await store.append([ev("r", 0, 1), ev("r", 1, 2), ev("r", 0, 1)]);
    expect(store.size).toBe(2);
    await store.delete({ runId: "r" });
    expect(store.size).toBe(0);
    await store.append([ev("r", 2, 3)]);
    await store.close();
    expect(store.size).toBe(0);
    await expect(store.append([])).rejects.toSatisfy((e) => SystemError.is(e, "DISPOSED"));
  });

  it("matches a naive model through random appends, deletes, evictions and paged queries", async () => {
    // a seeded generator keeps failures reproducible
    let seed = 12345;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const maxEvents = 300;
    const store = createMemoryTimelineStore({ maxEvents });
    let model: Array<{ e: TimelineEvent; order: number }> = [];
    let order = 0;
    let nextSeq = 0;
    for (let step = 0; step < 400; step++) {
      const action = random(10);
      if (action < 6) {
        const batch: TimelineEvent[] = [];
        for (let i = random(40); i >= 0; i--) {
          const e = ev(`run${random(12)}`, nextSeq++, random(500), `wf${random(3)}`);
          // sometimes re-append a stored id: must keep the first copy
          batch.push(random(10) === 0 && model.length > 0 ? model[random(model.length)]!.e : e);
        }
        await store.append(batch);
        for (const e of batch) {
          if (!model.some((m) => m.e.id === e.id)) model.push({ e, order: order++ });
        }
        model.sort((a, b) => a.order - b.order);
        model = model.slice(Math.max(0, model.length - maxEvents));
      } else if (action < 8) {
        const filter = [
          { runId: `run${random(12)}` },
          { workflowId: `wf${random(3)}` },
          { before: random(500) },
          { workflowId: `wf${random(3)}`, before: random(500) },
        ][random(4)]!;
        const removed = model.filter((m) => matchesDeleteFilter(m.e, filter));
        expect(await store.delete(filter)).toBe(removed.length);
        model = model.filter((m) => !matchesDeleteFilter(m.e, filter));
      } else {
        const filter = [
          {},
          { runId: `run${random(12)}` },
          { workflowId: `wf${random(3)}`, from: random(250) },
          { from: random(250), to: 250 + random(250) },
          { runId: `run${random(12)}`, workflowId: `wf${random(3)}` },
        ][random(5)]!;
        const expected = model
          .map((m) => m.e)
          .filter((e) => matchesQuery(e, filter))
          .sort(compareTimelineEvents);
        const got: TimelineEvent[] = [];
        let next: string | undefined;
        do {
          const page = await store.query({ ...filter, limit: 1 + random(50), ...(next ? { next } : {}) });
          got.push(...page.events);
          next = page.next;
        } while (next !== undefined);
        expect(got.map((e) => e.id)).toEqual(expected.map((e) => e.id));
      }
      expect(store.size).toBe(model.length);
    }
  });
});
