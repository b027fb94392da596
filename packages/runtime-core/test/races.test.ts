import { afterEach, describe, expect, it } from "vitest";
import type { PauseService, RunResult, ServiceDefinition, Workflow } from "../src/index.js";
import { type Harness, harness, tick } from "./helpers.js";
import { trackTimers } from "./reliability/support.js";

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

const pauseOf = (ctx: { use: (fn: (d: any) => any) => Promise<any> }) =>
  ctx.use((d) => d.require("__pause_service__")) as Promise<PauseService>;

/** A global service whose cleanup logs "global pool disposed" (when stop() disposes global services). */
function globalPool(log: string[]): ServiceDefinition {
  return {
    id: "pool",
    factory: (ctx) => {
      ctx.onCleanup(() => void log.push("global pool disposed"));
      return {};
    },
  };
}

describe("races between runs and the runtime's calls", () => {
  it("an event emitted synchronously by the queued run a pausing run's freed slot starts resumes the pausing run", async () => {
    h = await harness();
    const results: RunResult[] = [];
    // "asker" waits for "approve"; "approver", queued behind it (serialized), emits "approve" in
    // its first, synchronous step, which runs as the asker's pause frees the slot.
    const workflow: Workflow = {
      id: "approvals",
      triggers: { go: { event: "go", pipeline: "p" } },
      pipelines: {
        p: {
          stages: [
            {
              id: "ask",
              steps: [
                {
                  id: "ask",
                  action: (ctx) => {
                    if (ctx.state().role === "approver") {
                      h.bus.emit("approve", { by: "approver" });
                      return { emitted: true };
                    }
                    return pauseOf(ctx).then((pause) => void pause.register({ event: "approve" }));
                  },
                },
              ],
            },
            { id: "done", steps: [{ id: "done", action: () => ({ done: true }) }] },
          ],
        },
      },
    };
    await h.runtime.register(workflow, {
      mode: { type: "serialized" },
      onComplete: (result) => void results.push(result),
    });
    h.bus.emit("go", { role: "asker" });
    h.bus.emit("go", { role: "approver" });
    await tick(50);

    const asker = results.find((r) => r.ok && r.value.state.role === "asker");
    expect(asker?.ok && asker.value).toEqual({
      status: "completed",
      state: { role: "asker", by: "approver", done: true },
    });
    expect(results).toHaveLength(2);
    expect(h.runtime.listAllRuns().map((info) => info.status)).toEqual(["completed", "completed"]);
  });

  for (const end of ["stop", "deregister", "abort"] as const) {
    it(`${end}() resolves after the cleanups of run services a pause window released have finished`, async () => {
      h = await harness();
      const log: string[] = [];
      const workflow: Workflow = {
        id: "released",
        triggers: { go: { event: "go", pipeline: "p" } },
        services: [
          {
            id: "conn",
            scope: "run",
            factory: (ctx) => {
              ctx.onCleanup(async () => {
                log.push("cleanup started");
                await tick(30);
                log.push("cleanup finished");
              });
              return {};
            },
          },
        ],
        pipelines: {
          p: {
            stages: [
              {
                id: "wait",
                steps: [
                  {
                    id: "wait",
                    action: async (ctx) => {
                      await ctx.use((d) => d.require("conn"));
                      (await pauseOf(ctx)).register({ event: "never" });
                    },
                  },
                ],
              },
              { id: "done", steps: [{ id: "done", action: () => ({ done: true }) }] },
            ],
          },
        },
      };
      await h.runtime.register(workflow, { pauseWindowMs: 0 });
      const parked = await h.runtime.invoke("released", "go", {});
      expect(parked.ok && parked.value.status).toBe("paused");
      expect(log).toEqual(["cleanup started"]);

      if (end === "stop") await h.runtime.stop();
      else if (end === "deregister") expect(await h.runtime.deregister("released")).toBe(true);
      else await h.runtime.abort(parked.metadata.runId!);
      log.push(`${end} resolved`);
      await tick(50);
      expect(log).toEqual(["cleanup started", "cleanup finished", `${end} resolved`]);
    });
  }

  for (const hook of ["onPrepare", "onResume"] as const) {
    it(`an ${hook} an abort went on without, settling after stop(), leaves no timer behind`, async () => {
      const timers = trackTimers();
      try {
        h = await harness();
        const workflow: Workflow = {
          id: "hooked",
          triggers: { go: { event: "go", pipeline: "p" } },
          pipelines: {
            p: {
              stages: [
                {
                  id: "wait",
                  steps: [
                    {
                      id: "wait",
                      action: async (ctx) => void (await pauseOf(ctx)).register({ event: "never" }),
                    },
                  ],
                },
                { id: "done", steps: [{ id: "done", action: () => ({ done: true }) }] },
              ],
            },
          },
        };
        // the hook settles 40 ms after it is called: after the abort and stop() below
        await h.runtime.register(workflow, { [hook]: () => tick(40) });
        let runId: string;
        if (hook === "onResume") {
          runId = (await h.runtime.invoke("hooked", "go", {})).metadata.runId!;
          void h.runtime.resume(runId);
        } else {
          void h.runtime.invoke("hooked", "go", {});
          runId = h.runtime.listAllRuns()[0]!.runId;
        }
        await tick(5);
        await h.runtime.abort(runId);
        await h.runtime.stop();
        await tick(80);
        expect(timers.pending).toBe(0);
      } finally {
        timers.uninstall();
      }
    });
  }

  for (const again of [false, true]) {
    it(`stop() disposes global services after the runs of an earlier deregister() have finished${again ? ", also when the workflow was registered and deregistered again in the same tick" : ""}`, async () => {
      const log: string[] = [];
      h = await harness({
        services: [globalPool(log)],
      });
      const workflow: Workflow = {
        id: "again",
        triggers: { go: { event: "go", pipeline: "p" } },
        pipelines: {
          p: {
            stages: [
              {
                id: "s",
                steps: [
                  {
                    id: "s",
                    action: async (ctx) => {
                      await ctx.use((d) => d.require("pool"));
                      await tick(1_000);
                    },
                  },
                ],
              },
            ],
          },
        },
      };
      const options = {
        onComplete: async (result: RunResult) => {
          await tick(20);
          log.push(`onComplete ${result.ok && result.value.status}`);
        },
      };
      await h.runtime.register(workflow, options);
      const run = h.runtime.invoke("again", "go", {});
      await tick(5);
      void h.runtime.deregister("again");
      if (again) {
        void h.runtime.register(workflow, options);
        void h.runtime.deregister("again");
      }
      await h.runtime.stop();
      expect((await run).ok).toBe(true);
      await tick(50);
      expect(log).toEqual(["onComplete aborted", "global pool disposed"]);
    });
  }

  it("stop() while a run is in its onComplete disposes the workflow's services before the global ones, and leaves no timer behind", async () => {
    const timers = trackTimers();
    try {
      const log: string[] = [];
      h = await harness({
        services: [globalPool(log)],
      });
      const workflow: Workflow = {
        id: "closing",
        services: [
          {
            id: "repo",
            factory: (ctx) => {
              ctx.onCleanup(async () => {
                await tick(10);
                log.push("workflow repo disposed");
              });
              return {};
            },
          },
        ],
        triggers: { go: { event: "go", pipeline: "p" } },
        pipelines: {
          p: {
            stages: [
              {
                id: "s",
                steps: [
                  {
                    id: "s",
                    action: async (ctx) => {
                      await ctx.use((d) => d.require("pool"));
                      await ctx.use((d) => d.require("repo"));
                    },
                  },
                ],
              },
            ],
          },
        },
      };
      let inOnComplete!: () => void;
      const entered = new Promise<void>((resolve) => {
        inOnComplete = resolve;
      });
      await h.runtime.register(workflow, {
        onComplete: async () => {
          inOnComplete();
          await tick(20);
          log.push("onComplete done");
        },
      });
      const run = h.runtime.invoke("closing", "go", {});
      await entered;
      await h.runtime.stop();
      await run;
      await tick(50);
      expect(log).toEqual(["onComplete done", "workflow repo disposed", "global pool disposed"]);
      expect(timers.pending).toBe(0);
    } finally {
      timers.uninstall();
    }
  });

  for (const end of ["stop", "deregister"] as const) {
    for (const phase of ["run-service cleanups", "onCleanup"] as const) {
      it(`${end}() during a run's ${phase} disposes the workflow's and global services only after them`, async () => {
        const log: string[] = [];
        h = await harness({
          services: [globalPool(log)],
        });
        let entered!: () => void;
        const inPhase = new Promise<void>((resolve) => {
          entered = resolve;
        });
        const slowly = async (what: string) => {
          entered();
          await tick(20);
          log.push(what);
        };
        const workflow: Workflow = {
          id: "ending",
          services: [
            {
              id: "repo",
              factory: (ctx) => {
                ctx.onCleanup(() => void log.push("workflow repo disposed"));
                return {};
              },
            },
            {
              id: "conn",
              scope: "run",
              factory: (ctx) => {
                if (phase !== "onCleanup") ctx.onCleanup(() => slowly("run conn disposed"));
                return {};
              },
            },
          ],
          triggers: { go: { event: "go", pipeline: "p" } },
          pipelines: {
            p: {
              stages: [
                {
                  id: "s",
                  steps: [
                    {
                      id: "s",
                      action: async (ctx) => {
                        await ctx.use((d) => d.require("pool"));
                        await ctx.use((d) => d.require("repo"));
                        await ctx.use((d) => d.require("conn"));
                      },
                    },
                  ],
                },
              ],
            },
          },
        };
        await h.runtime.register(
          workflow,
          phase === "onCleanup" ? { onCleanup: () => slowly("onCleanup done") } : {},
        );
        const run = h.runtime.invoke("ending", "go", {});
        await inPhase;
        if (end === "stop") await h.runtime.stop();
        else expect(await h.runtime.deregister("ending")).toBe(true);
        expect((await run).ok).toBe(true);
        await tick(40);
        const last = phase === "onCleanup" ? "onCleanup done" : "run conn disposed";
        expect(log).toEqual(
          end === "stop"
            ? [last, "workflow repo disposed", "global pool disposed"]
            : [last, "workflow repo disposed"],
        );
      });
    }
  }

  for (const call of ["stop", "deregister"] as const) {
    it(`invoke() whose trigger map calls ${call}() resolves refused instead of running after ${call}() resolved`, async () => {
      h = await harness();
      const log: string[] = [];
      let ended: Promise<unknown> | undefined;
      const workflow: Workflow = {
        id: "mapped",
        triggers: {
          go: {
            event: "go",
            pipeline: "p",
            map: (payload: object) => {
              ended ??= call === "stop" ? h.runtime.stop() : h.runtime.deregister("mapped");
              return { ...payload };
            },
          },
        },
        pipelines: {
          p: {
            stages: [
              {
                id: "s",
                steps: [
                  {
                    id: "s",
                    action: async () => {
                      await tick(10);
                      log.push("step ran");
                    },
                  },
                ],
              },
            ],
          },
        },
      };
      await h.runtime.register(workflow, { onComplete: () => void log.push("onComplete") });
      const result = await h.runtime.invoke("mapped", "go", {});
      await ended;
      await tick(20);
      expect(result.ok).toBe(false);
      expect(!result.ok && result.error.code).toBe(call === "stop" ? "INVALID_STATE" : "NOT_FOUND");
      expect(log).toEqual([]);
      expect(h.storeRegistry.size).toBe(0);
    });
  }

  it("stop() called from an onComplete that deregister() runs at once waits for that deregistration's other runs", async () => {
    const log: string[] = [];
    h = await harness({
      services: [globalPool(log)],
    });
    const workflow: Workflow = {
      id: "closing",
      triggers: { go: { event: "go", pipeline: "p" } },
      pipelines: {
        p: {
          stages: [
            {
              id: "work",
              steps: [
                {
                  id: "work",
                  action: async (ctx) => {
                    await ctx.use((d) => d.require("pool"));
                    if (ctx.state().park) (await pauseOf(ctx)).register({ event: "never" });
                    else await tick(1_000);
                  },
                },
              ],
            },
            { id: "done", steps: [{ id: "done", action: () => ({ done: true }) }] },
          ],
        },
      },
    };
    let stopped: Promise<void> | undefined;
    await h.runtime.register(workflow, {
      // the parked run's onComplete runs inside deregister(), before it aborts the running run
      onComplete: async (result) => {
        stopped ??= h.runtime.stop();
        const which = result.ok && result.value.state.park ? "parked" : "running";
        await tick(10);
        log.push(`${which} run's onComplete done`);
      },
    });
    await h.runtime.invoke("closing", "go", { park: true });
    const running = h.runtime.invoke("closing", "go", {});
    await tick(5);
    await h.runtime.deregister("closing");
    await stopped;
    await running;
    await tick(30);
    expect(log).toEqual([
      "parked run's onComplete done",
      "running run's onComplete done",
      "global pool disposed",
    ]);
  });
});
