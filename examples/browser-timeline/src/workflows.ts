// The two workflows the page runs. Plain definitions: nothing here knows about the DOM.
import { defineWorkflow, type PauseService } from "@sluice/runtime-core";

/** Id of the order workflow. */
export const ORDER_APPROVAL = "order-approval";
/** Id of the workflow that tells the customer how their order ended. */
export const NOTIFY_CUSTOMER = "notify-customer";

/** State of an order-approval run. */
export interface OrderState {
  orderId: string;
  total: number;
  /** Set by `validate`: the total with tax. */
  gross?: number;
  /** Set when an `order.approved` event resumes the run. */
  approvedBy?: string;
  /** Set when the approval wait times out. */
  approvalTimedOut?: boolean;
  /** Set by the last stage. */
  outcome?: "shipped" | "cancelled";
}

/** State of a notify-customer run (the payload of `order.closed`). */
export interface NotifyState {
  orderId: string;
  outcome: "shipped" | "cancelled";
}

/** Payload of `order.approved`. */
export interface ApprovalPayload {
  orderId: string;
  by: string;
}

// Steps sleep a little so their bars are wide enough to see; `signal` keeps aborts prompt.
function work(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/**
 * order.placed → validate → approval (pauses until `order.approved` for this orderId, or until
 * `approvalTimeoutMs` passes) → ship, or cancel when the wait timed out.
 */
export function orderApprovalWorkflow({ approvalTimeoutMs }: { approvalTimeoutMs: number }) {
  return defineWorkflow<OrderState>({
    id: ORDER_APPROVAL,
    label: "Order approval",
    triggers: { placed: { event: "order.placed", pipeline: "fulfil" } },
    // by name: a run adopted in another tab (from a saved checkpoint) resumes through it too
    patches: { approval: (payload: ApprovalPayload) => ({ approvedBy: payload.by }) },
    pipelines: {
      fulfil: {
        stages: [
          {
            id: "validate",
            steps: [
              {
                id: "check",
                action: async (ctx) => {
                  await work(220, ctx.signal);
                  const { orderId, total } = ctx.state();
                  if (!(total > 0)) throw new Error(`order ${orderId} has no positive total (got ${total})`);
                  ctx.logger.info("validated", { orderId, total });
                  return { gross: Math.round(total * 120) / 100 };
                },
              },
              { id: "reserve-stock", action: (ctx) => work(160, ctx.signal) },
            ],
          },
          {
            id: "approval",
            steps: [
              {
                id: "request",
                action: async (ctx) => {
                  await work(120, ctx.signal);
                  const { orderId } = ctx.state();
                  const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                  pause.register({
                    event: "order.approved",
                    conditions: [{ path: "orderId", op: "==", value: orderId }],
                    patch: "approval",
                    timeoutMs: approvalTimeoutMs,
                    timeoutPatch: { approvalTimedOut: true },
                  });
                  ctx.logger.debug("waiting for approval", { orderId, timeoutMs: approvalTimeoutMs });
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
                action: async (ctx) => {
                  ctx.logger.warn("approval timed out: cancelling", { orderId: ctx.state().orderId });
                  await work(120, ctx.signal);
                  return { outcome: "cancelled" };
                },
              },
              {
                id: "pack",
                when: (ctx) => ctx.state().approvalTimedOut !== true,
                action: (ctx) => work(180, ctx.signal),
              },
              {
                id: "dispatch",
                when: (ctx) => ctx.state().approvalTimedOut !== true,
                action: async (ctx) => {
                  const { orderId, approvedBy } = ctx.state();
                  await work(200, ctx.signal);
                  ctx.logger.info("shipped", { orderId, approvedBy });
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

/**
 * order.closed → compose → send (e-mail and SMS at once; the SMS gateway is busy on the first
 * try, so that step is retried).
 */
export function notifyCustomerWorkflow() {
  return defineWorkflow<NotifyState>({
    id: NOTIFY_CUSTOMER,
    label: "Notify customer",
    triggers: { closed: { event: "order.closed", pipeline: "notify" } },
    pipelines: {
      notify: {
        stages: [
          {
            id: "compose",
            steps: [
              {
                id: "render",
                action: async (ctx) => {
                  await work(140, ctx.signal);
                  ctx.logger.debug("message rendered", ctx.state());
                },
              },
            ],
          },
          {
            id: "send",
            concurrent: true,
            steps: [
              {
                id: "email",
                action: async (ctx) => {
                  await work(260, ctx.signal);
                  ctx.logger.info("e-mail sent", { orderId: ctx.state().orderId });
                },
              },
              {
                id: "sms",
                retry: { attempts: 3, backoffMs: 60 },
                action: async (ctx) => {
                  await work(90, ctx.signal);
                  if (ctx.attempt === 1) throw new Error("SMS gateway busy");
                },
              },
            ],
          },
        ],
      },
    },
  });
}
