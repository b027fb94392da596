import { defineWorkflow, type PauseService } from "../src/index.js";

/** The state of {@link timedApprovals}' runs. */
export type TimedOrder = { orderId: string; waitMs: number; pauseTimedOut?: boolean; approved?: boolean };

/**
 * "orders": each run waits for `order.approved` of its order (through the named patch `approve`)
 * for its own `waitMs`, then ends.
 */
export const timedApprovals = defineWorkflow<TimedOrder>({
  id: "orders",
  triggers: { placed: { event: "order.placed", pipeline: "fulfil" } },
  patches: { approve: () => ({ approved: true }) },
  pipelines: {
    fulfil: {
      stages: [
        {
          id: "approval",
          steps: [
            {
              id: "ask",
              action: async (ctx) => {
                const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                pause.register({
                  event: "order.approved",
                  conditions: [{ path: "orderId", op: "==", value: ctx.state().orderId }],
                  patch: "approve",
                  timeoutMs: ctx.state().waitMs,
                });
              },
            },
          ],
        },
        { id: "done", steps: [{ id: "done", action: () => undefined }] },
      ],
    },
  },
});
