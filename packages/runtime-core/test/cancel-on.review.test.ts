import { afterEach, describe, expect, it } from "vitest";
import {
  type CancelOn,
  type DispatchResult,
  defineWorkflow,
  type ExecutionMode,
  type PauseService,
  type RegisterOptions,
  type RunResult,
} from "../src/index.js";
import { deferred, type Harness, harness, tick } from "./helpers.js";

type Order = { orderId: string; hold?: boolean; pause?: boolean; shipped?: boolean };

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

/**
 * "orders" on `order.placed` (with `cancelOn`): a run whose state says `hold` waits in its step
 * until the test opens its gate; one that says `pause` parks for `order.approved` of its order.
 */
async function setup(cancelOn: CancelOn[], mode?: ExecutionMode, options: RegisterOptions<Order> = {}) {
  h = await harness();
  const gates = new Map<string, ReturnType<typeof deferred<void>>>();
  const gate = (id: string) => {
    let d = gates.get(id);
    if (d === undefined) gates.set(id, (d = deferred<void>()));
    return d;
  };
  const dispatched: DispatchResult[] = [];
  const results = new Map<string, Promise<RunResult>>();
  await h.runtime.register(
    defineWorkflow<Order>({
      id: "orders",
      triggers: { placed: { event: "order.placed", pipeline: "fulfil", cancelOn } },
      pipelines: {
        fulfil: {
          stages: [
            {
              id: "work",
              steps: [
                {
                  id: "hold",
                  when: (ctx) => ctx.state().hold === true,
                  action: (ctx) => gate(ctx.state().orderId).promise,
                },
                {
                  id: "ask",
                  when: (ctx) => ctx.state().pause === true,
                  action: async (ctx) => {
                    const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                    pause.register({
                      event: "order.approved",
                      conditions: [{ path: "orderId", op: "==", value: ctx.state().orderId }],
                    });
                  },
                },
              ],
            },
            { id: "ship", steps: [{ id: "ship", action: () => ({ shipped: true }) }] },
          ],
        },
      },
    }),
    {
      mode,
      onDispatch: (d) => {
        dispatched.push(d);
        if (d.runId !== undefined && !results.has(d.runId)) results.set(d.runId, h.runtime.result(d.runId));
      },
      ...options,
    },
  );
  const place = (order: Order) => {
    h.bus.emit("order.placed", order);
    return dispatched.at(-1)!.runId!;
  };
  return { dispatched, results, place, open: (id: string) => gate(id).resolve() };
}

const CANCELLED = 'cancelled by event "order.cancelled"';

describe("cancelOn (review)", () => {
  it("a queued run it cancels says why in metadata.abortReason, as the README promises", async () => {
    const t = await setup([{ event: "order.cancelled", match: "orderId" }], { type: "serialized" });
    t.place({ orderId: "o1", hold: true });
    const queued = t.place({ orderId: "o1" });
    h.bus.emit("order.cancelled", { orderId: "o1" });
    const never = await t.results.get(queued)!;
    expect(!never.ok && never.error.code).toBe("ABORTED");
    expect(never.metadata.abortReason).toBe(CANCELLED);
  });

  it("never starts a queued run it cancels, though cancelling a paused run before it frees the slot it waits for", async () => {
    const steps: string[] = [];
    // exclusive: the paused run holds the one slot
    const t = await setup(
      [{ event: "orders.halt" }],
      { type: "exclusive", onBusy: "queue_single" },
      {
        onPrepare: (ctx) => {
          steps.push(ctx.runId);
        },
      },
    );
    const paused = t.place({ orderId: "o1", pause: true });
    await tick();
    expect(h.runtime.findRun(paused)?.status).toBe("paused");
    const queued = t.place({ orderId: "o2" });
    expect(t.dispatched.at(-1)!.outcome).toBe("queued");

    h.bus.emit("orders.halt", undefined);
    expect((await t.results.get(paused)!).metadata.abortReason).toBe('cancelled by event "orders.halt"');
    const never = await t.results.get(queued)!;
    // cancelled as queued: it never started, so its onPrepare and steps never ran
    expect(!never.ok && never.error.message).toBe(
      `run ${queued} never started: cancelled by event "orders.halt"`,
    );
    expect(steps).toEqual([paused]);
  });
});
