import { afterEach, describe, expect, it, vi } from "vitest";
import { defineWorkflow, type PauseService, type RunResult, type StepContext } from "../src/index.js";
import { deferred, type Harness, harness, tick } from "./helpers.js";

// Trial: workflow composition and long-lived processes, built from docs/composition.md as a team
// coming from Temporal or Inngest would: a saga, child runs, a durable timer, per-key concurrency.

const running: Harness[] = [];
async function start(options: Parameters<typeof harness>[0] = {}): Promise<Harness> {
  const h = await harness(options);
  running.push(h);
  return h;
}
afterEach(async () => {
  vi.useRealTimers();
  for (const h of running.splice(0)) await h.runtime.stop();
});

const FAKE_CLOCK: { toFake: ("setTimeout" | "clearTimeout" | "Date" | "performance")[] } = {
  toFake: ["setTimeout", "clearTimeout", "Date", "performance"],
};
/** A step that waits until its run is aborted. */
const untilAborted = (ctx: { signal: AbortSignal }) =>
  new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));

describe("a saga: onComplete undoes what the state says was booked, newest first", () => {
  type Trip = { tripId: string; flightId?: string; hotelId?: string; carId?: string };
  const trip = (car: (ctx: StepContext<Trip>) => Promise<unknown>) =>
    defineWorkflow<Trip>({
      id: "trip",
      triggers: { requested: { event: "trip.requested", pipeline: "book" } },
      pipelines: {
        book: {
          stages: [
            {
              id: "flight",
              steps: [{ id: "flight", action: (ctx) => ({ flightId: `F-${ctx.state().tripId}` }) }],
            },
            {
              id: "hotel",
              steps: [{ id: "hotel", action: (ctx) => ({ hotelId: `H-${ctx.state().tripId}` }) }],
            },
            {
              id: "car",
              steps: [
                {
                  id: "car",
                  retry: { attempts: 2, backoffMs: 1_000 },
                  timeoutMs: 60_000,
                  action: async (ctx) => ({ carId: String(await car(ctx)) }),
                },
              ],
            },
          ],
        },
      },
    });
  const compensate = (undone: string[]) => (r: RunResult<Trip>) => {
    const state = r.ok ? (r.value.status === "aborted" ? r.value.state : undefined) : r.metadata.state;
    for (const key of ["carId", "hotelId", "flightId"] as const) if (state?.[key]) undone.push(state[key]!);
  };

  const endings = {
    "fails for good": async () => {
      throw new Error("no cars left");
    },
    "times out on every attempt": () => new Promise(() => {}),
    "is aborted": untilAborted,
    "is stopped": untilAborted,
  };
  for (const [ending, car] of Object.entries(endings)) {
    it(`a car step that ${ending}: hotel then flight are undone, once`, async () => {
      vi.useFakeTimers(FAKE_CLOCK);
      const h = await start();
      const undone: string[] = [];
      let carStarted: string | undefined;
      await h.runtime.register(
        trip((ctx) => {
          carStarted = ctx.runId;
          return car(ctx);
        }),
        { onComplete: compensate(undone) },
      );
      const run = h.runtime.invoke("trip", "requested", { tripId: "t1" });
      await vi.advanceTimersByTimeAsync(10);
      expect(carStarted).toBeDefined();
      if (ending === "is aborted") await h.runtime.abort(carStarted!);
      if (ending === "is stopped") await h.runtime.stop();
      await vi.advanceTimersByTimeAsync(5 * 60_000);
      const r = await run;
      expect(undone).toEqual(["H-t1", "F-t1"]);
      if (ending === "fails for good") expect(!r.ok && r.error.code).toBe("STEP_FAILED");
      if (ending === "times out on every attempt") expect(!r.ok && r.error.code).toBe("TIMEOUT");
    });
  }

  it("a compensation that throws is reported, and the run's result keeps its own error", async () => {
    vi.useFakeTimers(FAKE_CLOCK);
    const h = await start();
    await h.runtime.register(
      trip(async () => {
        throw new Error("no cars left");
      }),
      {
        onComplete: () => {
          throw new Error("hotel API down");
        },
      },
    );
    const run = h.runtime.invoke("trip", "requested", { tripId: "t1" });
    await vi.advanceTimersByTimeAsync(1_000); // the retry's backoff
    const r = await run;
    expect(!r.ok && r.error.message).toMatch(/no cars left/);
    expect(h.errors.map((e) => [e.code, (e.cause as Error).message])).toEqual([
      ["HOOK_FAILED", "hotel API down"],
    ]);
  });

  it("run.aborted of a running run says why, as a parked run's does (host, newer run, stop)", async () => {
    const h = await start();
    const wf = defineWorkflow<{ park?: boolean }>({
      id: "w",
      triggers: { t: { event: "e", pipeline: "p" } },
      pipelines: {
        p: {
          stages: [
            {
              id: "book",
              steps: [
                {
                  id: "book",
                  action: async (ctx) => {
                    if (!ctx.state().park) return untilAborted(ctx).then(() => undefined);
                    (await ctx.use((d) => d.require<PauseService>("__pause_service__"))).register({
                      event: "never",
                    });
                  },
                },
              ],
            },
            { id: "end", steps: [{ id: "end", action: () => {} }] },
          ],
        },
      },
    });
    const runIds: string[] = [];
    await h.runtime.register(wf, {
      mode: { type: "singleton_loop", onBusy: "replace" },
      onDispatch: (d) => void (d.runId !== undefined && runIds.push(d.runId)),
    });
    for (const park of [false, true]) {
      const invoked = h.runtime.invoke("w", "t", { park });
      await tick(5);
      const active = h.runtime.listAllRuns().find((r) => r.status === "running" || r.status === "paused")!;
      await h.runtime.abort(active.runId);
      await invoked;
      runIds.push(active.runId);
    }
    h.bus.emit("e", {}); // started
    await tick(5);
    h.bus.emit("e", {}); // replaces it
    await tick(5);
    await h.runtime.stop(); // aborts the replacement
    const why = async (runId: string) =>
      (await h.timeline.query({ runId })).events.find((e) => e.type === "run.aborted")?.message;
    expect(await why(runIds[0]!)).toMatch(/was aborted: aborted by the host$/); // running
    expect(await why(runIds[1]!)).toBe("aborted by the host"); // parked
    expect(await why(runIds[2]!)).toMatch(/was aborted: replaced by a newer run$/);
    expect(await why(runIds[3]!)).toMatch(/was aborted: the workflow was deregistered$/);
  });
});

