import { execFileSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { DispatchResult, Workflow } from "../src/index.js";
import { RateLimit } from "../src/rate-limit.js";
import { type Harness, harness } from "./helpers.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.runtime.stop();
  h = undefined;
  vi.useRealTimers();
});

/** A workflow of one trigger `go` on `event`, whose one step calls `step` with the run's state. */
function workflow(
  id: string,
  event: string,
  trigger: Record<string, unknown>,
  step: (state: any) => void = () => {},
): Workflow {
  return {
    id,
    triggers: { go: { event, pipeline: "p", ...trigger } },
    pipelines: {
      p: { stages: [{ id: "s", steps: [{ id: "s", action: (ctx) => step(ctx.state()) }] }] },
    },
  };
}

const fake = () => vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });

describe("debounce, adversarially", () => {
  it("holds no event for a workflow deregistered earlier in the same dispatch: dropped at once, no timer left", async () => {
    fake();
    h = await harness();
    const runtime = h.runtime;
    const reports: DispatchResult[] = [];
    // "first" is wired first: its onDispatch deregisters "held" while the event is on its way to it
    await runtime.register(workflow("first", "go", {}), {
      onDispatch: () => void runtime.deregister("held"),
    });
    await runtime.register(workflow("held", "go", { debounce: { periodMs: 1000 } }), {
      onDispatch: (r) => reports.push(r),
    });
    h.bus.emit("go", { n: 1 });
    expect(reports.map((r) => [r.outcome, r.reason])).toEqual([["dropped", "the workflow was deregistered"]]);
    // nothing held: nothing reported or started once its period has passed
    await vi.advanceTimersByTimeAsync(1000);
    expect(reports).toHaveLength(1);
  });

  it("holds no event for a workflow whose runtime a hook stopped earlier in the same dispatch", async () => {
    fake();
    h = await harness();
    const runtime = h.runtime;
    const reports: DispatchResult[] = [];
    await runtime.register(workflow("first", "go", {}), { onDispatch: () => void runtime.stop() });
    await runtime.register(workflow("held", "go", { debounce: { periodMs: 1000 } }), {
      onDispatch: (r) => reports.push(r),
    });
    h.bus.emit("go", { n: 1 });
    expect(reports.map((r) => r.outcome)).toEqual(["dropped"]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(reports).toHaveLength(1);
  });

  it("a debounce key that deregisters its workflow: the event is dropped at once, not held", async () => {
    fake();
    h = await harness();
    const runtime = h.runtime;
    const reports: DispatchResult[] = [];
    const key = () => {
      void runtime.deregister("w");
      return "k";
    };
    await runtime.register(workflow("w", "go", { debounce: { periodMs: 1000, key } }), {
      onDispatch: (r) => reports.push(r),
    });
    h.bus.emit("go", { n: 1 });
    expect(reports.map((r) => [r.outcome, r.reason])).toEqual([["dropped", "the workflow was deregistered"]]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(reports).toHaveLength(1);
  });

  it("a debounce key that drains the runtime: the event is refused as it comes, and starts no run later", async () => {
    fake();
    h = await harness();
    const runtime = h.runtime;
    const reports: DispatchResult[] = [];
    let drained: Promise<unknown> | undefined;
    const key = () => {
      drained ??= runtime.drain();
      return "k";
    };
    await runtime.register(workflow("w", "go", { debounce: { periodMs: 1000, key } }), {
      onDispatch: (r) => reports.push(r),
    });
    h.bus.emit("go", { n: 1 });
    expect(reports.map((r) => r.outcome)).toEqual(["dropped"]);
    expect(reports[0]!.reason).toContain("draining");
    await vi.advanceTimersByTimeAsync(1000);
    await drained;
    expect(reports).toHaveLength(1);
  });

  it("while drain() releases held events, an event a released run emits is refused as it comes, not held", async () => {
    fake();
    h = await harness();
    const reports: DispatchResult[] = [];
    const bus = h.bus;
    // the run of the released event emits the next event of the same debounced trigger
    await h.runtime.register(
      workflow("chain", "go", { debounce: { periodMs: 1000 } }, (s) => {
        if (s.n === 1) bus.emit("go", { n: 2 });
      }),
      { onDispatch: (r) => reports.push(r) },
    );
    bus.emit("go", { n: 1 });
    const drained = h.runtime.drain();
    await vi.advanceTimersByTimeAsync(0);
    await drained;
    expect(reports.map((r) => [r.outcome, (r.payload as { n: number }).n])).toEqual([
      ["started", 1],
      ["dropped", 2],
    ]);
    expect(reports[1]!.reason).toContain("draining");
    await vi.advanceTimersByTimeAsync(1000);
    expect(reports).toHaveLength(2);
  });

  it('drain({ triggers: "start" }): an event a released run emits goes on after the events of its trigger held before it', async () => {
    fake();
    h = await harness();
    const reports: DispatchResult[] = [];
    const bus = h.bus;
    await h.runtime.register(
      workflow("w", "go", { debounce: { periodMs: 1000, key: (p: { k: string }) => p.k } }),
      {
        onDispatch: (r) => {
          reports.push(r);
          // key a's release emits an event of key b, whose held event (n: 2) came before it
          if (r.outcome === "started" && (r.payload as { n: number }).n === 1)
            bus.emit("go", { k: "b", n: 3 });
        },
      },
    );
    bus.emit("go", { k: "a", n: 1 });
    bus.emit("go", { k: "b", n: 2 });
    const drained = h.runtime.drain({ triggers: "start" });
    await vi.advanceTimersByTimeAsync(0);
    expect((await drained).drained).toBe(true);
    expect(reports.map((r) => [r.outcome, (r.payload as { n: number }).n])).toEqual([
      ["started", 1],
      ["started", 2],
      ["started", 3],
    ]);
  });

  it("an event that comes after its series' quiet time, before the late timer ran, does not replace the held one", async () => {
    // real timers: the busy event loop is what makes the timer late (no timer runs during sync code)
    h = await harness();
    const reports: DispatchResult[] = [];
    await h.runtime.register(workflow("w", "go", { debounce: { periodMs: 10 } }), {
      onDispatch: (r) => reports.push(r),
    });
    h.bus.emit("go", { n: 1 });
    const start = performance.now();
    while (performance.now() - start < 30) {
      // the event loop is busy past the period: event 1 has been quiet for 10 ms, its timer not run yet
    }
    h.bus.emit("go", { n: 2 });
    expect(reports.map((r) => [r.outcome, (r.payload as { n: number }).n])).toEqual([["started", 1]]);
  });

  it("a late held event released as the next comes, whose report deregisters the workflow: the next is dropped, not held", async () => {
    h = await harness();
    const runtime = h.runtime;
    const reports: DispatchResult[] = [];
    await runtime.register(workflow("w", "go", { debounce: { periodMs: 10 } }), {
      onDispatch: (r) => {
        reports.push(r);
        if (r.outcome === "started") void runtime.deregister("w");
      },
    });
    h.bus.emit("go", { n: 1 });
    const start = performance.now();
    while (performance.now() - start < 30) {
      // busy past the period, as above
    }
    h.bus.emit("go", { n: 2 });
    expect(reports.map((r) => [r.outcome, (r.payload as { n: number }).n, r.reason])).toEqual([
      ["started", 1, undefined],
      ["dropped", 1, "the workflow was deregistered"],
      ["dropped", 2, "the workflow was deregistered"],
    ]);
  });

  it("a release that deregisters the workflow mid-drain: the other held events are reported dropped once each", async () => {
    // (the released run, still queued when the deregistration comes, is dropped as never started)
    fake();
    h = await harness();
    const runtime = h.runtime;
    const reports: DispatchResult[] = [];
    await runtime.register(
      workflow("w", "go", { debounce: { periodMs: 1000, key: (p: { k: string }) => p.k } }),
      {
        onDispatch: (r) => {
          reports.push(r);
          if (r.outcome === "started") void runtime.deregister("w");
        },
      },
    );
    for (const k of ["a", "b", "c"]) h.bus.emit("go", { k });
    void runtime.drain();
    expect(reports.map((r) => [r.outcome, (r.payload as { k: string }).k])).toEqual([
      ["started", "a"],
      ["dropped", "a"],
      ["dropped", "b"],
      ["dropped", "c"],
    ]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(reports).toHaveLength(4);
  });

  it("register → deregister → register: the old registration's held event never reaches the new one", async () => {
    fake();
    h = await harness();
    const ran: number[] = [];
    const reports: DispatchResult[] = [];
    const def = workflow("w", "go", { debounce: { periodMs: 100 } }, (s) => ran.push(s.n));
    await h.runtime.register(def, { onDispatch: (r) => reports.push(r) });
    h.bus.emit("go", { n: 1 });
    await h.runtime.deregister("w");
    await h.runtime.register(def, { onDispatch: (r) => reports.push(r) });
    await vi.advanceTimersByTimeAsync(500);
    expect(ran).toEqual([]);
    expect(reports.map((r) => r.outcome)).toEqual(["dropped"]);
  });

  it("lets Node exit at once after stop() with events held", () => {
    const dist = resolve(dirname(fileURLToPath(import.meta.url)), "../dist/index.js");
    const script = `
      const { WorkflowRuntime } = await import(${JSON.stringify(dist)});
      const { createEventBus } = await import("@sluice/events");
      const { StoreRegistry } = await import("@sluice/store");
      const bus = createEventBus();
      const runtime = new WorkflowRuntime({ bus, storeRegistry: new StoreRegistry() });
      await runtime.register({ id: "w", triggers: { go: { event: "go", pipeline: "p",
        debounce: { periodMs: 600000, key: (p) => p.k } } },
        pipelines: { p: { stages: [{ id: "s", steps: [{ id: "s", action: () => {} }] }] } } });
      for (const k of ["a", "b"]) bus.emit("go", { k });
      await runtime.stop();
    `;
    // a timer left would keep it alive for ten minutes: the timeout fails the test
    execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: resolve(dirname(fileURLToPath(import.meta.url)), ".."),
      timeout: 10_000,
    });
  });
});

describe("rateLimit, adversarially", () => {
  it("admits at exactly periodMs after the oldest, and keys like __proto__ are keys like any other", () => {
    const limit = new RateLimit(1, 100.5);
    expect(limit.admit("__proto__", 0)).toBe(true);
    expect(limit.admit("__proto__", 100.4)).toBe(false);
    expect(limit.nextAdmission("__proto__", 100.4)).toBe(100.5);
    expect(limit.admit("__proto__", 100.5)).toBe(true);
    expect(limit.admit("constructor", 100.5)).toBe(true);
  });

  it("sweeps keys whose window emptied, and keeps the ones still limited", () => {
    const limit = new RateLimit(2, 10);
    for (let i = 0; i < 5000; i++) limit.admit(`old${i}`, 0);
    limit.admit("live", 5);
    limit.admit("live", 9);
    for (let i = 0; i < 5000; i++) limit.admit(`new${i}`, 12);
    expect(limit.size).toBeLessThan(2 * 5000 + 1024);
    expect(limit.admit("live", 12)).toBe(false);
  });
});

describe("debounce with the rest of the trigger, checked", () => {
  /** A workflow whose step waits for `gate` (so its run stays active), recording each run's `n`. */
  function gated(id: string, trigger: Record<string, unknown>, ran: number[], gate: Promise<void>): Workflow {
    return {
      id,
      triggers: { go: { event: "go", pipeline: "p", ...trigger } },
      pipelines: {
        p: {
          stages: [
            {
              id: "s",
              steps: [
                {
                  id: "s",
                  action: async (ctx) => {
                    ran.push(ctx.state().n as number);
                    await gate;
                  },
                },
              ],
            },
          ],
        },
      },
    };
  }

  for (const [mode, busy] of [
    [{ type: "singleton_loop", onBusy: "signal" }, "signalled"],
    [{ type: "exclusive", onBusy: "reject" }, "rejected"],
    [{ type: "serialized" }, "queued"],
  ] as const) {
    it(`in ${mode.type}: a released event meets the mode as any event does (${busy} while a run is active)`, async () => {
      fake();
      h = await harness();
      const ran: number[] = [];
      const reports: DispatchResult[] = [];
      let open!: () => void;
      const gate = new Promise<void>((r) => (open = r));
      await h.runtime.register(gated("m", { debounce: { periodMs: 100 } }, ran, gate), {
        mode,
        onDispatch: (r) => reports.push(r),
      });
      h.bus.emit("go", { n: 1 });
      h.bus.emit("go", { n: 2 });
      await vi.advanceTimersByTimeAsync(100);
      h.bus.emit("go", { n: 3 });
      await vi.advanceTimersByTimeAsync(100);
      expect(reports.map((r) => [r.outcome, (r.payload as { n: number }).n])).toEqual([
        ["dropped", 1],
        ["started", 2],
        [busy, 3],
      ]);
      expect(ran).toEqual([2]);
      open();
    });
  }

  it("debounce, idempotency key and rateLimit on one trigger: each in its place, one report an event", async () => {
    fake();
    h = await harness();
    const reports: DispatchResult[] = [];
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    await h.runtime.register(
      gated(
        "all",
        {
          debounce: { periodMs: 100, key: (p: { doc: string }) => p.doc },
          key: (p: { order: string }) => p.order,
          rateLimit: { limit: 2, periodMs: 10_000 },
        },
        [],
        gate,
      ),
      { onDispatch: (r) => reports.push(r) },
    );
    h.bus.emit("go", { doc: "a", order: "o1", n: 1 });
    h.bus.emit("go", { doc: "a", order: "o1", n: 2 }); // replaces 1
    h.bus.emit("go", { doc: "b", order: "o1", n: 3 }); // own series; o1 held by 2's run by then
    h.bus.emit("go", { doc: "c", order: "o2", n: 4 });
    h.bus.emit("go", { doc: "d", order: "o3", n: 5 }); // past the limit of 2
    await vi.advanceTimersByTimeAsync(100);
    expect(reports.map((r) => [r.outcome, (r.payload as { n: number }).n])).toEqual([
      ["dropped", 1],
      ["started", 2],
      ["duplicate", 3],
      ["started", 4],
      ["dropped", 5],
    ]);
    expect(reports[4]!.reason).toMatch(
      /^rate limit: 2 events per 10000 ms already admitted; the next is admitted in 10000 ms$/,
    );
    open();
  });

  it("several triggers on one event, one debounced: each reports the event once, the debounced one later", async () => {
    fake();
    h = await harness();
    const reports: DispatchResult[] = [];
    await h.runtime.register(
      {
        id: "two",
        triggers: {
          now: { event: "go", pipeline: "p" },
          later: { event: "go", pipeline: "p", debounce: { periodMs: 100 } },
        },
        pipelines: { p: { stages: [{ id: "s", steps: [{ id: "s", action: () => {} }] }] } },
      },
      { onDispatch: (r) => reports.push(r) },
    );
    h.bus.emit("go", { n: 1 });
    expect(reports.map((r) => [r.triggerId, r.outcome])).toEqual([["now", "started"]]);
    await vi.advanceTimersByTimeAsync(100);
    expect(reports.map((r) => [r.triggerId, r.outcome])).toEqual([
      ["now", "started"],
      ["later", "started"],
    ]);
  });

  it("reads a held payload at release (a change the host made after emitting is seen), as documented", async () => {
    fake();
    h = await harness();
    const ran: number[] = [];
    await h.runtime.register(workflow("w", "go", { debounce: { periodMs: 100 } }, (s) => ran.push(s.n)));
    const payload = { n: 1 };
    h.bus.emit("go", payload);
    payload.n = 2;
    await vi.advanceTimersByTimeAsync(100);
    await vi.waitFor(() => expect(ran).toEqual([2]));
  });

  it("maxWaitMs releases a series still coming in, and the next event begins a new one", async () => {
    fake();
    h = await harness();
    const ran: number[] = [];
    await h.runtime.register(
      workflow("w", "go", { debounce: { periodMs: 100, maxWaitMs: 250 } }, (s) => ran.push(s.n)),
    );
    for (let n = 1; n <= 6; n++) {
      h.bus.emit("go", { n });
      await vi.advanceTimersByTimeAsync(60);
    }
    // 1 at 0 … 5 at 240: released at 250 with 5; 6 at 300 begins the next series
    expect(ran).toEqual([5]);
    await vi.advanceTimersByTimeAsync(100);
    expect(ran).toEqual([5, 6]);
  });
});
