import type { SystemError } from "@sluice/errors";
import type { PauseService } from "@sluice/pause";
import { afterEach, describe, expect, it } from "vitest";
import type { RunResult, StepDefinition, Workflow } from "../src/index.js";
import { deferred, type Harness, harness } from "./helpers.js";

const pauseOf = (ctx: { use: (fn: (d: any) => any) => Promise<any> }) =>
  ctx.use((d) => d.require("__pause_service__")) as Promise<PauseService>;

/** A workflow whose first stage has `steps` (concurrently with `concurrent`), then a stage "after". */
function workflow(
  steps: StepDefinition<any>[],
  options: { concurrent?: boolean; runServices?: boolean } = {},
): Workflow {
  return {
    id: "w",
    triggers: { go: { event: "w.go", pipeline: "p" } },
    // a run-scoped service gives each run a container of its own: the other way to its services
    ...(options.runServices === true && {
      services: [{ id: "perRun", scope: "run" as const, factory: () => ({}) }],
    }),
    pipelines: {
      p: {
        stages: [
          { id: "work", ...(options.concurrent === true && { concurrent: true }), steps },
          { id: "after", steps: [{ id: "after", action: () => ({ after: true }) }] },
        ],
      },
    },
  };
}

/** The ids of the waits the paused run `result` checkpointed (its `pause` list, in order). */
function waitIds(h: Harness, result: RunResult): string[] {
  expect(result.ok && result.value.status).toBe("paused");
  return (h.runtime.checkpoint(result.metadata.runId!)?.pause ?? []).map((wait) => String(wait.id));
}

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

