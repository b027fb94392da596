import { defineWorkflow } from "@sluice/runtime-core";

/**
 * placed → validated → waits for an approval of this order (or times out) → shipped or cancelled.
 * @param {{ approvalTimeoutMs: number }} options
 */
export function ordersWorkflow({ approvalTimeoutMs }) {
  return defineWorkflow({
    id: "orders",
    label: "Order approval",
    env: { WAREHOUSE: "eu-west" },
    services: [{ id: "pricing", scope: "workflow", factory: () => ({ taxRate: 0.2 }) }],
    triggers: { placed: { event: "order.placed", pipeline: "fulfil" } },
    // by name, so a parked run's checkpoint can refer to it (a run moved to another process resumes
    // through it too)
    patches: { approval: (payload) => ({ approvedBy: payload.by }) },
    pipelines: {
      fulfil: {
        stages: [
          {
            id: "validate",
            steps: [
              {
                id: "check",
                action: async (ctx) => {
                  const { total, orderId } = ctx.state();
                  if (!(total > 0)) throw new Error(`order ${orderId} has no positive total`);
                  const pricing = await ctx.use((d) => d.require("pricing"));
                  ctx.logger.info("validated", { orderId, total });
                  return { gross: Math.round(total * (1 + pricing.taxRate) * 100) / 100 };
                },
              },
            ],
          },
          {
            id: "approval",
            steps: [
              {
                id: "wait",
                action: async (ctx) => {
                  const pause = await ctx.use((d) => d.require("__pause_service__"));
                  pause.register({
                    event: "order.approved",
                    conditions: [{ path: "orderId", op: "==", value: ctx.state().orderId }],
                    patch: "approval",
                    timeoutMs: approvalTimeoutMs,
                    timeoutPatch: { approvalTimedOut: true },
                  });
                  ctx.logger.debug("waiting for approval", { orderId: ctx.state().orderId });
                },
              },
            ],
          },
          {
            id: "ship",
            steps: [
              {
                id: "cancel",
                when: (ctx) => ctx.state().approvalTimedOut === true,
                action: (ctx) => {
                  ctx.logger.warn("approval timed out: cancelling", { orderId: ctx.state().orderId });
                  return { outcome: "cancelled" };
                },
              },
              {
                id: "ship",
                when: (ctx) => ctx.state().approvalTimedOut !== true,
                action: async (ctx) => {
                  const env = await ctx.use((d) => d.require("__env__"));
                  ctx.logger.info("shipping", { orderId: ctx.state().orderId, from: env.get("WAREHOUSE") });
                  return { outcome: "shipped" };
                },
              },
            ],
          },
        ],
      },
    },
  });
}
