import { afterEach, describe, expect, it, vi } from "vitest";
import { defineWorkflow, type PauseService, type RunResult } from "../src/index.js";
import { deferred, type Harness, harness, tick } from "./helpers.js";

// Trial: workflow composition and long-lived processes, built from the docs as a team coming from
// Temporal or Inngest would (sagas, child workflows, durable timers, per-entity concurrency).

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

type Trip = { tripId: string; flightId?: string; hotelId?: string; carId?: string };

/** Book flight → hotel → car; `car` decides how the car step behaves. Compensation reads the state. */
function trip(car: (ctx: { signal: AbortSignal }) => Promise<unknown>, carStep: { timeoutMs?: number } = {}) {
  return defineWorkflow<Trip>({
    id: "trip",
    triggers: { booked: { event: "trip.requested", pipeline: "book" } },
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
                retry: { attempts: 2 },
                ...carStep,
                action: async (ctx) => {
                  await car(ctx);
                  return { carId: `C-${ctx.state().tripId}` };
                },
              },
            ],
          },
        ],
      },
    },
  });
}

/** The documented saga: onComplete undoes what the run's state says it booked, newest first. */
function compensator(undone: string[]) {
  return (r: RunResult<Trip>) => {
    const state = r.ok ? (r.value.status === "completed" ? undefined : r.value.state) : r.metadata.state;
    if (!state) return;
    for (const key of ["carId", "hotelId", "flightId"] as const) {
      if (state[key]) undone.push(`cancel ${state[key]}`);
    }
  };
}

describe("saga with compensation", () => {
  it("a car step that fails for good undoes hotel then flight, once", async () => {
    const h = await start();
    const undone: string[] = [];
    await h.runtime.register(
      trip(async () => {
        throw new Error("no cars");
      }),
      { onComplete: compensator(undone) },
    );
    const r = await h.runtime.invoke("trip", "booked", { tripId: "t1" });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe("STEP_FAILED");
    expect(r.metadata.stage).toBe("car");
    expect(undone).toEqual(["cancel H-t1", "cancel F-t1"]);
  });

  it("an abort while the car step runs undoes hotel then flight, once, and the step sees its signal", async () => {
    const h = await start();
    const undone: string[] = [];
    const carStarted = deferred<string>();
    let carSignalled = false;
    await h.runtime.register(
      trip(
        (ctx) =>
          new Promise((_, reject) => {
            carStarted.resolve((ctx as unknown as { runId: string }).runId);
            ctx.signal.addEventListener("abort", () => {
              carSignalled = true;
              reject(ctx.signal.reason);
            });
          }),
      ),
      { onComplete: compensator(undone) },
    );
    const invoked = h.runtime.invoke("trip", "booked", { tripId: "t2" });
    await h.runtime.abort(await carStarted.promise);
    const r = await invoked;
    expect(r.ok && r.value.status).toBe("aborted");
    expect(carSignalled).toBe(true);
    expect(undone).toEqual(["cancel H-t2", "cancel F-t2"]);
  });

  it("a car step that times out on each attempt undoes hotel then flight; the error says TIMEOUT", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date", "performance"] });
    const h = await start();
    const undone: string[] = [];
    await h.runtime.register(
      trip(() => new Promise(() => {}), { timeoutMs: 1_000 }),
      { onComplete: compensator(undone) },
    );
    const invoked = h.runtime.invoke("trip", "booked", { tripId: "t3" });
    await vi.advanceTimersByTimeAsync(5_000);
    const r = await invoked;
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect([r.error.code, (r.error.cause as { code?: string } | undefined)?.code]).toContain("TIMEOUT");
    expect(undone).toEqual(["cancel H-t3", "cancel F-t3"]);
  });

  it("stop() while the car step runs waits for the compensation to finish", async () => {
    const h = await start();
    const undone: string[] = [];
    const carStarted = deferred();
    const compensation = deferred();
    await h.runtime.register(
      trip(
        (ctx) =>
          new Promise((_, reject) => {
            carStarted.resolve();
            ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason));
          }),
      ),
      {
        onComplete: async (r) => {
          await compensation.promise;
          compensator(undone)(r);
        },
      },
    );
    void h.runtime.invoke("trip", "booked", { tripId: "t4" });
    await carStarted.promise;
    let stopped = false;
    const stopping = h.runtime.stop().then(() => (stopped = true));
    await tick(20);
    expect(stopped).toBe(false);
    compensation.resolve();
    await stopping;
    expect(undone).toEqual(["cancel H-t4", "cancel F-t4"]);
  });

  it("a compensation that throws is reported and the run's own error stays its result", async () => {
    const h = await start();
    const results: RunResult<Trip>[] = [];
    await h.runtime.register(
      trip(async () => {
        throw new Error("no cars");
      }),
      {
        onComplete: (r) => {
          results.push(r);
          throw new Error("hotel API down");
        },
      },
    );
    const r = await h.runtime.invoke("trip", "booked", { tripId: "t5" });
    expect(!r.ok && r.error.message).toMatch(/no cars/);
    expect(results).toHaveLength(1);
    const reported = h.errors.find((e) => e.code === "HOOK_FAILED");
    expect(reported?.message).toMatch(/onComplete/);
    expect(String((reported?.cause as Error | undefined)?.message)).toMatch(/hotel API down/);
    await h.runtime.flushTimeline();
    const { events } = await h.timeline.query({ runId: r.metadata.runId! });
    expect(events.map((e) => e.type).filter((t) => t.startsWith("run."))).toEqual([
      "run.started",
      "run.failed",
    ]);
  });
});

