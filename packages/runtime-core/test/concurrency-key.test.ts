import { afterEach, describe, expect, it } from "vitest";
import type { DispatchResult, ExecutionMode, PauseService, RunState, Workflow } from "../src/index.js";
import { registerGated } from "./gated-workflow.js";
import { type Harness, harness, tick } from "./helpers.js";

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

/** The customer of a run id such as `c1-a`. */
const customer = (input: Readonly<RunState>) => String(input.id).split("-")[0]!;

async function setup(mode: ExecutionMode) {
  h = await harness();
  return registerGated(h, mode);
}

describe("transient with a concurrency key", () => {
  it("runs at most keyConcurrency runs of a key, within concurrency; a freed slot goes to the longest-waiting run whose key has room", async () => {
    const t = await setup({ type: "transient", concurrency: 2, key: customer });
    for (const id of ["c1-a", "c1-b", "c2-a", "c1-c", "c2-b", "c3-a"]) t.emit(id);
    expect(t.dispatched.map((d) => d.outcome)).toEqual([
      "started",
      "queued",
      "started",
      "queued",
      "queued",
      "queued",
    ]);
    await expect.poll(() => t.started).toEqual(["c1-a", "c2-a"]);
    t.open("c1-a"); // c1-b waited longest
    await expect.poll(() => t.started).toEqual(["c1-a", "c2-a", "c1-b"]);
    t.open("c2-a"); // c1-c waited longer than c2-b, but c1 is busy with c1-b
    await expect.poll(() => t.started).toEqual(["c1-a", "c2-a", "c1-b", "c2-b"]);
    t.open("c1-b"); // c1-c (arrived before c3-a)
    await expect.poll(() => t.started).toEqual(["c1-a", "c2-a", "c1-b", "c2-b", "c1-c"]);
    t.open("c2-b");
    await expect.poll(() => t.started).toEqual(["c1-a", "c2-a", "c1-b", "c2-b", "c1-c", "c3-a"]);
    t.open("c1-c");
    t.open("c3-a");
    await expect.poll(() => t.completed.length).toBe(6);
    // the queued reports name the runs that ran later
    const ranAs = new Map(t.completed.map((r) => [r.metadata.runId, r.ok && r.value.state.id]));
    expect(t.dispatched.map((d) => ranAs.get(d.runId!))).toEqual([
      "c1-a",
      "c1-b",
      "c2-a",
      "c1-c",
      "c2-b",
      "c3-a",
    ]);
  });

  it("never lets a busy key hold back another key's run while a slot is free", async () => {
    const t = await setup({ type: "transient", concurrency: 3, key: customer });
    for (const id of ["c1-a", "c1-b", "c1-c", "c2-a"]) t.emit(id);
    expect(t.dispatched.map((d) => d.outcome)).toEqual(["started", "queued", "queued", "started"]);
    await expect.poll(() => t.started).toEqual(["c1-a", "c2-a"]);
    t.open("c2-a");
    await expect.poll(() => t.completed.length).toBe(1);
    await tick(5);
    expect(t.started).toEqual(["c1-a", "c2-a"]); // c1's runs wait for c1, not for a slot
    t.open("c1-a");
    await expect.poll(() => t.started).toEqual(["c1-a", "c2-a", "c1-b"]);
  });

  it("keyConcurrency lets that many runs of one key execute at once", async () => {
    const t = await setup({ type: "transient", concurrency: 10, key: customer, keyConcurrency: 2 });
    for (const id of ["c1-a", "c1-b", "c1-c", "c2-a"]) t.emit(id);
    expect(t.dispatched.map((d) => d.outcome)).toEqual(["started", "started", "queued", "started"]);
    await expect.poll(() => t.started).toEqual(["c1-a", "c1-b", "c2-a"]);
    t.open("c1-b");
    await expect.poll(() => t.started).toEqual(["c1-a", "c1-b", "c2-a", "c1-c"]);
  });

  it("counts every key's waiting runs against capacity", async () => {
    const t = await setup({ type: "transient", concurrency: 1, capacity: 2, key: customer });
    for (const id of ["c1-a", "c2-a", "c3-a", "c4-a"]) t.emit(id);
    expect(t.dispatched.map((d) => d.outcome)).toEqual(["started", "queued", "queued", "dropped"]);
    expect(t.dispatched[3]?.reason).toBe("queue is at capacity (2)");
  });

  it("gives the key's slot back when its run pauses: the key's next run starts while it waits", async () => {
    h = await harness();
    const dispatched: DispatchResult[] = [];
    const approvals: string[] = [];
    const workflow: Workflow = {
      id: "orders",
      triggers: { placed: { event: "placed", pipeline: "main" } },
      pipelines: {
        main: {
          stages: [
            {
              id: "ask",
              steps: [
                {
                  id: "wait",
                  action: async (ctx) => {
                    approvals.push(ctx.state().id as string);
                    const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                    pause.register({
                      event: "approved",
                      conditions: [{ path: "id", op: "==", value: ctx.state().id }],
                    });
                  },
                },
              ],
            },
            { id: "ship", steps: [{ id: "ship", action: () => ({ shipped: true }) }] },
          ],
        },
      },
    };
    await h.runtime.register(workflow, {
      mode: { type: "serialized", key: customer },
      onDispatch: (r) => dispatched.push(r),
    });
    h.bus.emit("placed", { id: "c1-a" });
    h.bus.emit("placed", { id: "c1-b" });
    expect(dispatched.map((d) => d.outcome)).toEqual(["started", "queued"]);
    await expect.poll(() => approvals).toEqual(["c1-a", "c1-b"]);
    expect(h.runtime.listAllRuns().map((r) => r.status)).toEqual(["paused", "paused"]);
    h.bus.emit("approved", { id: "c1-a" });
    h.bus.emit("approved", { id: "c1-b" });
    await expect.poll(() => h.runtime.listAllRuns().map((r) => r.status)).toEqual(["completed", "completed"]);
  });

  it("a queued run the host aborts leaves its key's line; the next one takes its place in order", async () => {
    const t = await setup({ type: "transient", concurrency: 2, key: customer });
    for (const id of ["c1-a", "c1-b", "c1-c", "c2-a", "c2-b"]) t.emit(id);
    expect(t.dispatched.map((d) => d.outcome)).toEqual(["started", "queued", "queued", "started", "queued"]);
    await h.runtime.abort(t.dispatched[1]!.runId!); // c1-b, first in c1's line
    t.open("c1-a");
    await expect.poll(() => t.started).toEqual(["c1-a", "c2-a", "c1-c"]);
    t.open("c2-a");
    await expect.poll(() => t.started).toEqual(["c1-a", "c2-a", "c1-c", "c2-b"]);
  });

  it("deregister drops every key's waiting runs, in arrival order", async () => {
    const t = await setup({ type: "transient", concurrency: 1, key: customer });
    for (const id of ["c1-a", "c2-a", "c1-b", "c3-a"]) t.emit(id);
    await expect.poll(() => t.started).toEqual(["c1-a"]);
    await h.runtime.deregister("gated");
    const dropped = t.dispatched.filter((d) => d.outcome === "dropped");
    expect(dropped.map((d) => d.runId)).toEqual([1, 2, 3].map((i) => t.dispatched[i]!.runId));
    expect(t.completed.map((r) => r.ok && r.value.status)).toEqual(["aborted"]);
  });

  it("reads the key from the state the trigger's map made, with the trigger's id", async () => {
    h = await harness();
    const seen: Array<[unknown, string]> = [];
    const dispatched: DispatchResult[] = [];
    const step = { id: "s", action: () => new Promise<void>(() => {}) };
    await h.runtime.register(
      {
        id: "mapped",
        triggers: {
          web: {
            event: "web.order",
            pipeline: "p",
            map: (p: { customer: { id: string } }) => ({ customerId: p.customer.id }),
          },
          api: { event: "api.order", pipeline: "p", map: (p: { cid: string }) => ({ customerId: p.cid }) },
        },
        pipelines: { p: { stages: [{ id: "s", steps: [step] }] } },
      },
      {
        mode: {
          type: "transient",
          concurrency: 5,
          key: (input, triggerId) => {
            seen.push([input.customerId, triggerId]);
            return input.customerId as string;
          },
        },
        onDispatch: (r) => dispatched.push(r),
      },
    );
    h.bus.emit("web.order", { customer: { id: "c1" } });
    h.bus.emit("api.order", { cid: "c1" });
    h.bus.emit("api.order", { cid: "c2" });
    expect(seen).toEqual([
      ["c1", "web"],
      ["c1", "api"],
      ["c2", "api"],
    ]);
    expect(dispatched.map((d) => d.outcome)).toEqual(["started", "queued", "started"]);
  });

  it("refuses an event whose key cannot be read: rejected to onDispatch, INVALID_INPUT to onError without one", async () => {
    const bad: Array<(input: Readonly<RunState>) => unknown> = [
      () => {
        throw new Error("no customer");
      },
      () => 42,
      () => "",
      async () => "c1",
    ];
    h = await harness();
    const dispatched: DispatchResult[] = [];
    let which = 0;
    await h.runtime.register(
      {
        id: "keyed",
        triggers: { go: { event: "go", pipeline: "p" } },
        pipelines: { p: { stages: [{ id: "s", steps: [{ id: "s", action: () => {} }] }] } },
      },
      {
        mode: { type: "transient", concurrency: 1, key: (input) => bad[which]!(input) as string },
        onDispatch: (r) => dispatched.push(r),
      },
    );
    for (which = 0; which < bad.length; which++) h.bus.emit("go", {});
    expect(dispatched.map((d) => d.outcome)).toEqual(["rejected", "rejected", "rejected", "rejected"]);
    expect(dispatched.map((d) => d.reason)).toEqual([
      'workflow "keyed" mode.key() (an event of trigger "go") threw: no customer',
      `workflow "keyed" mode.key() (an event of trigger "go") must return a non-empty string, the run's concurrency key (got 42)`,
      `workflow "keyed" mode.key() (an event of trigger "go") must return a non-empty string, the run's concurrency key (got "")`,
      `workflow "keyed" mode.key() (an event of trigger "go") returned a promise; mode.key must be synchronous (the key is compared as the event is dispatched): compute it from the input alone`,
    ]);
    expect(h.runtime.listAllRuns()).toEqual([]);

    await h.runtime.deregister("keyed");
    await h.runtime.register(
      {
        id: "quiet",
        triggers: { go: { event: "go2", pipeline: "p" } },
        pipelines: { p: { stages: [{ id: "s", steps: [{ id: "s", action: () => {} }] }] } },
      },
      { mode: { type: "serialized", key: bad[0] as (input: Readonly<RunState>) => string } },
    );
    h.bus.emit("go2", {});
    expect(h.errors.map((e) => [e.code, e.message])).toEqual([
      [
        "INVALID_INPUT",
        'bus event "go2" started no run of workflow "quiet": workflow "quiet" mode.key() (an event of trigger "go") threw: no customer (reported here because the workflow has no onDispatch, which would be told it was rejected)',
      ],
    ]);
  });

  it("leaves invoke() alone: it bypasses the mode and its key", async () => {
    const t = await setup({ type: "transient", concurrency: 1, key: customer });
    t.emit("c1-a");
    const invoked = h.runtime.invoke("gated", "go", { id: "c1-b" });
    await expect.poll(() => t.started).toEqual(["c1-a", "c1-b"]);
    t.open("c1-b");
    expect((await invoked).ok).toBe(true);
    t.open("c1-a");
  });
});

