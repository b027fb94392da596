import type { PauseRegistration, PauseService } from "@sluice/pause";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { RunResult, StepDefinition, Workflow } from "../src/index.js";
import { deferred, type Harness, harness } from "./helpers.js";
import { settledHeap } from "./reliability/support.js";

const pauseOf = (ctx: { use: (fn: (d: any) => any) => Promise<any> }) =>
  ctx.use((d) => d.require("__pause_service__")) as Promise<PauseService>;

/** A workflow whose stage "work" has `steps`, then a stage "after" (with `after`, if given). */
function workflow(
  steps: StepDefinition<any>[],
  options: {
    concurrent?: boolean;
    after?: StepDefinition<any>["action"];
    patches?: Workflow["patches"];
  } = {},
): Workflow {
  return {
    id: "w",
    triggers: { go: { event: "w.go", pipeline: "p" } },
    ...(options.patches !== undefined && { patches: options.patches }),
    pipelines: {
      p: {
        stages: [
          { id: "work", ...(options.concurrent === true && { concurrent: true }), steps },
          { id: "after", steps: [{ id: "after", action: options.after ?? (() => ({ after: true })) }] },
        ],
      },
    },
  };
}

/** The events of the waits the paused run `result` checkpointed, in order. */
function waitEvents(result: RunResult): unknown[] {
  expect(result.ok && result.value.status).toBe("paused");
  return (h.runtime.checkpoint(result.metadata.runId!)?.pause ?? []).map((wait) => wait.event);
}

/**
 * A step "ask" (2 attempts, no backoff) whose attempt 1 registers `first` and throws, and whose
 * attempt 2 registers `retry` once the test has emitted `approved` with `approval` (between the
 * two: the first attempt's wait is held, the retry has not registered yet). Resolves with how the
 * invoke ended, and the waits attempt 2 saw pending before it registered.
 */
async function retryAfterApproval(
  first: PauseRegistration,
  retry: PauseRegistration,
  approval: object,
  options: { timesOut?: boolean; patches?: Workflow["patches"] } = {},
): Promise<{ result: RunResult; pendingBefore: number }> {
  const retrying = deferred();
  const approved = deferred();
  let pendingBefore = -1;
  await h.runtime.register(
    workflow(
      [
        {
          id: "ask",
          retry: { attempts: 2 },
          ...(options.timesOut === true && { timeoutMs: 20 }),
          action: async (ctx) => {
            const pause = await pauseOf(ctx);
            if (ctx.attempt === 1) {
              pause.register(first);
              if (options.timesOut === true) return new Promise<never>(() => {});
              throw new Error("the mail server is down");
            }
            pendingBefore = pause.pending().length;
            retrying.resolve();
            await approved.promise;
            pause.register(retry);
          },
        },
      ],
      options.patches === undefined ? {} : { patches: options.patches },
    ),
  );
  const invoked = h.runtime.invoke("w", "go", {});
  await retrying.promise;
  h.bus.emit("approved", approval);
  approved.resolve();
  return { result: await invoked, pendingBefore };
}

let h: Harness;
afterEach(async () => {
  vi.useRealTimers();
  await h?.runtime.stop();
});

