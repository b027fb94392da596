import type { PauseService } from "@sluice/pause";
import { afterEach, describe, expect, it } from "vitest";
import type { RunResult, StepDefinition, Workflow } from "../src/index.js";
import { deferred, type Harness, harness, tick } from "./helpers.js";

// Trial by outside eyes of step attempts and the pause service acting for them: what attempt-waits
// tests leave out (a buffered event kept for the retry, a refused patch, a throwing guard, abort
// and stop mid-attempt, moving the run, stale handles, run services, deadlines of failed attempts).

const pauseOf = (ctx: { use: (fn: (d: any) => any) => Promise<any> }) =>
  ctx.use((d) => d.require("__pause_service__")) as Promise<PauseService>;

/** A workflow whose stage "work" has `steps` (concurrently with `concurrent`), then a stage "after". */
function workflow(
  steps: StepDefinition<any>[],
  extra: Partial<Workflow> & { concurrent?: boolean } = {},
): Workflow {
  const { concurrent, ...rest } = extra;
  return {
    id: "w",
    triggers: { go: { event: "w.go", pipeline: "p" } },
    pipelines: {
      p: {
        stages: [
          { id: "work", ...(concurrent === true && { concurrent: true }), steps },
          { id: "after", steps: [{ id: "after", action: () => ({ after: true }) }] },
        ],
      },
    },
    ...rest,
  };
}

/** The ids of the waits of the paused run `result`, from its checkpoint. */
function waitIds(result: RunResult): string[] {
  expect(result.ok && result.value.status).toBe("paused");
  return (h.runtime.checkpoint(result.metadata.runId!)?.pause ?? []).map((wait) => String(wait.id));
}

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

