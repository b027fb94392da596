import { afterEach, describe, expect, it, vi } from "vitest";
import type { DispatchResult, TriggerDefinition } from "../src/index.js";
import { type Harness, harness } from "./helpers.js";
import { oneTrigger } from "./one-trigger.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.runtime.stop();
  h = undefined;
  vi.useRealTimers();
});

/** {@link oneTrigger} with workflow "debounced", its harness kept for `afterEach` to stop. */
async function setup(trigger: Partial<TriggerDefinition>, fakeTimers = true) {
  const t = await oneTrigger("debounced", trigger, {}, fakeTimers);
  h = t.h;
  return t;
}

describe("a trigger's debounce", () => {
  it("holds a burst until it has been quiet for periodMs, then runs the latest; each replaced event is reported dropped", async () => {
    const t = await setup({ debounce: { periodMs: 100 } });
    t.emit({ n: 1 });
    t.emit({ n: 2 });
    t.emit({ n: 3 });
    expect(t.reports()).toEqual([
      ["dropped", 1],
      ["dropped", 2],
    ]);
    expect(t.dispatched[0]!.reason).toBe("debounced: a later event came within 100 ms and replaced it");
    expect(t.dispatched[0]!.runId).toBeUndefined();
    await t.later(99);
    expect(t.ran).toEqual([]);
    await t.later(1);
    expect(t.reports()).toEqual([
      ["dropped", 1],
      ["dropped", 2],
      ["started", 3],
    ]);
    await vi.waitFor(() => expect(t.ran).toEqual([3]));
  });

  it("starts the quiet time again with each event", async () => {
    const t = await setup({ debounce: { periodMs: 100 } });
    for (let n = 1; n <= 3; n++) {
      t.emit({ n });
      await t.later(80);
    }
    // the last came at 160: quiet from 160 to 260
    await t.later(19);
    expect(t.ran).toEqual([]);
    await t.later(1);
    await vi.waitFor(() => expect(t.ran).toEqual([3]));
  });

  it("runs the latest once maxWaitMs have passed since the series began, though events still come", async () => {
    const t = await setup({ debounce: { periodMs: 100, maxWaitMs: 300 } });
    for (let n = 1; n <= 8; n++) {
      t.emit({ n });
      await t.later(50);
    }
    // events at 0, 50, …, 350: the series began at 0, so its latest (n 6, at 250) goes on at 300;
    // a new series begins with n 7 (at 300) and ends quiet at 450
    expect(t.ran).toEqual([6]);
    await t.later(50);
    await vi.waitFor(() => expect(t.ran).toEqual([6, 8]));
    expect(t.reports().filter(([outcome]) => outcome === "started")).toEqual([
      ["started", 6],
      ["started", 8],
    ]);
  });

  it("keeps a series per key, and names the key when it replaces an event", async () => {
    const t = await setup({ debounce: { periodMs: 100, key: (p: { doc: string }) => p.doc } });
    t.emit({ doc: "a", n: 1 });
    t.emit({ doc: "b", n: 2 });
    t.emit({ doc: "a", n: 3 });
    expect(t.dispatched.map((d) => d.reason)).toEqual([
      'debounced: a later event of key "a" came within 100 ms and replaced it',
    ]);
    await t.later(100);
    await vi.waitFor(() => expect(t.ran.sort()).toEqual([2, 3]));
  });

  it("comes after `when` (a filtered event neither replaces nor delays one held) and before the idempotency key, checked as the held event goes on", async () => {
    const t = await setup({
      when: [{ path: "ok", op: "==", value: true }],
      key: (p: { order: string }) => p.order,
      debounce: { periodMs: 100 },
    });
    t.emit({ order: "o1", ok: true, n: 1 });
    await t.later(60);
    t.emit({ order: "o1", ok: false, n: 2 }); // not the trigger's: no reset, no report
    await t.later(40);
    await vi.waitFor(() => expect(t.ran).toEqual([1]));
    expect(t.reports()).toEqual([["started", 1]]);
  });

  it("is bypassed by invoke(): the run starts at once", async () => {
    const t = await setup({ debounce: { periodMs: 100 } });
    t.emit({ n: 1 });
    const invoked = await h!.runtime.invoke("debounced", "go", { n: 2 });
    expect(invoked.ok && invoked.value.status).toBe("completed");
    expect(t.ran).toEqual([2]);
  });

  it("drain() releases the held events at once and waits for their runs", async () => {
    // real timers: drain waits on them; an hour's period shows the events did not wait for it
    const t = await setup({ debounce: { periodMs: 3_600_000, key: (p: { doc: string }) => p.doc } }, false);
    t.emit({ doc: "a", n: 1 });
    t.emit({ doc: "b", n: 2 });
    const report = await h!.runtime.drain();
    expect(report).toMatchObject({ drained: true });
    expect(t.ran).toEqual([1, 2]);
    expect(t.reports()).toEqual([
      ["started", 1],
      ["started", 2],
    ]);
    t.emit({ doc: "a", n: 3 }); // while draining: refused as it comes, not held
    expect(t.dispatched[2]).toMatchObject({
      outcome: "dropped",
      reason: expect.stringContaining("draining"),
    });
  });

  it('in a drain that lets runs chain (triggers: "start"), holds nothing: each event goes on at once and its run is waited for', async () => {
    const t = await setup({ debounce: { periodMs: 3_600_000 } }, false);
    t.emit({ n: 1 });
    const drained = h!.runtime.drain({ triggers: "start" });
    t.emit({ n: 2 });
    t.emit({ n: 3 });
    expect(await drained).toMatchObject({ drained: true });
    expect(t.ran).toEqual([1, 2, 3]);
    expect(t.reports()).toEqual([
      ["started", 1],
      ["started", 2],
      ["started", 3],
    ]);
  });

  it("deregister() drops the held events, reported dropped, and starts none later", async () => {
    const t = await setup({ debounce: { periodMs: 100, key: (p: { doc: string }) => p.doc } });
    t.emit({ doc: "a", n: 1 });
    t.emit({ doc: "b", n: 2 });
    await h!.runtime.deregister("debounced");
    expect(t.reports()).toEqual([
      ["dropped", 1],
      ["dropped", 2],
    ]);
    expect(t.dispatched[0]!.reason).toBe("the workflow was deregistered");
    await t.later(1000);
    expect(t.ran).toEqual([]);
    expect(h!.runtime.listAllRuns()).toEqual([]);
  });

  it("refuses an event whose debounce key cannot be read: rejected, and nothing held is replaced", async () => {
    const t = await setup({
      debounce: {
        periodMs: 100,
        key: (p: { doc?: string }) => {
          if (p.doc === undefined) throw new Error("no doc");
          return p.doc;
        },
      },
    });
    t.emit({ doc: "a", n: 1 });
    t.emit({ n: 2 });
    expect(t.dispatched.map((d) => [d.outcome, d.reason])).toEqual([
      ["rejected", 'workflow "debounced" trigger "go": debounce.key() threw: no doc'],
    ]);
    await t.later(100);
    await vi.waitFor(() => expect(t.ran).toEqual([1]));
  });

  it("an event that comes after its series' timer ran late begins a new series, which an event the late release's run emits then replaces", async () => {
    // real timers: the event loop is kept busy past the held event's time
    h = await harness();
    const dispatched: DispatchResult[] = [];
    await h.runtime.register(
      {
        id: "debounced",
        triggers: { go: { event: "go", pipeline: "p", debounce: { periodMs: 20 } } },
        pipelines: {
          p: {
            stages: [
              {
                id: "s",
                steps: [
                  {
                    id: "s",
                    // the run of n: 1 emits n: 3 as its first step runs, synchronously
                    action: (ctx) => {
                      if (ctx.state().n === 1) h!.bus.emit("go", { n: 3 });
                    },
                  },
                ],
              },
            ],
          },
        },
      },
      { onDispatch: (r) => dispatched.push(r) },
    );
    const reports = () => dispatched.map((d) => [d.outcome, (d.payload as { n: number }).n]);
    h.bus.emit("go", { n: 1 });
    const busyUntil = performance.now() + 30;
    while (performance.now() < busyUntil) {
      // the timer for n: 1 cannot run
    }
    h.bus.emit("go", { n: 2 });
    // n: 1's series ended before n: 2 came: it went on; n: 2 began a new series, which n: 3 (emitted
    // by n: 1's run, after n: 2 came) replaced
    expect(reports()).toEqual([
      ["started", 1],
      ["dropped", 2],
    ]);
    await vi.waitFor(() => expect(reports()).toHaveLength(3));
    expect(reports()[2]).toEqual(["started", 3]);
  });

  it.each([
    [
      { periodMs: 0 },
      "triggers.go.debounce.periodMs: must be a positive number of milliseconds, at most 2147483647, got 0",
    ],
    [
      { periodMs: 100, maxWaitMs: 50 },
      "triggers.go.debounce.maxWaitMs: must be a number of milliseconds from periodMs (100) to 2147483647, got 50",
    ],
    [
      { periodMs: 100, key: "doc" },
      'triggers.go.debounce.key: must be a function of the payload returning the key of the event\'s series, such as (p) => p.documentId; got "doc"',
    ],
    [
      { period: 100 },
      "triggers.go.debounce.period: is not an option here (options: periodMs, maxWaitMs, key)",
    ],
    [100, "triggers.go.debounce: must be an object such as { periodMs: 5000 }, got 100"],
  ])("register refuses debounce %o: INVALID_DEFINITION", async (debounce, message) => {
    h = await harness();
    await expect(
      h.runtime.register({
        id: "bad",
        triggers: { go: { event: "go", pipeline: "p", debounce: debounce as never } },
        pipelines: { p: { stages: [{ id: "s", steps: [{ id: "s", action: () => {} }] }] } },
      }),
    ).rejects.toMatchObject({ code: "INVALID_DEFINITION", message });
  });
});