describe("saga: the timeline says why a run was aborted", () => {
  it("run.aborted of a running run names the reason, as a parked run's does (host, newer run, stop)", async () => {
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
                    if (ctx.state().park) {
                      (await ctx.use((d) => d.require<PauseService>("__pause_service__"))).register({
                        event: "never",
                      });
                      return;
                    }
                    await new Promise((_, reject) =>
                      ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)),
                    );
                  },
                },
              ],
            },
            { id: "end", steps: [{ id: "end", action: () => ({}) }] },
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
      const running = h.runtime.listAllRuns().find((r) => r.status === "running" || r.status === "paused")!;
      await h.runtime.abort(running.runId);
      await invoked;
      runIds.push(running.runId);
    }
    h.bus.emit("e", {}); // started
    await tick(5);
    h.bus.emit("e", {}); // replaces it
    await tick(5);
    await h.runtime.stop(); // aborts the last one
    const why = async (runId: string) =>
      (await h.timeline.query({ runId })).events.find((e) => e.type === "run.aborted")?.message;
    expect(await why(runIds[0]!)).toMatch(/aborted by the host/); // running
    expect(await why(runIds[1]!)).toMatch(/aborted by the host/); // parked
    expect(await why(runIds[2]!)).toMatch(/replaced by a newer run/);
    expect(await why(runIds[3]!)).toMatch(/the workflow was deregistered/);
  });
});

type Parent = { batch: string; n: number; [done: `done_${string}`]: unknown };
const doneCount = (s: Parent) => Object.keys(s).filter((k) => k.startsWith("done_")).length;
const COLLECT_STAGES = 6;

/**
 * Fan-out / fan-in as the docs allow it: pipelines have no loops, so the parent registers one wait
 * per stage, in as many `collect` stages as it may need; a stage whose `when` finds every child in
 * skips its step, registers nothing and does not pause. Duplicates land on the same state key.
 */
function parentAndChild(gate: { children: Promise<void>; parentEndsSpawn: Promise<void> }) {
  const waitForChild = async (ctx: { runId: string; use: any }) => {
    const pause: PauseService = await ctx.use((d: any) => d.require("__pause_service__"));
    pause.register({
      event: "child.done",
      conditions: [{ path: "parentId", op: "==", value: ctx.runId }],
      patch: "childDone",
    });
  };
  const parent = defineWorkflow<Parent>({
    id: "parent",
    triggers: { start: { event: "batch.requested", pipeline: "fan" } },
    patches: {
      childDone: (p: { childId: string; result: unknown }) => ({ [`done_${p.childId}`]: p.result }),
    },
    pipelines: {
      fan: {
        stages: [
          {
            id: "spawn",
            steps: [
              {
                id: "spawn",
                action: async (ctx) => {
                  await waitForChild(ctx); // before the children can answer
                  for (let i = 0; i < ctx.state().n; i++)
                    bus().emit("child.requested", { parentId: ctx.runId, childId: `c${i}` });
                  await gate.parentEndsSpawn;
                },
              },
            ],
          },
          ...Array.from({ length: COLLECT_STAGES }, (_, i) => ({
            id: `collect-${i}`,
            steps: [
              {
                id: `collect-${i}`,
                when: (ctx: any) => doneCount(ctx.state()) < ctx.state().n,
                action: waitForChild,
              },
            ],
          })),
          {
            id: "sum",
            steps: [{ id: "sum", action: (ctx: any) => ({ collected: doneCount(ctx.state()) }) }],
          },
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
                  await gate.children;
                  bus().emit("child.done", { ...ctx.state(), result: `r-${ctx.state().childId}` });
                },
              },
            ],
          },
        ],
      },
    },
  });
  let theBus: Harness["bus"] | undefined;
  const bus = () => theBus!;
  return { parent, child, useBus: (b: Harness["bus"]) => (theBus = b) };
}