describe("child runs: fan out, wait for every one (collect stages, reports keyed by child)", () => {
  type Batch = { items: string[]; total?: number; [report: `done_${string}`]: string };
  const reported = (s: Batch) => Object.keys(s).filter((k) => k.startsWith("done_")).length;

  async function setup(gates: { children: Promise<void>; spawnEnds: Promise<void> }, pauseWindowMs: number) {
    const h = await start();
    const waitForAChild = async (ctx: StepContext<Batch>) => {
      const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
      pause.register({
        event: "child.done",
        conditions: [{ path: "parentId", op: "==", value: ctx.runId }],
        patch: "done",
      });
    };
    const parent = defineWorkflow<Batch>({
      id: "parent",
      triggers: { requested: { event: "batch.requested", pipeline: "fan" } },
      patches: { done: (p: { childId: string }) => ({ [`done_${p.childId}`]: p.childId }) },
      pipelines: {
        fan: {
          stages: [
            {
              id: "spawn",
              steps: [
                {
                  id: "spawn",
                  action: async (ctx) => {
                    await waitForAChild(ctx);
                    for (const item of ctx.state().items)
                      h.bus.emit("child.requested", { parentId: ctx.runId, childId: item });
                    await gates.spawnEnds;
                  },
                },
              ],
            },
            ...Array.from({ length: 6 }, (_, i) => ({
              id: `collect-${i}`,
              steps: [
                {
                  id: `collect-${i}`,
                  when: (ctx: StepContext<Batch>) => reported(ctx.state()) < ctx.state().items.length,
                  action: waitForAChild,
                },
              ],
            })),
            { id: "sum", steps: [{ id: "sum", action: (ctx) => ({ total: reported(ctx.state()) }) }] },
          ],
        },
      },
    });
    const child = defineWorkflow<{ parentId: string; childId: string }>({
      id: "child",
      triggers: { requested: { event: "child.requested", pipeline: "work" } },
      pipelines: {
        work: {
          stages: [
            {
              id: "work",
              steps: [
                {
                  id: "work",
                  action: async (ctx) => {
                    await gates.children;
                    if (ctx.state().childId === "bad") throw new Error("child failed");
                  },
                },
              ],
            },
          ],
        },
      },
    });
    await h.runtime.register(parent, { pauseWindowMs });
    await h.runtime.register(child, {
      onComplete: (r) => h.bus.emit("child.done", (r.ok ? r.value.state : r.metadata.state)!),
    });
    return h;
  }

  it("children that all report before the parent pauses are drained, one per collect stage", async () => {
    const spawnEnds = deferred();
    const h = await setup({ children: Promise.resolve(), spawnEnds: spawnEnds.promise }, 30_000);
    const run = h.runtime.invoke("parent", "requested", { items: ["a", "b", "bad", "d"] });
    await tick(20); // every child has reported; the parent is still in its first stage
    spawnEnds.resolve();
    const r = await run;
    expect(r.ok && r.value).toMatchObject({ status: "completed", state: { total: 4 } });
  });

  it("children that report after the parent was released from memory count once each, duplicates too", async () => {
    const children = deferred();
    const h = await setup({ children: children.promise, spawnEnds: Promise.resolve() }, 0);
    const r = await h.runtime.invoke("parent", "requested", { items: ["a", "b", "c"] });
    expect(r.ok && r.value.status).toBe("paused");
    await tick(5); // released
    h.bus.emit("child.done", { parentId: r.metadata.runId, childId: "a" }); // a duplicate, before a's own
    children.resolve();
    const end = await h.runtime.result(r.metadata.runId!);
    expect(end.ok && end.value).toMatchObject({ status: "completed", state: { total: 3 } });
  });
});