describe("trial: a step attempt's waits", () => {
  it("an event held for a failed attempt's wait resumes the retry's wait as the run pauses", async () => {
    h = await harness();
    await h.runtime.register(
      workflow([
        {
          id: "ask",
          retry: { attempts: 2 },
          action: async (ctx) => {
            const pause = await pauseOf(ctx);
            pause.register({
              id: "approval",
              event: "approved",
              patch: (p: { by: string }) => ({ by: p.by }),
            });
            if (ctx.attempt === 1) {
              h.bus.emit("approved", { by: "ann" }); // held by the wait, which the failure holds for the retry
              throw new Error("the mail server is down");
            }
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

  it.each([
    [
      "a refused patch",
      { retry: { attempts: 2 } },
      (attempt: number) => (attempt === 1 ? "not a patch" : {}),
    ],
    [
      "a timed-out attempt",
      { retry: { attempts: 2 }, timeoutMs: 20 },
      (attempt: number) => (attempt === 1 ? new Promise(() => {}) : {}),
    ],
  ])(
    "ids generated for each attempt: %s leaves only the retry's wait, with its deadline only",
    async (_, options, outcome) => {
      h = await harness();
      await h.runtime.register(
        workflow([
          {
            id: "ask",
            ...options,
            action: async (ctx) => {
              const pause = await pauseOf(ctx);
              if (ctx.attempt === 1)
                pause.register({ event: "first", timeoutMs: 5, timeoutPatch: { late: true } });
              else pause.register({ event: "second" });
              return outcome(ctx.attempt) as never;
            },
          },
        ]),
      );
      const paused = await h.runtime.invoke("w", "go", {});
      expect(h.runtime.checkpoint(paused.metadata.runId!)?.pause.map((wait) => wait.event)).toEqual([
        "second",
      ]);
      await tick(30); // past the failed attempt's deadline: it does not resume the run
      expect(h.runtime.watch("w", paused.metadata.runId!)).toMatchObject({
        status: "paused",
        stage: "after",
      });
      await h.runtime.flushTimeline();
      const { events } = await h.timeline.query({ runId: paused.metadata.runId!, limit: 100 });
      const pausedEvent = events.find((e) => e.type === "run.paused")!.data as { pause: { event: string }[] };
      expect(pausedEvent.pause.map((wait) => wait.event)).toEqual(["second"]);
    },
  );

  it("a when guard that registers and throws leaves no wait: the run fails, nothing paused", async () => {
    h = await harness();
    await h.runtime.register(
      workflow([
        {
          id: "ask",
          when: async (ctx) => {
            (await pauseOf(ctx)).register({ id: "approval", event: "approved" });
            throw new Error("guard broke");
          },
          action: () => ({}),
        },
      ]),
    );
    const result = await h.runtime.invoke("w", "go", {});
    expect(!result.ok && result.error.code).toBe("STEP_FAILED");
    expect(h.runtime.checkpoint(result.metadata.runId!)).toBeUndefined();
  });

  it.each(["abort", "stop"] as const)(
    "%s() while an attempt with a wait runs: its later register is refused",
    async (how) => {
      h = await harness();
      const registered = deferred();
      const gate = deferred();
      let refusal: { code?: string } | undefined;
      await h.runtime.register(
        workflow([
          {
            id: "ask",
            timeoutMs: 60_000,
            action: async (ctx) => {
              const pause = await pauseOf(ctx);
              pause.register({ id: "a", event: "approved" });
              registered.resolve();
              await gate.promise;
              try {
                pause.register({ id: "b", event: "approved" });
              } catch (error) {
                refusal = error as { code?: string };
              }
            },
          },
        ]),
      );
      const invoked = h.runtime.invoke("w", "go", {});
      await registered.promise;
      const runId = h.runtime.listAllRuns()[0]!.runId;
      await (how === "abort" ? h.runtime.abort(runId) : h.runtime.stop());
      const result = await invoked;
      gate.resolve();
      await tick();
      expect(result.ok && result.value.status).toBe("aborted");
      expect(refusal?.code).toBe("INVALID_STATE");
    },
  );

  it("a run whose wait came from a retry moves by detach/adopt with that wait only", async () => {
    h = await harness();
    const definition = workflow(
      [
        {
          id: "ask",
          retry: { attempts: 2 },
          action: async (ctx) => {
            (await pauseOf(ctx)).register({ id: `ask-${ctx.attempt}`, event: "approved", patch: "approval" });
            if (ctx.attempt === 1) throw new Error("the mail server is down");
          },
        },
      ],
      { patches: { approval: (p: { by: string }) => ({ by: p.by }) } },
    );
    await h.runtime.register(definition);
    const paused = await h.runtime.invoke("w", "go", {});
    const checkpoint = JSON.parse(JSON.stringify(await h.runtime.detach(paused.metadata.runId!)));
    expect(checkpoint.pause.map((wait: { id: string }) => wait.id)).toEqual(["ask-2"]);
    const other = await harness();
    await other.runtime.register(definition);
    other.runtime.adopt(checkpoint);
    const done = other.runtime.result(checkpoint.runId);
    other.bus.emit("approved", { by: "bob" });
    const result = await done;
    expect(result.ok && result.value.state).toEqual({ by: "bob", after: true });
    await other.runtime.stop();
  });

  it("a timed-out attempt's handle, cancelled late, leaves the retry's wait of the same id", async () => {
    h = await harness();
    const retried = deferred();
    await h.runtime.register(
      workflow([
        {
          id: "ask",
          retry: { attempts: 2 },
          timeoutMs: 20,
          action: async (ctx) => {
            const pause = await pauseOf(ctx);
            const handle = pause.register({ id: "approval", event: "approved" });
            if (ctx.attempt === 2) {
              retried.resolve();
              return;
            }
            await retried.promise; // timed out meanwhile, and retried
            handle.cancel();
          },
        },
      ]),
    );
    const paused = await h.runtime.invoke("w", "go", {});
    await tick();
    expect(waitIds(paused)).toEqual(["approval"]);
  });

  it("a handle cancelled after its run parked neither withdraws the wait nor its mapper", async () => {
    h = await harness();
    let handle: { cancel(): void } | undefined;
    await h.runtime.register(
      workflow([
        {
          id: "ask",
          action: async (ctx) => {
            handle = (await pauseOf(ctx)).register({
              id: "a",
              event: "approved",
              patch: () => ({ mapped: true }),
            });
          },
        },
      ]),
    );
    const paused = await h.runtime.invoke("w", "go", {});
    handle!.cancel();
    expect(waitIds(paused)).toEqual(["a"]);
    const done = h.runtime.result(paused.metadata.runId!);
    h.bus.emit("approved", {});
    const result = await done;
    expect(result.ok && result.value.state).toEqual({ mapped: true, after: true });
  });

  it("a run service's wait, made by an attempt that then failed, stays: the run's own", async () => {
    h = await harness();
    await h.runtime.register(
      workflow(
        [
          {
            id: "ask",
            retry: { attempts: 2 },
            action: async (ctx) => {
              const asker = await ctx.use((d) => d.require<{ ask(): void }>("asker"));
              if (ctx.attempt === 1) {
                asker.ask();
                throw new Error("the mail server is down");
              }
            },
          },
        ],
        {
          services: [
            {
              id: "asker",
              scope: "run",
              factory: async (d) => {
                const pause = await d.require<PauseService>("__pause_service__");
                return { ask: () => void pause.register({ id: "service", event: "approved" }) };
              },
            },
          ],
        },
      ),
    );
    expect(waitIds(await h.runtime.invoke("w", "go", {}))).toEqual(["service"]);
  });
});

describe("trial: a failed run's state", () => {
  it("retries exhausted by a timeout in a concurrent stage: the sibling's patch is in it", async () => {
    h = await harness();
    await h.runtime.register(
      workflow(
        [
          { id: "reserve", action: () => ({ reserved: true }) },
          {
            id: "charge",
            retry: { attempts: 2 },
            timeoutMs: 20,
            action: async (ctx) => {
              if (ctx.attempt === 1) throw new Error("card declined");
              await new Promise(() => {});
            },
          },
        ],
        { concurrent: true },
      ),
    );
    const result = await h.runtime.invoke("w", "go", { orderId: "o1" });
    expect(!result.ok && result.error.code).toBe("TIMEOUT");
    expect(!result.ok && result.metadata.state).toEqual({ orderId: "o1", reserved: true });
  });
});