describe("child workflows: fan-out N, fan-in every completion", () => {
  async function setup(
    gate: { children: Promise<void>; parentEndsSpawn: Promise<void> },
    pauseWindowMs = 30_000,
  ) {
    const h = await start();
    const { parent, child, useBus } = parentAndChild(gate);
    useBus(h.bus);
    const ended: RunResult<Parent>[] = [];
    await h.runtime.register(parent, { pauseWindowMs, onComplete: (r) => ended.push(r) });
    await h.runtime.register(child, { mode: { type: "transient", concurrency: 50 } });
    return { h, ended };
  }

  it("children that all finish before the parent pauses are drained one per stage", async () => {
    const children = Promise.resolve();
    const spawnEnd = deferred();
    const { h, ended } = await setup({ children, parentEndsSpawn: spawnEnd.promise });
    const run = h.runtime.invoke("parent", "start", { batch: "b1", n: 4 });
    await tick(20); // every child has reported: the parent is still in its first stage
    spawnEnd.resolve();
    const r = await run;
    expect(r.ok && r.value.status).toBe("completed");
    expect(r.ok && (r.value.state as any).collected).toBe(4);
    expect(ended).toHaveLength(1);
  });

  it("children that finish after the parent was released from memory, with duplicates, all count", async () => {
    const gate = deferred();
    const { h, ended } = await setup({ children: gate.promise, parentEndsSpawn: Promise.resolve() }, 0);
    const r = await h.runtime.invoke("parent", "start", { batch: "b2", n: 3 });
    expect(r.ok && r.value.status).toBe("paused");
    const runId = r.metadata.runId!;
    await tick(5); // pause window 0: released
    // a duplicate of c0, before and after
    h.bus.emit("child.done", { parentId: runId, childId: "c0", result: "dup" });
    gate.resolve();
    const result = await h.runtime.result(runId);
    expect(result.ok && result.value.status).toBe("completed");
    expect(result.ok && (result.value.state as any).collected).toBe(3);
    expect(ended).toHaveLength(1);
  });
});

