import { defineWorkflow, type PauseService, type Workflow } from "../src/index.js";

/** The state of {@link approvalWorkflow}'s runs. */
export type ApprovalState = { orderId?: string; approved?: boolean; approvedBy?: string; shipped?: boolean };

/** The approval mapper the fixture declares as `patches.approval`. */
export const approval = (payload: { by: string }) => ({ approved: true, approvedBy: payload.by });

/**
 * "orders": placed → waits for `order.approved` naming this order → ship (`shipped` is whether the
 * state says `approved`). `patch` is the wait's mapper: a function, a name from `patches`, or none.
 */
export function approvalWorkflow(
  patch?: string | typeof approval,
  patches: Workflow<ApprovalState>["patches"] = { approval },
): Workflow<ApprovalState> {
  return defineWorkflow<ApprovalState>({
    id: "orders",
    triggers: { placed: { event: "order.placed", pipeline: "fulfil" } },
    patches,
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
                    conditions: [{ path: "orderId", op: "==", value: ctx.state().orderId! }],
                    ...(patch === undefined ? {} : { patch }),
                  });
                },
              },
            ],
          },
          {
            id: "ship",
            steps: [{ id: "ship", action: (ctx) => ({ shipped: ctx.state().approved === true }) }],
          },
        ],
      },
    },
  });
}