describe("serialized with a concurrency key", () => {
  it("runs one run per key at a time, each key's in arrival order, different keys at once", async () => {
    const t = await setup({ type: "serialized", key: customer });
    for (const id of ["c1-a", "c2-a", "c1-b", "c3-a", "c2-b", "c1-c"]) t.emit(id);
    expect(t.dispatched.map((d) => d.outcome)).toEqual([
      "started",
      "started",
      "queued",
      "started",
      "queued",
      "queued",
    ]);
    await expect.poll(() => t.started).toEqual(["c1-a", "c2-a", "c3-a"]);
    t.open("c2-a");
    await expect.poll(() => t.started).toEqual(["c1-a", "c2-a", "c3-a", "c2-b"]);
    t.open("c1-a");
    await expect.poll(() => t.started).toEqual(["c1-a", "c2-a", "c3-a", "c2-b", "c1-b"]);
    t.open("c1-b");
    await expect.poll(() => t.started).toEqual(["c1-a", "c2-a", "c3-a", "c2-b", "c1-b", "c1-c"]);
  });
});

describe("the concurrency key against a model of it", () => {
  /**
   * What should start, by the mode's rule alone: whenever a slot frees, the longest-waiting run
   * whose key has room, until none can.
   */
  function model(concurrency: number, keyConcurrency: number) {
    const running: string[] = [];
    const waiting: string[] = [];
    const started: string[] = [];
    const busy = (key: string) => running.filter((id) => id.split("-")[0] === key).length;
    const fill = () => {
      for (let i = 0; i < waiting.length && running.length < concurrency; ) {
        const id = waiting[i]!;
        if (busy(id.split("-")[0]!) < keyConcurrency) {
          waiting.splice(i, 1);
          running.push(id);
          started.push(id);
        } else i++;
      }
    };
    return {
      running,
      started,
      emit(id: string) {
        waiting.push(id);
        fill();
      },
      end(id: string) {
        running.splice(running.indexOf(id), 1);
        fill();
      },
    };
  }

  it.each([
    [2, 1, 11],
    [3, 2, 12],
    [5, 1, 13],
  ])(
    "concurrency %i, keyConcurrency %i (seed %i): starts exactly what the rule says, in its order",
    async (concurrency, keyConcurrency, seed) => {
      let s = seed;
      const random = () => {
        s = (s * 1103515245 + 12345) % 2 ** 31;
        return s / 2 ** 31;
      };
      const t = await setup({
        type: "transient",
        concurrency,
        keyConcurrency,
        key: customer,
        capacity: Infinity,
      });
      const m = model(concurrency, keyConcurrency);
      for (let op = 0; op < 120; op++) {
        if (m.running.length === 0 || random() < 0.55) {
          const id = `k${Math.floor(random() * 4)}-${op}`;
          t.emit(id);
          m.emit(id);
        } else {
          const id = m.running[Math.floor(random() * m.running.length)]!;
          t.open(id);
          m.end(id);
        }
        await expect.poll(() => t.started.length, { interval: 1 }).toBe(m.started.length);
      }
      expect(t.started).toEqual(m.started);
    },
  );
});