const DAY = 86_400_000;
type Payment = { orderId: string; paid?: boolean; cancelled?: boolean; pauseTimedOut?: boolean };
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
                const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                pause.register({
                  id: "payment",
                  event: "payment.received",
                  conditions: [{ path: "orderId", op: "==", value: ctx.state().orderId }],
                  timeoutMs: (ctx.event as { days: number }).days * DAY,
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

describe("durable timers: wait N days for payment, else cancel", () => {
  for (const [days, moveAt] of [
    [3, 1],
    [30, 26], // past one 24.8-day timer step
  ] as const) {
    it(`a ${days}-day deadline moved at day ${moveAt} (detach → JSON → adopt) fires at day ${days}, not later, not earlier`, async () => {
      vi.useFakeTimers({
        now: Date.UTC(2026, 0, 1),
        toFake: ["setTimeout", "clearTimeout", "Date", "performance"],
      });
      const a = await start();
      await a.runtime.register(payments, { pauseWindowMs: 60_000 });
      const r = await a.runtime.invoke("payments", "placed", { orderId: "o1", days });
      const runId = r.metadata.runId!;
      await vi.advanceTimersByTimeAsync(moveAt * DAY);
      expect(a.runtime.watch("payments", runId)?.status).toBe("paused");
      const text = JSON.stringify(await a.runtime.detach(runId));

      const b = await start();
      const ended: RunResult<Payment>[] = [];
      await b.runtime.register(payments, { onComplete: (x) => ended.push(x) });
      b.runtime.adopt(JSON.parse(text));
      await vi.advanceTimersByTimeAsync((days - moveAt) * DAY - 1_000);
      expect(b.runtime.watch("payments", runId)?.status).toBe("paused");
      await vi.advanceTimersByTimeAsync(1_001); // a deadline wins once it has passed: 1 ms after it
      expect(ended.map((x) => x.ok && x.value.state)).toEqual([
        expect.objectContaining({ cancelled: true, paid: false }),
      ]);
    });
  }

  it("a payment on day 2 of 3 in the adopting runtime wins over the deadline, which then never fires", async () => {
    vi.useFakeTimers({
      now: Date.UTC(2026, 0, 1),
      toFake: ["setTimeout", "clearTimeout", "Date", "performance"],
    });
    const a = await start();
    await a.runtime.register(payments, { pauseWindowMs: 0 });
    const r = await a.runtime.invoke("payments", "placed", { orderId: "o2", days: 3 });
    await vi.advanceTimersByTimeAsync(DAY);
    const checkpoint = a.runtime.checkpoint(r.metadata.runId!);
    await a.runtime.stop(); // a crash-like end: the parked run is aborted here

    const b = await start();
    const ended: RunResult<Payment>[] = [];
    await b.runtime.register(payments, { onComplete: (x) => ended.push(x) });
    await b.runtime.recover(JSON.parse(JSON.stringify(checkpoint)));
    await vi.advanceTimersByTimeAsync(DAY);
    b.bus.emit("payment.received", { orderId: "o2" });
    await vi.advanceTimersByTimeAsync(3 * DAY);
    expect(ended.map((x) => x.ok && x.value.state)).toEqual([expect.objectContaining({ paid: true })]);
    expect(ended[0]!.ok && (ended[0]!.value.state as Payment).cancelled).toBeUndefined();
  });
});

describe("per-entity concurrency and idempotency, as the docs allow it", () => {
  /** A keyed mutex: a run waits for the runs of its key before it; released by run id. */
  class KeyedLocks {
    private tails = new Map<string, Promise<void>>();
    private releases = new Map<string, () => void>();
    async acquire(key: string, runId: string, signal: AbortSignal): Promise<void> {
      const before = this.tails.get(key) ?? Promise.resolve();
      const mine = deferred();
      this.releases.set(runId, mine.resolve);
      const tail = before.then(() => mine.promise);
      this.tails.set(key, tail);
      void tail.then(() => this.tails.get(key) === tail && this.tails.delete(key));
      await Promise.race([
        before,
        new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
      ]);
    }
    release(runId: string): void {
      this.releases.get(runId)?.();
      this.releases.delete(runId);
    }
  }

  it("an idempotency map refusing a duplicate, or failing on a bad payload, is reported when no onDispatch hears it", async () => {
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
              if (seen.has(p.orderId)) throw new Error(`order ${p.orderId} is already being handled`);
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
        expect.stringMatching(
          /^bus event "order.placed" started no run of workflow "orders".*map\(\) threw: order o1 is already being handled.*onDispatch/,
        ),
        { workflowId: "orders", triggerId: "placed", event: "order.placed" },
      ],
      ["INVALID_INPUT", expect.stringMatching(/map\(\) threw: .*trim/), expect.anything()],
    ]);
  });

  it("200 emits (50 customers × 3 orders, 50 duplicates): one run per order, customers one at a time, several at once", async () => {
    const h = await start();
    const locks = new KeyedLocks();
    const seen = new Set<string>();
    const ran: string[] = [];
    const activeByCustomer = new Map<string, number>();
    let active = 0;
    let maxActive = 0;
    let overlap = 0;
    const outcomes: Record<string, number> = {};
    let ended = 0;
    const all = deferred();
    type Order = { orderId: string; customerId: string };
    const orders = defineWorkflow<Order>({
      id: "orders",
      triggers: {
        placed: {
          event: "order.placed",
          pipeline: "fulfil",
          // idempotency: a trigger map that refuses an order it has seen (reported `rejected`)
          map: (p: Order) => {
            if (seen.has(p.orderId)) throw new Error(`duplicate of order ${p.orderId}`);
            seen.add(p.orderId);
            return { orderId: p.orderId, customerId: p.customerId };
          },
        },
      },
      pipelines: {
        fulfil: {
          stages: [
            {
              id: "fulfil",
              steps: [
                {
                  id: "lock",
                  action: (ctx) =>
                    locks.acquire(ctx.state().customerId, ctx.runId, ctx.signal).then(() => undefined),
                },
                {
                  id: "work",
                  action: async (ctx) => {
                    const c = ctx.state().customerId;
                    const n = (activeByCustomer.get(c) ?? 0) + 1;
                    activeByCustomer.set(c, n);
                    if (n > 1) overlap++;
                    maxActive = Math.max(maxActive, ++active);
                    await tick(1);
                    active--;
                    activeByCustomer.set(c, n - 1);
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
      mode: { type: "transient", concurrency: 16 },
      onDispatch: (d) => void (outcomes[d.outcome] = (outcomes[d.outcome] ?? 0) + 1),
      onComplete: (r) => {
        locks.release(r.metadata.runId!);
        if (++ended === 150) all.resolve();
      },
    });
    const events: Order[] = [];
    for (let c = 0; c < 50; c++)
      for (let o = 0; o < 3; o++) events.push({ customerId: `c${c}`, orderId: `c${c}-o${o}` });
    for (let i = 0; i < 50; i++) events.push(events[(i * 7) % 150]!);
    // a fixed shuffle
    for (let i = events.length - 1; i > 0; i--) {
      const j = (i * 31 + 17) % (i + 1);
      [events[i], events[j]] = [events[j]!, events[i]!];
    }
    for (const e of events) h.bus.emit("order.placed", { ...e });
    await all.promise;
    expect(outcomes.rejected).toBe(50);
    expect((outcomes.started ?? 0) + (outcomes.queued ?? 0)).toBe(150);
    expect(new Set(ran).size).toBe(150);
    expect(ran).toHaveLength(150);
    expect(overlap).toBe(0);
    expect(maxActive).toBeGreaterThan(1);
  });
});
