import { afterEach, describe, expect, it, vi } from "vitest";
import type { DispatchResult, RegisterOptions, TriggerDefinition, Workflow } from "../src/index.js";
import { RateLimit } from "../src/rate-limit.js";
import { type Harness, harness } from "./helpers.js";

let h: Harness | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await h?.runtime.stop();
  h = undefined;
});

/** A runtime whose workflow's trigger `go` (event "go") has `trigger` merged in; one quick step. */
async function setup(trigger: Partial<TriggerDefinition>, options: RegisterOptions = {}) {
  // the limit reads performance.now(): faked, the window is moved by the test, not by the machine
  vi.useFakeTimers({ toFake: ["performance"] });
  h = await harness();
  const dispatched: DispatchResult[] = [];
  const workflow: Workflow = {
    id: "limited",
    triggers: { go: { event: "go", pipeline: "p", ...trigger } },
    pipelines: { p: { stages: [{ id: "s", steps: [{ id: "s", action: () => ({ done: true }) }] }] } },
  };
  await h.runtime.register(workflow, { onDispatch: (r) => dispatched.push(r), ...options });
  const bus = h.bus;
  return {
    dispatched,
    outcomes: () => dispatched.map((d) => d.outcome),
    emit: (payload: object = {}) => bus.emit("go", payload),
    later: (ms: number) => vi.advanceTimersByTime(ms),
  };
}