describe("waits of a failed attempt, held for the step's retry", () => {
  it("keep an approval that comes during the backoff: the retry's equal wait resumes on it", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    h = await harness();
    const attempts: number[] = [];
    const firstFailed = deferred();
    await h.runtime.register(
      workflow([
        {
          id: "notify",
          retry: { attempts: 2, backoffMs: 60_000 },
          action: async (ctx) => {
            attempts.push(ctx.attempt);
            (await pauseOf(ctx)).register({
              event: "approved",
              conditions: [{ path: "orderId", op: "==", value: "o1" }],
              // a new function on each attempt: the retry's maps the held event
              patch: (p: { by: string }) => ({ approvedBy: p.by, mappedBy: ctx.attempt }),
            });
            if (ctx.attempt === 1) {
              firstFailed.resolve();
              throw new Error("the mail server is down");
            }
          },
        },
      ]),
    );
    const invoked = h.runtime.invoke("w", "go", {});
    await firstFailed.promise;
    await vi.advanceTimersByTimeAsync(1_000); // the failure is handled; the backoff has 59 s to go
    expect(attempts).toEqual([1]);
    h.bus.emit("approved", { orderId: "o2", by: "bob" }); // another order's: not held
    h.bus.emit("approved", { orderId: "o1", by: "ann" });
    await vi.advanceTimersByTimeAsync(60_000);
    const result = await invoked;
    expect(attempts).toEqual([1, 2]);
    expect(result.ok && result.value).toMatchObject({
      status: "completed",
      state: { approvedBy: "ann", mappedBy: 2, after: true },
    });
  });

  it("keep an approval buffered before the first failure through every retry that registers again", async () => {
    h = await harness();
    await h.runtime.register(
      workflow([
        {
          id: "ask",
          retry: { attempts: 3 },
          action: async (ctx) => {
            (await pauseOf(ctx)).register({
              event: "approved",
              patch: (p: { by: string }) => ({ by: p.by }),
            });
            if (ctx.attempt === 1) h.bus.emit("approved", { by: "ann" });
            if (ctx.attempt < 3) throw new Error(`attempt ${ctx.attempt} fails after registering`);
          },
        },
      ]),
    );
    const result = await h.runtime.invoke("w", "go", {});
    expect(result.ok && result.value).toMatchObject({
      status: "completed",
      state: { by: "ann", after: true },
    });
  });

  it("last while the step is retried: an attempt that fails before registering keeps them for the next", async () => {
    h = await harness();
    const third = deferred();
    const approved = deferred();
    await h.runtime.register(
      workflow([
        {
          id: "ask",
          retry: { attempts: 3 },
          action: async (ctx) => {
            if (ctx.attempt === 2) throw new Error("fails before it registers");
            const pause = await pauseOf(ctx);
            if (ctx.attempt === 3) {
              third.resolve();
              await approved.promise;
            }
            pause.register({ event: "approved" });
            if (ctx.attempt === 1) throw new Error("fails after it registered");
          },
        },
      ]),
    );
    const invoked = h.runtime.invoke("w", "go", {});
    await third.promise;
    h.bus.emit("approved", { by: "ann" });
    approved.resolve();
    const result = await invoked;
    expect(result.ok && result.value).toMatchObject({
      status: "completed",
      state: { by: "ann", after: true },
    });
  });

  it("are not listed by pending(), nor pause the run; one not taken over goes with its events", async () => {
    h = await harness();
    const retrying = deferred();
    const approved = deferred();
    let pendingBefore: unknown;
    await h.runtime.register(
      workflow(
        [
          {
            id: "ask",
            retry: { attempts: 2 },
            action: async (ctx) => {
              const pause = await pauseOf(ctx);
              if (ctx.attempt === 1) {
                pause.register({ event: "approved" });
                throw new Error("the mail server is down");
              }
              pendingBefore = pause.pending();
              retrying.resolve();
              await approved.promise;
              pause.register({ event: "confirmed" });
            },
          },
        ],
        {
          // a later stage waits on the event the failed attempt waited on: the approval held for
          // that attempt, dropped with its wait, must not resume it
          after: async (ctx) => {
            (await pauseOf(ctx)).register({ event: "approved", patch: () => ({ approvedLater: true }) });
          },
        },
      ),
    );
    const invoked = h.runtime.invoke("w", "go", {});
    await retrying.promise;
    h.bus.emit("approved", {});
    approved.resolve();
    const paused = await invoked;
    expect(pendingBefore).toEqual([]);
    expect(waitEvents(paused)).toEqual(["confirmed"]);
    const runId = paused.metadata.runId!;

    const pausedAgain = await h.runtime.resume(runId);
    expect(waitEvents(pausedAgain)).toEqual(["approved"]);
    const done = h.runtime.result(runId);
    h.bus.emit("approved", {});
    expect(await done).toMatchObject({
      ok: true,
      value: { status: "completed", state: { approvedLater: true } },
    });
  });

  it("of a timed-out attempt are held too", async () => {
    h = await harness();
    const { result } = await retryAfterApproval(
      { id: "approval", event: "approved" },
      { id: "approval", event: "approved" },
      { by: "ann" },
      { timesOut: true },
    );
    expect(result.ok && result.value).toMatchObject({
      status: "completed",
      state: { by: "ann", after: true },
    });
  });

  // [what the held wait was, what the retry registers, whether the approval counts for it]
  const level1 = [{ path: "level", op: "==", value: 1 }] as const;
  const cases: [string, PauseRegistration, PauseRegistration, boolean][] = [
    [
      "the same id, other conditions the approval meets",
      { id: "approval", event: "approved", conditions: [...level1] },
      { id: "approval", event: "approved", conditions: [{ path: "level", op: ">=", value: 1 }] },
      true,
    ],
    [
      "the same id, conditions the approval does not meet",
      { id: "approval", event: "approved", conditions: [...level1] },
      { id: "approval", event: "approved", conditions: [{ path: "level", op: "==", value: 2 }] },
      false,
    ],
    [
      "another id, though the wait is the same (the held one had an id of its own)",
      { id: "approval", event: "approved" },
      { id: "other", event: "approved" },
      false,
    ],
    [
      "an id, for a held wait without one that it equals",
      { event: "approved", conditions: [...level1] },
      { id: "named", event: "approved", conditions: [...level1] },
      true,
    ],
    [
      "other conditions, without ids",
      { event: "approved", conditions: [...level1] },
      { event: "approved", conditions: [{ path: "level", op: ">=", value: 1 }] },
      false,
    ],
    ["another event, without ids", { event: "approved" }, { event: "approved.v2" }, false],
    [
      "another patch function (mappers are compared by kind)",
      { event: "approved", patch: () => ({ by: "first" }) },
      { event: "approved", patch: () => ({ by: "retry" }) },
      true,
    ],
    [
      "a patch where the held one had none",
      { event: "approved" },
      { event: "approved", patch: () => ({}) },
      false,
    ],
    [
      "the same named patch",
      { event: "approved", patch: "grant" },
      { event: "approved", patch: "grant" },
      true,
    ],
    [
      "another named patch",
      { event: "approved", patch: "grant" },
      { event: "approved", patch: "other" },
      false,
    ],
  ];
  for (const [what, first, retry, counts] of cases) {
    it(`${counts ? "are" : "are not"} taken over by a retry registering ${what}`, async () => {
      h = await harness();
      const patches = { grant: () => ({ granted: true }), other: () => ({ other: true }) };
      const { result, pendingBefore } = await retryAfterApproval(first, retry, { level: 1 }, { patches });
      expect(pendingBefore).toBe(0);
      if (counts) expect(result.ok && result.value.status).toBe("completed");
      else expect(waitEvents(result)).toEqual([retry.event]);
    });
  }

  for (const retrySame of [true, false]) {
    it(`in a concurrent stage are their step's own: a sibling's equal wait does not take one over (retry registers ${retrySame ? "the same wait" : "another"})`, async () => {
      h = await harness();
      const retrying = deferred();
      const approvalSent = deferred();
      const siblingRegistered = deferred();
      await h.runtime.register(
        workflow(
          [
            {
              id: "flaky",
              retry: { attempts: 2 },
              action: async (ctx) => {
                const pause = await pauseOf(ctx);
                if (ctx.attempt === 1) {
                  pause.register({ event: "approved" });
                  throw new Error("first try fails");
                }
                retrying.resolve();
                await siblingRegistered.promise;
                pause.register({ event: retrySame ? "approved" : "approved.again" });
              },
            },
            {
              id: "steady",
              action: async (ctx) => {
                const pause = await pauseOf(ctx);
                await approvalSent.promise;
                pause.register({ event: "approved" }); // equal to flaky's held wait, after the approval
                siblingRegistered.resolve();
              },
            },
          ],
          { concurrent: true },
        ),
      );
      const invoked = h.runtime.invoke("w", "go", {});
      await retrying.promise;
      h.bus.emit("approved", {});
      approvalSent.resolve();
      const result = await invoked;
      if (retrySame) expect(result.ok && result.value).toMatchObject({ status: "completed" });
      else expect(waitEvents(result)).toEqual(["approved", "approved.again"]);
    });
  }

  it("go on holding when a sibling cancels an equal wait of its own (they share its index entry)", async () => {
    h = await harness();
    const retrying = deferred();
    const siblingCancelled = deferred();
    const approvalSent = deferred();
    const wait: PauseRegistration = {
      event: "approved",
      conditions: [{ path: "orderId", op: "==", value: "o1" }],
    };
    await h.runtime.register(
      workflow(
        [
          {
            id: "flaky",
            retry: { attempts: 2 },
            action: async (ctx) => {
              const pause = await pauseOf(ctx);
              if (ctx.attempt === 1) {
                pause.register(wait);
                throw new Error("first try fails");
              }
              retrying.resolve();
              await approvalSent.promise;
              pause.register(wait);
            },
          },
          {
            id: "steady",
            action: async (ctx) => {
              const pause = await pauseOf(ctx);
              await retrying.promise;
              pause.register({ ...wait, id: "mine" });
              pause.cancel("mine");
              siblingCancelled.resolve();
            },
          },
        ],
        { concurrent: true },
      ),
    );
    const invoked = h.runtime.invoke("w", "go", {});
    await siblingCancelled.promise;
    h.bus.emit("approved", { orderId: "o1", by: "ann" });
    approvalSent.resolve();
    const result = await invoked;
    expect(result.ok && result.value).toMatchObject({ status: "completed", state: { by: "ann" } });
  });

  for (const ending of ["fails for good", "is aborted during the backoff"] as const) {
    it(`are let go when the step ${ending}`, async () => {
      h = await harness();
      let held: WeakRef<object> | undefined;
      const backingOff = deferred();
      await h.runtime.register(
        workflow([
          {
            id: "ask",
            retry: { attempts: 2, backoffMs: ending === "fails for good" ? 0 : 600_000 },
            action: async (ctx) => {
              const pause = await pauseOf(ctx);
              pause.register({ event: "approved", patch: () => ({}) });
              held = new WeakRef(pause.pending()[0]!); // the last attempt's: held when it fails
              if (ctx.attempt === 1) setTimeout(backingOff.resolve, 0);
              throw new Error(`attempt ${ctx.attempt} fails`);
            },
          },
        ]),
      );
      const invoked = h.runtime.invoke("w", "go", {});
      if (ending === "is aborted during the backoff") {
        await backingOff.promise;
        h.bus.emit("approved", {}); // held for the retry that never comes
        await h.runtime.abort(h.runtime.listAllRuns()[0]!.runId);
      }
      const result = await invoked;
      if (ending === "fails for good") expect(!result.ok && result.error.code).toBe("STEP_FAILED");
      else expect(result.ok && result.value.status).toBe("aborted");
      await settledHeap();
      expect(held!.deref()).toBeUndefined();
    });
  }

  for (const usesPause of [true, false]) {
    it(`go, with their events, once an attempt of their step returns without taking them over: later events are not kept (the retry ${usesPause ? "resolves the pause service" : "never calls ctx.use"})`, async () => {
      h = await harness({ maxBufferedEventsPerRun: 2 });
      const later = deferred();
      const go = deferred();
      await h.runtime.register(
        workflow([
          {
            id: "ask",
            retry: { attempts: 2 },
            action: async (ctx) => {
              if (ctx.attempt === 1) {
                (await pauseOf(ctx)).register({ event: "approved" });
                throw new Error("the mail server is down");
              }
              // returns without registering: the held wait is not wanted any more
              if (usesPause) await pauseOf(ctx);
            },
          },
          {
            id: "later",
            action: async () => {
              later.resolve();
              await go.promise;
            },
          },
        ]),
      );
      const invoked = h.runtime.invoke("w", "go", {});
      await later.promise;
      // more than the buffer holds: kept for a held wait, they would overflow it
      for (let i = 0; i < 3; i++) h.bus.emit("approved", { i });
      go.resolve();
      const result = await invoked;
      expect(result.ok && result.value).toMatchObject({ status: "completed", state: { after: true } });
      expect(h.errors.map((error) => error.code)).toEqual([]);
    });
  }

  it("go once the step's retry returns, also when an attempt between failed without taking them over", async () => {
    h = await harness({ maxBufferedEventsPerRun: 1 });
    const later = deferred();
    const go = deferred();
    await h.runtime.register(
      workflow([
        {
          id: "ask",
          retry: { attempts: 3 },
          timeoutMs: 60_000,
          action: async (ctx) => {
            if (ctx.attempt === 1) (await pauseOf(ctx)).register({ event: "approved" });
            if (ctx.attempt < 3) throw new Error(`attempt ${ctx.attempt} fails`);
          },
        },
        {
          id: "later",
          action: async () => {
            later.resolve();
            await go.promise;
          },
        },
      ]),
    );
    const invoked = h.runtime.invoke("w", "go", {});
    await later.promise;
    h.bus.emit("approved", {});
    h.bus.emit("approved", {});
    go.resolve();
    expect((await invoked).ok).toBe(true);
    expect(h.errors.map((error) => error.code)).toEqual([]);
  });

  for (const how of ["handle.cancel()", "pause.cancel(id)", "pause.cancel()"] as const) {
    it(`do not include a wait the attempt cancelled (${how}) before it failed: the events only it kept go`, async () => {
      h = await harness();
      await h.runtime.register(
        workflow([
          {
            id: "ask",
            retry: { attempts: 2 },
            action: async (ctx) => {
              const pause = await pauseOf(ctx);
              if (ctx.attempt === 1) {
                const handle = pause.register({ id: "approval", event: "approved" });
                // kept for that wait only
                h.bus.emit("approved", { by: "early" });
                if (how === "handle.cancel()") handle.cancel();
                else if (how === "pause.cancel(id)") pause.cancel("approval");
                else pause.cancel();
                throw new Error("the mail server is down");
              }
              pause.register({
                id: "approval",
                event: "approved",
                patch: (p: { by: string }) => ({ by: p.by }),
              });
            },
          },
        ]),
      );
      const result = await h.runtime.invoke("w", "go", {});
      // the early approval was for a wait the failed attempt withdrew itself: the retry's waits anew
      expect(waitEvents(result)).toEqual(["approved"]);
      const done = h.runtime.result(result.metadata.runId!);
      h.bus.emit("approved", { by: "ann" });
      expect(await done).toMatchObject({ ok: true, value: { status: "completed", state: { by: "ann" } } });
    });
  }

  it("never push an event a registered wait holds out of a full buffer, while the retry runs", async () => {
    h = await harness({ maxBufferedEventsPerRun: 2 });
    const retrying = deferred();
    const answered = deferred();
    await h.runtime.register(
      workflow([
        {
          id: "confirm",
          action: async (ctx) => {
            (await pauseOf(ctx)).register({ event: "confirmed", patch: () => ({ confirmed: true }) });
          },
        },
        {
          id: "ask",
          retry: { attempts: 2 },
          action: async (ctx) => {
            if (ctx.attempt === 1) {
              (await pauseOf(ctx)).register({ event: "approved" });
              throw new Error("the mail server is down");
            }
            // the held wait keeps its events until this attempt returns (without taking it over)
            retrying.resolve();
            await answered.promise;
          },
        },
      ]),
    );
    const invoked = h.runtime.invoke("w", "go", {});
    await retrying.promise;
    h.bus.emit("confirmed", {});
    // two events only the held wait keeps: with the buffer full, they go before the confirmation
    h.bus.emit("approved", {});
    h.bus.emit("approved", {});
    answered.resolve();
    const result = await invoked;
    expect(result.ok && result.value).toMatchObject({
      status: "completed",
      state: { confirmed: true, after: true },
    });
    expect(h.errors.map((error) => error.code)).toEqual(["CAPACITY_EXCEEDED"]);
  });
});
