import type { SystemError } from "@sluice/errors";
import { createEventBus, type EventBus } from "@sluice/events";
import { StoreRegistry } from "@sluice/store";
import { afterEach, describe, expect, it } from "vitest";
import {
  type PauseService,
  type RegisterOptions,
  type RunResult,
  type Workflow,
  WorkflowRuntime,
} from "../src/index.js";
import { tick } from "./helpers.js";

// Two workers handing parked runs over as JSON text: what arrives, what is rebuilt, what is refused.

type S = Record<string, any>;

interface Worker {
  runtime: WorkflowRuntime;
  bus: EventBus<any>;
  ended: RunResult<S>[];
  errors: SystemError[];
}

const workers: Worker[] = [];
afterEach(async () => {
  for (const w of workers.splice(0)) await w.runtime.stop();
});

const built: string[] = [];

/** `stages` in order; "wait" waits for `ok` with this run's key (mapper "approve"), the others mark the state. */
function orders(stages: string[] = ["wait", "ship"]): Workflow<S> {
  return {
    id: "orders",
    triggers: { placed: { event: "placed", pipeline: "p" } },
    patches: { approve: (payload: { by: string }) => ({ approvedBy: payload.by }) },
    // built on the run's first use of it, in whichever runtime the run is then
    services: [
      {
        id: "approver",
        scope: "run",
        factory: async (ctx) => {
          const by = await ctx.use((d) => d.select((s: S) => s.approvedBy as string | undefined));
          built.push(`approver ${by}`);
          return { by };
        },
      },
    ],
    pipelines: {
      p: {
        stages: stages.map((id) =>
          id === "wait"
            ? {
                id,
                steps: [
                  {
                    id: "ask",
                    action: async (ctx) => {
                      await ctx.use((d) => d.require("approver"));
                      const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                      pause.register({
                        event: "ok",
                        conditions: [{ path: "key", op: "==", value: ctx.state().key }],
                        patch: "approve",
                      });
                    },
                  },
                ],
              }
            : {
                id,
                steps: [
                  {
                    id,
                    action: async (ctx) => ({
                      [id]: (await ctx.use((d) => d.require<{ by?: string }>("approver"))).by ?? true,
                    }),
                  },
                ],
              },
        ),
      },
    },
  };
}

async function worker(definition = orders(), options: RegisterOptions<S> = {}): Promise<Worker> {
  const bus = createEventBus<any>();
  const errors: SystemError[] = [];
  const runtime = new WorkflowRuntime({
    bus,
    storeRegistry: new StoreRegistry(),
    onError: (e) => errors.push(e),
  });
  const w: Worker = { runtime, bus, ended: [], errors };
  await runtime.register(definition, { onComplete: (r) => void w.ended.push(r), ...options });
  workers.push(w);
  return w;
}

/** Parks a run on `from`, detaches it and hands it on as JSON text. */
async function handOver(from: Worker, state: S): Promise<string> {
  const result = await from.runtime.invoke("orders", "placed", state);
  expect(result.ok && result.value.status).toBe("paused");
  return JSON.stringify(await from.runtime.detach(result.metadata.runId!));
}

describe("handing parked runs from one worker to another as JSON", () => {
  it.each([Infinity, 0])(
    "state JSON changes (unicode, lone surrogates, -0, past 2^53, a Date, undefined, 200 levels) arrives as its JSON round trip (pauseWindowMs %s)",
    async (pauseWindowMs) => {
      const a = await worker(orders(), { pauseWindowMs });
      const b = await worker();
      let deep: S = { bottom: "🙂" };
      for (let i = 0; i < 200; i++) deep = { deep };
      const state = {
        key: "k1",
        text: '🙂 مرحبا \ud800 \u0000 \u2028 "quoted"',
        "🔑\udc00": 1,
        minusZero: -0,
        big: 2 ** 53 + 2,
        tiny: 5e-324,
        date: new Date(0),
        missing: undefined,
        list: [undefined, 1],
        deep,
      };
      const text = await handOver(a, state);
      await tick(5);
      b.runtime.adopt(JSON.parse(text));
      expect(JSON.stringify(b.runtime.checkpoint(JSON.parse(text).runId))).toBe(text);
      b.bus.emit("ok", { key: "k1", by: "ann" });
      await expect.poll(() => b.ended.length).toBe(1);
      const ended = b.ended[0]!;
      expect(ended.ok && ended.value.state).toEqual({
        ...JSON.parse(JSON.stringify(state)),
        approvedBy: "ann",
        ship: "ann",
      });
      expect([...a.errors, ...b.errors]).toEqual([]);
    },
  );

  it("a run-scoped service is built again where the run resumes, and its select() reads the resuming patch", async () => {
    built.length = 0;
    const a = await worker();
    const b = await worker();
    b.runtime.adopt(JSON.parse(await handOver(a, { key: "k1" })));
    expect(built).toEqual(["approver undefined"]);
    b.bus.emit("ok", { key: "k1", by: "ann" });
    await expect.poll(() => b.ended.length).toBe(1);
    expect(built).toEqual(["approver undefined", "approver ann"]);
    expect(b.ended[0]!.ok && b.ended[0]!.value.state.ship).toBe("ann");
  });

  it("checkpoint() is there in onPause only: undefined from onPrepare, onResume, onComplete and onCleanup", async () => {
    const seen: Record<string, unknown> = {};
    let runtime!: WorkflowRuntime;
    const a = await worker(orders(["first", "wait", "ship"]), {
      onPrepare: (ctx) => void (seen.prepare = runtime.checkpoint(ctx.runId)),
      onPause: (ctx) => void (seen.pause = runtime.checkpoint(ctx.runId)),
      onResume: (ctx) => void (seen.resume = runtime.checkpoint(ctx.runId)),
      onComplete: (r) => void (seen.complete = runtime.checkpoint(r.metadata.runId!)),
      onCleanup: (info) => void (seen.cleanup = runtime.checkpoint(info.runId)),
    });
    runtime = a.runtime;
    await a.runtime.invoke("orders", "placed", { key: "k1" });
    a.bus.emit("ok", { key: "k1", by: "ann" });
    await expect
      .poll(() => Object.keys(seen).sort())
      .toEqual(["cleanup", "complete", "pause", "prepare", "resume"]);
    expect(seen).toEqual({
      prepare: undefined,
      pause: expect.objectContaining({ nextStage: 2, nextStageId: "ship" }),
      resume: undefined,
      complete: undefined,
      cleanup: undefined,
    });
  });

  it("a definition with a stage appended takes the run, and so does one whose stages before the next changed: it goes on at its stage", async () => {
    const a = await worker(orders(["first", "wait", "ship"]));
    const text = await handOver(a, { key: "k1" });
    const appended = await worker(orders(["first", "wait", "ship", "invoice"]));
    appended.runtime.adopt(JSON.parse(text));
    appended.bus.emit("ok", { key: "k1", by: "ann" });
    await expect.poll(() => appended.ended.length).toBe(1);
    expect(appended.ended[0]!.ok && appended.ended[0]!.value.state).toMatchObject({
      ship: "ann",
      invoice: "ann",
    });
    const shorter = await worker(orders(["wait", "ship"]));
    shorter.runtime.adopt(JSON.parse(text));
    shorter.bus.emit("ok", { key: "k1", by: "bob" });
    await expect.poll(() => shorter.ended.length).toBe(1);
    const state = shorter.ended[0]!.ok && shorter.ended[0]!.value.state;
    expect(state).toMatchObject({ ship: "bob" });
    expect(state).not.toHaveProperty("invoice");
  });
});