describe("a trigger's rateLimit", () => {
  it("admits `limit` events in any `periodMs` and drops the rest, saying when the next is admitted", async () => {
    const t = await setup({ rateLimit: { limit: 3, periodMs: 1000 } });
    for (let i = 0; i < 5; i++) t.emit({ i });
    expect(t.outcomes()).toEqual(["started", "started", "started", "dropped", "dropped"]);
    expect(t.dispatched[3]).toMatchObject({
      payload: { i: 3 },
      reason: "rate limit: 3 events per 1000 ms already admitted; the next is admitted in 1000 ms",
    });
    expect(t.dispatched[3]!.runId).toBeUndefined();
    t.later(999);
    t.emit();
    expect(t.dispatched[5]!.reason).toBe(
      "rate limit: 3 events per 1000 ms already admitted; the next is admitted in 1 ms",
    );
    t.later(1);
    t.emit();
    expect(t.outcomes().slice(5)).toEqual(["dropped", "started"]);
  });

  it("is a sliding window: an event is admitted once the oldest of the last `limit` is `periodMs` old", async () => {
    const t = await setup({ rateLimit: { limit: 3, periodMs: 1000 } });
    t.emit(); // 0
    t.later(400);
    t.emit(); // 400
    t.later(400);
    t.emit(); // 800
    t.later(199);
    t.emit(); // 999: three in (−1, 999]
    t.later(1);
    t.emit(); // 1000: the one at 0 has left the window
    t.later(399);
    t.emit(); // 1399: 400, 800, 1000 are in it
    t.later(1);
    t.emit(); // 1400
    expect(t.outcomes()).toEqual([
      "started",
      "started",
      "started",
      "dropped",
      "started",
      "dropped",
      "started",
    ]);
  });

  it("with a key, limits each key on its own and names the key", async () => {
    const t = await setup({
      rateLimit: { limit: 2, periodMs: 60_000, key: (p: { user: string }) => p.user },
    });
    for (const user of ["u1", "u1", "u2", "u1", "u2", "u2"]) t.emit({ user });
    expect(t.outcomes()).toEqual(["started", "started", "started", "dropped", "started", "dropped"]);
    expect(t.dispatched[3]!.reason).toBe(
      'rate limit: 2 events per 60000 ms for key "u1" already admitted; the next is admitted in 60000 ms',
    );
  });

  it("counts only events it admits, after `when` and the idempotency key: a filtered or duplicate event uses none of it", async () => {
    vi.useFakeTimers({ toFake: ["performance"] });
    h = await harness();
    const dispatched: DispatchResult[] = [];
    await h.runtime.register(
      {
        id: "held",
        triggers: {
          go: {
            event: "held.go",
            pipeline: "p",
            when: [{ path: "ok", op: "==", value: true }],
            key: (p: { order: string }) => p.order,
            rateLimit: { limit: 2, periodMs: 1000 },
          },
        },
        // the runs stay unfinished, so each holds its key
        pipelines: {
          p: { stages: [{ id: "s", steps: [{ id: "s", action: () => new Promise(() => {}) }] }] },
        },
      },
      { onDispatch: (r) => dispatched.push(r) },
    );
    const emit = (order: string, ok = true) => h!.bus.emit("held.go", { order, ok });
    emit("o1", false); // filtered out by `when`: not the trigger's event, nothing reported
    emit("o1");
    emit("o1"); // a duplicate: the run of o1 holds the key
    emit("o2");
    emit("o3"); // the limit's third
    expect(dispatched.map((d) => d.outcome)).toEqual(["started", "duplicate", "started", "dropped"]);
  });

  it("is bypassed by invoke(), as the mode is", async () => {
    const t = await setup({ rateLimit: { limit: 1, periodMs: 1000 } });
    t.emit();
    t.emit();
    expect(t.outcomes()).toEqual(["started", "dropped"]);
    const invoked = await h!.runtime.invoke("limited", "go", {});
    expect(invoked.ok && invoked.value.status).toBe("completed");
  });

  it("refuses an event whose key cannot be read: rejected, or INVALID_INPUT to onError without onDispatch", async () => {
    const t = await setup({
      rateLimit: {
        limit: 5,
        periodMs: 1000,
        key: (p: { user?: string }) => {
          if (p.user === undefined) throw new Error("no user");
          return p.user;
        },
      },
    });
    t.emit({});
    t.emit({ user: "u1" });
    expect(t.outcomes()).toEqual(["rejected", "started"]);
    expect(t.dispatched[0]!.reason).toBe('workflow "limited" trigger "go": rateLimit.key() threw: no user');

    await h!.runtime.deregister("limited");
    await h!.runtime.register({
      id: "quiet",
      triggers: {
        go: {
          event: "go2",
          pipeline: "p",
          rateLimit: { limit: 1, periodMs: 10, key: () => 7 as unknown as string },
        },
      },
      pipelines: { p: { stages: [{ id: "s", steps: [{ id: "s", action: () => {} }] }] } },
    });
    h!.bus.emit("go2", {});
    expect(h!.errors.map((e) => [e.code, e.message])).toEqual([
      [
        "INVALID_INPUT",
        'bus event "go2" started no run of workflow "quiet": workflow "quiet" trigger "go": rateLimit.key() must return a non-empty string, the key its rate limit counts the event under (got 7) (reported here because the workflow has no onDispatch, which would be told it was rejected)',
      ],
    ]);
  });

  it.each([
    [
      { limit: 0, periodMs: 10 },
      "triggers.go.rateLimit.limit: must be a positive integer (events per period), got 0",
    ],
    [
      { limit: 1.5, periodMs: 10 },
      "triggers.go.rateLimit.limit: must be a positive integer (events per period), got 1.5",
    ],
    [
      { limit: 1, periodMs: 0 },
      "triggers.go.rateLimit.periodMs: must be a positive finite number of milliseconds, got 0",
    ],
    [
      { limit: 1, periodMs: Number.POSITIVE_INFINITY },
      "triggers.go.rateLimit.periodMs: must be a positive finite number of milliseconds, got Infinity",
    ],
    [
      { limit: 1, periodMs: 10, key: "user" },
      'triggers.go.rateLimit.key: must be a function of the payload returning the key to limit by, such as (p) => p.userId; got "user"',
    ],
    [
      { limit: 1, period: 10 },
      "triggers.go.rateLimit.period: is not an option here (options: limit, periodMs, key)",
    ],
    [10, "triggers.go.rateLimit: must be an object such as { limit: 10, periodMs: 60_000 }, got 10"],
  ])("register refuses rateLimit %o: INVALID_DEFINITION", async (rateLimit, message) => {
    h = await harness();
    await expect(
      h.runtime.register({
        id: "bad",
        triggers: { go: { event: "go", pipeline: "p", rateLimit: rateLimit as never } },
        pipelines: { p: { stages: [{ id: "s", steps: [{ id: "s", action: () => {} }] }] } },
      }),
    ).rejects.toMatchObject({ code: "INVALID_DEFINITION", message });
  });
});

describe("RateLimit", () => {
  it("forgets keys whose window has emptied, so the table stays bounded by the keys of about one period", () => {
    const limit = new RateLimit(1, 100);
    let now = 0;
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 3000; i++) expect(limit.admit(`r${round}-${i}`, now)).toBe(true);
      expect(limit.size).toBeLessThanOrEqual(6000);
      now += 100;
    }
    // every key of the last round is still counted: a key seen once is limited for its period
    expect(limit.admit("r9-0", now - 1)).toBe(false);
    expect(limit.nextAdmission("r9-0", now - 1)).toBe(now);
  });

  it("admits exactly `limit` in any window, against a count of the admitted events", () => {
    const limit = new RateLimit(4, 50);
    const admitted: number[] = [];
    let s = 7;
    let now = 0;
    for (let i = 0; i < 2000; i++) {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      now += s % 23;
      const inWindow = admitted.filter((at) => now - at < 50).length;
      expect(limit.admit("k", now)).toBe(inWindow < 4);
      if (inWindow < 4) admitted.push(now);
    }
  });
});