describe("a durable timer: wait 3 days for payment, else cancel", () => {
  const DAY = 86_400_000;
  type Payment = { orderId: string; paid?: boolean; cancelled?: boolean };
  const payments = defineWorkflow<Payment>({
    id: "payments",
    triggers: { placed: { event: "order.placed", pipeline: "collect" } },
    pipelines: {
      collect: {
        stages: [
          {
            id: "await-payment",
            steps: [
              {
                id: "ask",
                action: async (ctx) => {
                  (await ctx.use((d) => d.require<PauseService>("__pause_service__"))).register({
                    event: "payment.received",
                    conditions: [{ path: "orderId", op: "==", value: ctx.state().orderId }],
                    timeoutMs: 3 * DAY,
                    timeoutPatch: { paid: false },
                  });
                },
              },
            ],
          },
          {
            id: "decide",
            steps: [
              {
                id: "decide",
                action: (ctx) => (ctx.state().paid === false ? { cancelled: true } : { paid: true }),
              },
            ],
          },
        ],
      },
    },
  });

  it("moved on day 1 (detach → JSON → adopt), it cancels on day 3 in the new runtime: the time left, not 3 days again", async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1), ...FAKE_CLOCK });
    const a = await start();
    await a.runtime.register(payments);
    const runId = (await a.runtime.invoke("payments", "placed", { orderId: "o1" })).metadata.runId!;
    await vi.advanceTimersByTimeAsync(DAY);
    const text = JSON.stringify(await a.runtime.detach(runId));

    const b = await start();
    const ended: RunResult<Payment>[] = [];
    await b.runtime.register(payments, { onComplete: (r) => ended.push(r) });
    b.runtime.adopt(JSON.parse(text));
    await vi.advanceTimersByTimeAsync(2 * DAY - 1_000);
    expect(b.runtime.watch("payments", runId)?.status).toBe("paused");
    await vi.advanceTimersByTimeAsync(1_001); // a deadline wins once it has passed: 1 ms after it
    expect(ended.map((r) => r.ok && r.value.state)).toEqual([
      { orderId: "o1", paid: false, cancelled: true },
    ]);
  });
});