describe("waits registered by a step attempt that fails or is abandoned", () => {
  for (const runServices of [false, true]) {
    it(`are withdrawn for the retry, which registers the same id: the run pauses once on it${runServices ? " (run services)" : ""}`, async () => {
      h = await harness();
      await h.runtime.register(
        workflow(
          [
            {
              id: "ask",
              retry: { attempts: 2 },
              action: async (ctx) => {
                const pause = await pauseOf(ctx);
                pause.register({ id: "approval", event: `approved.${ctx.attempt}` });
                if (ctx.attempt === 1) throw new Error("the mail server is down");
                return { asked: pause.pending().map((wait) => wait.event) };
              },
            },
          ],
          { runServices },
        ),
      );
      const paused = await h.runtime.invoke("w", "go", {});
      expect(paused.ok && paused.value.state).toMatchObject({ asked: ["approved.2"] });
      expect(waitIds(h, paused)).toEqual(["approval"]);
      expect(h.runtime.checkpoint(paused.metadata.runId!)?.pause[0]?.event).toBe("approved.2");

      const done = h.runtime.result(paused.metadata.runId!);
      // the failed attempt's wait is gone: its event neither resumes the run nor was held for it
      h.bus.emit("approved.1", {});
      h.bus.emit("approved.2", { approvedBy: "ann" });
      const result = await done;
      expect(result.ok && result.value).toMatchObject({
        status: "completed",
        state: { approvedBy: "ann", after: true },
      });
    });
  }

  it("do not pause the run when a later attempt succeeds without registering", async () => {
    h = await harness();
    await h.runtime.register(
      workflow([
        {
          id: "ask",
          retry: { attempts: 3 },
          action: async (ctx) => {
            if (ctx.attempt === 3) return { attempts: 3 };
            (await pauseOf(ctx)).register({ event: `approved.${ctx.attempt}` });
            throw new Error(`attempt ${ctx.attempt} fails after registering`);
          },
        },
      ]),
    );
    const result = await h.runtime.invoke("w", "go", {});
    expect(result.ok && result.value).toMatchObject({
      status: "completed",
      state: { attempts: 3, after: true },
    });
  });

  it("are gone when the step fails for good: the run's pause service holds none", async () => {
    h = await harness();
    let pause: PauseService | undefined;
    await h.runtime.register(
      workflow([
        {
          id: "ask",
          retry: { attempts: 2 },
          action: async (ctx) => {
            pause = await pauseOf(ctx);
            pause.register({ id: "approval", event: "approved" });
            throw new Error(`attempt ${ctx.attempt} fails`);
          },
        },
      ]),
    );
    const result = await h.runtime.invoke("w", "go", {});
    expect(!result.ok && result.error.code).toBe("STEP_FAILED");
    expect(!result.ok && result.error.message).toContain("attempt 2 of 2");
    expect(pause!.pending()).toEqual([]);
  });

  it("from a timed-out attempt, later, are refused (INVALID_STATE), and the ones it made in time withdrawn", async () => {
    h = await harness();
    const resumeFirst = deferred();
    const firstTried = deferred<SystemError>();
    await h.runtime.register(
      workflow([
        {
          id: "ask",
          timeoutMs: 20,
          retry: { attempts: 2 },
          action: async (ctx) => {
            const pause = await pauseOf(ctx);
            if (ctx.attempt === 2) {
              // the first attempt goes on in the background while this one runs
              resumeFirst.resolve();
              const refusal = await firstTried.promise;
              return { refused: refusal.code, message: refusal.message, pending: pause.pending().length };
            }
            pause.register({ id: "early", event: "early" });
            await resumeFirst.promise; // past its timeoutMs: attempt 2 has started
            try {
              pause.register({ id: "late", event: "late" });
            } catch (error) {
              firstTried.resolve(error as SystemError);
            }
            return { fromFirst: true };
          },
        },
      ]),
    );
    const result = await h.runtime.invoke("w", "go", {});
    expect(result.ok && result.value.status).toBe("completed");
    const state = result.ok ? result.value.state : {};
    expect(state).toMatchObject({ refused: "INVALID_STATE", pending: 0, after: true });
    expect(state.fromFirst).toBeUndefined();
    expect(state.message).toMatch(/attempt 1 of step "ask" \(stage "work", run .+\) timed out/);
    expect(state.message).toContain("nothing was registered");
  });

  it("cannot be cancelled by a timed-out attempt: its cancel() changes nothing of the run's waits", async () => {
    h = await harness();
    const resumeFirst = deferred();
    const firstCancelled = deferred();
    await h.runtime.register(
      workflow([
        {
          id: "ask",
          timeoutMs: 20,
          retry: { attempts: 2 },
          action: async (ctx) => {
            const pause = await pauseOf(ctx);
            if (ctx.attempt === 2) {
              pause.register({ id: "second", event: "second" });
              resumeFirst.resolve();
              await firstCancelled.promise;
              return;
            }
            await resumeFirst.promise; // timed out: attempt 2 runs
            pause.cancel("second");
            pause.cancel();
            firstCancelled.resolve();
          },
        },
      ]),
    );
    const paused = await h.runtime.invoke("w", "go", {});
    expect(waitIds(h, paused)).toEqual(["second"]);
  });

  it("from a completed attempt, once the run has moved on, are refused: they would land in another stage", async () => {
    h = await harness();
    let kept: PauseService | undefined;
    let refusal: SystemError | undefined;
    const wf = workflow([
      {
        id: "ask",
        action: async (ctx) => {
          kept = await pauseOf(ctx);
        },
      },
    ]);
    wf.pipelines.p!.stages[1] = {
      id: "after",
      steps: [
        {
          id: "after",
          action: () => {
            try {
              kept!.register({ event: "late" });
            } catch (error) {
              refusal = error as SystemError;
            }
            return { after: true };
          },
        },
      ],
    };
    await h.runtime.register(wf);
    const result = await h.runtime.invoke("w", "go", {});
    expect(result.ok && result.value.status).toBe("completed");
    expect(refusal?.code).toBe("INVALID_STATE");
    expect(refusal?.message).toContain('attempt 1 of step "ask"');
    expect(refusal?.message).toContain("has ended");
  });

  it("in a concurrent stage, are withdrawn for the failed attempt of one step while a sibling's stay", async () => {
    h = await harness();
    const siblingRegistered = deferred();
    await h.runtime.register(
      workflow(
        [
          {
            id: "flaky",
            retry: { attempts: 2 },
            action: async (ctx) => {
              const pause = await pauseOf(ctx);
              pause.register({ id: "flaky", event: `flaky.${ctx.attempt}` });
              if (ctx.attempt === 2) return;
              pause.register({ id: "extra", event: "extra" });
              await siblingRegistered.promise;
              throw new Error("first try fails");
            },
          },
          {
            id: "steady",
            action: async (ctx) => {
              (await pauseOf(ctx)).register({ id: "steady", event: "steady" });
              siblingRegistered.resolve();
            },
          },
        ],
        { concurrent: true },
      ),
    );
    const paused = await h.runtime.invoke("w", "go", {});
    expect(waitIds(h, paused)).toEqual(["steady", "flaky"]);
    expect(h.runtime.checkpoint(paused.metadata.runId!)?.pause.map((wait) => wait.event)).toEqual([
      "steady",
      "flaky.2",
    ]);
  });

  it("hold an event that comes during the retry's backoff for the retry, as a wait a step of its own registered before does", async () => {
    for (const askFirst of [false, true]) {
      h = await harness();
      const firstFailed = deferred();
      const notify: StepDefinition<any> = {
        id: "notify",
        retry: { attempts: 2, backoffMs: 20 },
        action: async (ctx) => {
          if (!askFirst) {
            (await pauseOf(ctx)).register({
              id: "approval",
              event: "approved",
              patch: () => ({ approved: true }),
            });
          }
          if (ctx.attempt === 2) return;
          // the approval comes once the attempt has failed, before the retry registers again
          setTimeout(firstFailed.resolve, 0);
          throw new Error("the mail server is down");
        },
      };
      const ask: StepDefinition<any> = {
        id: "ask",
        action: async (ctx) => {
          (await pauseOf(ctx)).register({
            id: "approval",
            event: "approved",
            patch: () => ({ approved: true }),
          });
        },
      };
      await h.runtime.register(workflow(askFirst ? [ask, notify] : [notify]));
      const invoked = h.runtime.invoke("w", "go", {});
      await firstFailed.promise;
      h.bus.emit("approved", {});
      const result = await invoked;
      // "ask"'s wait is the run's; the failed attempt's was held for the retry, whose wait of the
      // same id took it over: either way it held the approval, which resumed the run as it paused
      expect(result.ok && result.value).toMatchObject({ status: "completed", state: { approved: true } });
      await h.runtime.stop();
    }
  });

  it("through a transient service are the run's, unless the step hands the service its own pause service", async () => {
    for (const handedOver of [false, true]) {
      h = await harness();
      type Approvals = { ask(pause?: PauseService): void };
      await h.runtime.register({
        ...workflow([
          {
            id: "ask",
            retry: { attempts: 2 },
            action: async (ctx) => {
              const approvals = await ctx.use((d) => d.require<Approvals>("approvals"));
              approvals.ask(handedOver ? await pauseOf(ctx) : undefined);
              if (ctx.attempt === 1) throw new Error("the mail server is down");
            },
          },
        ]),
        services: [
          {
            id: "approvals",
            scope: "transient",
            factory: async (d) => {
              const own = await d.require<PauseService>("__pause_service__");
              return { ask: (pause = own) => pause.register({ id: "approval", event: "approved" }) };
            },
          },
        ],
      });
      const result = await h.runtime.invoke("w", "go", {});
      if (handedOver) expect(waitIds(h, result)).toEqual(["approval"]);
      else
        expect(!result.ok && result.error.message).toContain(
          'registration with id "approval" is already pending',
        );
      await h.runtime.stop();
    }
  });
});
