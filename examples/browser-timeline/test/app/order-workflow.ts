// The order-approval workflow of the browser-app trial: validate, wait for an approval of this
// order (its mapper named, so the wait survives a checkpoint), ship.
import { defineWorkflow, type PauseService } from "@sluice/runtime-core";

export interface Order {
  orderId: string;
  approvedBy?: string;
  shipped?: boolean;
}

export const orderWorkflow = defineWorkflow<Order>({
  id: "orders",
  triggers: { placed: { event: "order.placed", pipeline: "fulfil" } },
  patches: { approval: (payload: { by: string }) => ({ approvedBy: payload.by }) },
  pipelines: {
    fulfil: {
      stages: [
        {
          id: "validate",
          steps: [
            {
              id: "check",
              action: (ctx) => void ctx.logger.info("validated", { orderId: ctx.state().orderId }),
            },
          ],
        },
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
                  patch: "approval",
                });
              },
            },
          ],
        },
        { id: "ship", steps: [{ id: "ship", action: () => ({ shipped: true }) }] },
      ],
    },
  },
});