describe("one run per customer at a time, once per order (the recipe of docs/composition.md)", () => {
  class KeyedLocks {
    private readonly holders = new Map<string, string>();
    private readonly lines = new Map<string, string[]>();
    private readonly keyOf = new Map<string, string>();
    constructor(private readonly granted: (runId: string) => void) {}
    request(key: string, runId: string): void {
      this.keyOf.set(runId, key);
      if (this.holders.has(key)) this.lines.set(key, [...(this.lines.get(key) ?? []), runId]);
      else this.grant(key, runId);
    }
    release(runId: string): void {
      const key = this.keyOf.get(runId);
      if (key === undefined) return;
      this.keyOf.delete(runId);
      const line = this.lines.get(key) ?? [];
      if (this.holders.get(key) !== runId)
        return void this.lines.set(
          key,
          line.filter((id) => id !== runId),
        );
      const next = line.shift();
      if (next === undefined) this.holders.delete(key);
      else this.grant(key, next);
    }
    private grant(key: string, runId: string): void {
      this.holders.set(key, runId);
      this.granted(runId);
    }
  }

  it("a map refusing a redelivered order, or failing on a bad payload, is reported to onError when no onDispatch hears it", async () => {
    const h = await start();
    const seen = new Set<string>();
    await h.runtime.register(
      defineWorkflow<{ orderId: string }>({
        id: "orders",
        triggers: {
          placed: {
            event: "order.placed",
            pipeline: "p",
            map: (p: { orderId: string }) => {
              if (seen.has(p.orderId)) throw new Error(`order ${p.orderId} is a duplicate`);
              seen.add(p.orderId);
              return { orderId: p.orderId.trim() }; // throws on a payload without orderId
            },
          },
        },
        pipelines: { p: { stages: [{ id: "a", steps: [{ id: "a", action: () => {} }] }] } },
      }),
    );
    h.bus.emit("order.placed", { orderId: "o1" });
    h.bus.emit("order.placed", { orderId: "o1" });
    h.bus.emit("order.placed", { order: "o2" });
    expect(h.errors.map((e) => [e.code, e.message, e.details])).toEqual([
      [
        "INVALID_INPUT",
        'bus event "order.placed" started no run of workflow "orders": workflow "orders" trigger "placed": map() threw: order o1 is a duplicate (reported here because the workflow has no onDispatch, which would be told it was rejected)',
        { workflowId: "orders", triggerId: "placed", event: "order.placed" },
      ],
      ["INVALID_INPUT", expect.stringMatching(/map\(\) threw: .*trim/), expect.anything()],
    ]);
  });

  it("200 emits at once (50 customers × 3 orders, 50 redeliveries, 5 orders aborted while they wait)", async () => {
    const h = await start();
    const locks = new KeyedLocks((runId) => h.bus.emit("lock.granted", { runId }));
    const seen = new Set<string>();
    const ran: string[] = [];
    const busy = new Map<string, number>();
    let overlaps = 0;
    let atOnce = 0;
    let mostAtOnce = 0;
    const ended: RunResult[] = [];
    const outcomes: Record<string, number> = {};
    type Order = { orderId: string; customerId: string };
    const orders = defineWorkflow<Order>({
      id: "orders",
      triggers: {
        placed: {
          event: "order.placed",
          pipeline: "fulfil",
          map: (p: Order) => {
            if (seen.has(p.orderId)) throw new Error(`order ${p.orderId} is a duplicate`);
            seen.add(p.orderId);
            return { ...p };
          },
        },
      },
      pipelines: {
        fulfil: {
          stages: [
            {
              id: "lock",
              steps: [
                {
                  id: "lock",
                  action: async (ctx) => {
                    const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                    pause.register({
                      event: "lock.granted",
                      conditions: [{ path: "runId", op: "==", value: ctx.runId }],
                    });
                    locks.request(ctx.state().customerId, ctx.runId);
                  },
                },
              ],
            },
            {
              id: "fulfil",
              steps: [
                {
                  id: "fulfil",
                  action: async (ctx) => {
                    const c = ctx.state().customerId;
                    busy.set(c, (busy.get(c) ?? 0) + 1);
                    if (busy.get(c)! > 1) overlaps++;
                    mostAtOnce = Math.max(mostAtOnce, ++atOnce);
                    await tick(1);
                    atOnce--;
                    busy.set(c, busy.get(c)! - 1);
                    ran.push(ctx.state().orderId);
                  },
                },
              ],
            },
          ],
        },
      },
    });
    await h.runtime.register(orders, {
      mode: { type: "transient", concurrency: 8 },
      pauseWindowMs: 0, // runs waiting for their customer's lock are rebuilt from their checkpoint
      onDispatch: (d) => void (outcomes[d.outcome] = (outcomes[d.outcome] ?? 0) + 1),
      onComplete: (r) => {
        locks.release(r.metadata.runId!);
        ended.push(r);
      },
    });
    const events: Order[] = [];
    for (let c = 0; c < 50; c++)
      for (let o = 0; o < 3; o++) events.push({ customerId: `c${c}`, orderId: `c${c}-o${o}` });
    for (let i = 0; i < 50; i++) events.push(events[(i * 7) % 150]!);
    for (let i = events.length - 1; i > 0; i--) {
      const j = (i * 31 + 17) % (i + 1); // a fixed shuffle
      [events[i], events[j]] = [events[j]!, events[i]!];
    }
    for (const e of events) h.bus.emit("order.placed", { ...e });
    const waitingForLock = () =>
      h.runtime.listAllRuns().filter((r) => r.status === "paused" && r.stage === "fulfil");
    // (eight at a time execute, so the runs waiting for their customer's lock come as they start)
    await expect.poll(() => waitingForLock().length, { interval: 1 }).toBeGreaterThanOrEqual(5);
    const waiting = waitingForLock();
    // all in one synchronous stretch: none of them is granted the lock in between
    await Promise.all(waiting.slice(0, 5).map((r) => h.runtime.abort(r.runId)));
    while (ended.length < 150) await tick(5);
    expect(outcomes).toEqual({ started: expect.any(Number), queued: expect.any(Number), rejected: 50 });
    expect(outcomes.started! + outcomes.queued!).toBe(150);
    expect(ended.filter((r) => r.ok && r.value.status === "aborted")).toHaveLength(5);
    expect(new Set(ran).size).toBe(ran.length);
    expect(ran.length + 5).toBe(150);
    expect(overlaps).toBe(0);
    expect(mostAtOnce).toBeGreaterThan(1);
    // a run granted its lock while parked resumes into one of the mode's slots, as it started
    expect(mostAtOnce).toBeLessThanOrEqual(8);
    expect(h.errors).toEqual([]);
  });
});
