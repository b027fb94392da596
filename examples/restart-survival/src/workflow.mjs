// The workflow both processes register: the second can only adopt a run whose pipeline and stages
// are where the first left them, so the definition lives in one module.
import { defineWorkflow } from "@sluice/runtime-core";

/** How long an order waits for its approval unless it was placed with its own window. */
export const DEFAULT_APPROVAL_WINDOW_MS = 24 * 3600_000;

/**
 * placed → approval (waits for `order.approved` or `order.rejected` naming this order, or its
 * deadline) → ship: shipped, rejected or cancelled.
 *
 * The waits have no `patch` mapper: in the process that adopts the run the resuming payload itself
 * is merged into the state, and the ship stage reads the payload's own fields (`approvedBy`,
 * `rejectedBy`). A mapper would travel only by name (one of the workflow's `patches`).
 */
export const ordersWorkflow = defineWorkflow({
  id: "orders",
  label: "Order approval",
  triggers: { placed: { event: "order.placed", pipeline: "fulfil" } },
  pipelines: {
    fulfil: {
      stages: [
        {
          id: "placed",
          steps: [
            {
              id: "record",
              action: (ctx) => {
                ctx.logger.info("placed", { orderId: ctx.state().orderId, pid: process.pid });
              },
            },
          ],
        },
        {
          id: "approval",
          steps: [
            {
              id: "ask",
              action: async (ctx) => {
                const { orderId, approvalWindowMs = DEFAULT_APPROVAL_WINDOW_MS } = ctx.state();
                const pause = await ctx.use((d) => d.require("__pause_service__"));
                const thisOrder = [{ path: "orderId", op: "==", value: orderId }];
                pause.register({
                  event: "order.approved",
                  conditions: thisOrder,
                  timeoutMs: approvalWindowMs,
                  timeoutPatch: { timedOut: true },
                });
                pause.register({ event: "order.rejected", conditions: thisOrder });
                ctx.logger.debug("waiting for approval", { orderId, pid: process.pid });
              },
            },
          ],
        },
        {
          id: "ship",
          steps: [
            {
              id: "decide",
              action: (ctx) => {
                const { orderId, approvedBy, rejectedBy, timedOut } = ctx.state();
                if (!timedOut && !approvedBy && !rejectedBy) throw new Error(`order ${orderId}: no decision`);
                const outcome = timedOut ? "cancelled" : approvedBy ? "shipped" : "rejected";
                ctx.logger.info(outcome, { orderId, pid: process.pid });
                return { outcome };
              },
            },
          ],
        },
      ],
    },
  },
});
