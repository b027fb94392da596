// The order system of the end-to-end trial (app.trial.test.ts), written from the docs only: seven
// workflows that talk through the bus, each in the execution mode that fits it.
//
//   order.placed ─► orders (transient; the saga) ─ payment.requested ─► payments (transient, flaky
//   gateway: retry + backoff + step timeout) ─ ledger.entry ─► ledger (serialized) ; payment.settled
//   ─► orders reserve stock (inventory.low ─► inventory-sync, singleton_loop signal; catalog.changed
//   ─► search-reindex, exclusive queue_single) ─ approval.requested ─► a human (approve, reject, or
//   the deadline) ─ shipment.requested ─► shipping (transient) ─ shipment.confirmed | .failed ─►
//   orders: compensate (refund.requested ─► refunds ─► ledger.entry) ─ close ─ notify.customer ─►
//   notifications.
//
// One `startProcess()` is one process: its bus, runtime, DB connection and SQLite store connection.

import type { SystemError } from "@sluice/errors";
import { createEventBus, type EventBus } from "@sluice/events";
import { StoreRegistry } from "@sluice/store";
import { createSqliteTimelineStore } from "@sluice/timeline-sqlite";
import {
  type ArtifactFactoryContext,
  ControlEvent,
  type DispatchResult,
  defineWorkflow,
  type RunCheckpoint,
  type TimelineStore,
  WorkflowRuntime,
} from "../../src/index.js";
import {
  type DbClient,
  type FakeCarrier,
  type FakeDb,
  type FakeGateway,
  type Outcome,
  sleep,
} from "./world.js";

export const APPROVAL_TIMEOUT_MS = 60 * 60_000;

export interface World {
  db: FakeDb;
  gateway: FakeGateway;
  carrier: FakeCarrier;
  random: () => number;
  /** Every shipping label a run built: which address each order's run-scoped `label` service saw. */
  labels: { orderId: string; address: string }[];
}

/** What the host's services give steps (`d.require<…>(id)`). */
interface Broker {
  publish(event: string, payload: Record<string, unknown>): void;
}
interface Clock {
  now(): number;
}

export interface OrderState {
  orderId: string;
  customerId: string;
  sku: string;
  qty: number;
  amount: number;
  address: string;
  paid?: boolean;
  chargeId?: string;
  paymentFailed?: string;
  reserved?: boolean;
  outOfStock?: boolean;
  approval?: "approved" | "rejected" | "timed_out";
  approvedBy?: string;
  shipped?: boolean;
  trackingNo?: string;
  shipmentFailed?: string;
  refundedAmount?: number;
  outcome?: Outcome;
}

const byOrder = (orderId: string) => [{ path: "orderId", op: "==" as const, value: orderId }];

/** The saga: one run per order, parked while payment, a human, shipping or a refund answers. */
const orders = defineWorkflow<OrderState>({
  id: "orders",
  label: "Orders",
  triggers: { placed: { event: "order.placed", pipeline: "fulfil" } },
  // named, so a recovered run (another process) resumes through the same mappers
  patches: {
    paid: (p: { chargeId: string }) => ({ paid: true, chargeId: p.chargeId }),
    paymentFailed: (p: { reason: string }) => ({ paymentFailed: p.reason }),
    approved: (p: { by: string }) => ({ approval: "approved" as const, approvedBy: p.by }),
    rejected: () => ({ approval: "rejected" as const }),
    shipped: (p: { trackingNo: string }) => ({ shipped: true, trackingNo: p.trackingNo }),
    shipmentFailed: (p: { reason: string }) => ({ shipmentFailed: p.reason }),
    refunded: (p: { amount: number }) => ({ refundedAmount: p.amount }),
  },
  services: [
    // one per run, reading the run's state: does this order need a human?
    {
      id: "policy",
      scope: "run",
      factory: async (ctx) => {
        const amount = await ctx.use((d) => d.select((s) => s.amount));
        const env = await ctx.use((d) => d.require("__env__"));
        return { needsApproval: amount > Number(env.get("APPROVAL_LIMIT")) };
      },
    },
    // rebuilt when the address changes (a signal): the state it selected changed
    {
      id: "label",
      scope: "run",
      factory: async (ctx) => {
        const [orderId, address] = await ctx.use((d) => d.select((s) => [s.orderId, s.address] as const));
        const world = await ctx.use((d) => d.require<World>("world"));
        world.labels.push({ orderId, address });
        return { address, text: `SHIP ${orderId} TO ${address}` };
      },
    },
  ],
  pipelines: {
    fulfil: {
      stages: [
        {
          id: "accept",
          steps: [
            {
              id: "record",
              action: async (ctx) => {
                const { orderId, customerId, sku, qty, amount } = ctx.state();
                const db = await ctx.use((d) => d.require<DbClient>("db"));
                await db.insertOrder({ orderId, customerId, sku, qty, amount });
                ctx.logger.info("order accepted", { orderId, amount });
              },
            },
          ],
        },
        {
          id: "pay",
          steps: [
            {
              id: "request-payment",
              action: async (ctx) => {
                const { orderId, customerId, amount } = ctx.state();
                const [pause, broker] = await ctx.use((d) =>
                  Promise.all([d.require("__pause_service__"), d.require<Broker>("broker")]),
                );
                // waits first, then the request: an answer during this stage is buffered
                pause.register({
                  id: "settled",
                  event: "payment.settled",
                  conditions: byOrder(orderId),
                  patch: "paid",
                });
                pause.register({
                  id: "declined",
                  event: "payment.failed",
                  conditions: byOrder(orderId),
                  patch: "paymentFailed",
                });
                broker.publish("payment.requested", { orderId, customerId, amount });
              },
            },
          ],
        },
        {
          id: "reserve",
          steps: [
            {
              id: "reserve",
              when: (ctx) => ctx.state().paid === true,
              action: async (ctx) => {
                const { orderId, sku, qty } = ctx.state();
                const [db, broker, clock] = await ctx.use((d) =>
                  Promise.all([
                    d.require<DbClient>("db"),
                    d.require<Broker>("broker"),
                    d.require<Clock>("clock"),
                  ]),
                );
                ctx.signal.throwIfAborted(); // a cancelled order reserves nothing
                const reservation = await db.reserve(orderId, sku, qty);
                if (!reservation.ok) {
                  ctx.logger.warn("out of stock", { orderId, sku });
                  broker.publish("inventory.low", { sku, at: clock.now() });
                  return { outOfStock: true };
                }
                broker.publish("catalog.changed", { sku });
                if (reservation.left < 5) broker.publish("inventory.low", { sku, at: clock.now() });
                return { reserved: true };
              },
            },
            {
              id: "ask-approval",
              when: async (ctx) =>
                ctx.state().reserved === true &&
                (await ctx.use((d) => d.require<{ needsApproval: boolean }>("policy"))).needsApproval,
              action: async (ctx) => {
                const { orderId, amount } = ctx.state();
                const [pause, broker, label] = await ctx.use((d) =>
                  Promise.all([
                    d.require("__pause_service__"),
                    d.require<Broker>("broker"),
                    d.require<{ address: string }>("label"),
                  ]),
                );
                pause.register({
                  id: "approval",
                  event: "order.approved",
                  conditions: byOrder(orderId),
                  patch: "approved",
                  timeoutMs: APPROVAL_TIMEOUT_MS,
                  timeoutPatch: { approval: "timed_out" },
                });
                pause.register({
                  id: "rejection",
                  event: "order.rejected",
                  conditions: byOrder(orderId),
                  patch: "rejected",
                });
                broker.publish("approval.requested", { orderId, amount, shipTo: label.address });
              },
            },
          ],
        },
        {
          id: "ship",
          steps: [
            {
              id: "request-shipment",
              when: (ctx) => {
                const { reserved, approval } = ctx.state();
                return reserved === true && approval !== "rejected" && approval !== "timed_out";
              },
              action: async (ctx) => {
                const { orderId } = ctx.state();
                const [pause, broker, label] = await ctx.use((d) =>
                  Promise.all([
                    d.require("__pause_service__"),
                    d.require<Broker>("broker"),
                    d.require<{ address: string }>("label"),
                  ]),
                );
                pause.register({
                  id: "confirmed",
                  event: "shipment.confirmed",
                  conditions: byOrder(orderId),
                  patch: "shipped",
                });
                pause.register({
                  id: "undeliverable",
                  event: "shipment.failed",
                  conditions: byOrder(orderId),
                  patch: "shipmentFailed",
                });
                broker.publish("shipment.requested", { orderId, address: label.address });
              },
            },
          ],
        },
        {
          id: "compensate",
          steps: [
            {
              id: "release-stock",
              when: (ctx) => ctx.state().reserved === true && ctx.state().shipped !== true,
              action: async (ctx) => {
                const { orderId, sku } = ctx.state();
                const [db, broker] = await ctx.use((d) =>
                  Promise.all([d.require<DbClient>("db"), d.require<Broker>("broker")]),
                );
                await db.release(orderId, sku);
                broker.publish("catalog.changed", { sku });
              },
            },
            {
              id: "refund",
              when: (ctx) => ctx.state().paid === true && ctx.state().shipped !== true,
              action: async (ctx) => {
                const { orderId } = ctx.state();
                const [pause, broker] = await ctx.use((d) =>
                  Promise.all([d.require("__pause_service__"), d.require<Broker>("broker")]),
                );
                pause.register({
                  id: "refunded",
                  event: "refund.completed",
                  conditions: byOrder(orderId),
                  patch: "refunded",
                });
                broker.publish("refund.requested", { orderId });
              },
            },
          ],
        },
        {
          id: "close",
          steps: [
            {
              id: "finalize",
              action: async (ctx) => {
                const { orderId, shipped, paid } = ctx.state();
                const outcome: Outcome = shipped ? "shipped" : paid ? "refunded" : "cancelled";
                const [db, broker] = await ctx.use((d) =>
                  Promise.all([d.require<DbClient>("db"), d.require<Broker>("broker")]),
                );
                ctx.signal.throwIfAborted(); // cancelled meanwhile: the cancel set the outcome
                await db.setOutcome(orderId, outcome);
                broker.publish("notify.customer", { orderId, outcome });
                ctx.logger.info(`order ${outcome}`, { orderId });
                return { outcome };
              },
            },
          ],
        },
      ],
    },
  },
});

interface PaymentState {
  orderId: string;
  customerId: string;
  amount: number;
  chargeId?: string;
}

interface Gateway {
  charge(orderId: string, customerId: string, amount: number, signal: AbortSignal): Promise<string>;
  refund(orderId: string): Promise<number>;
}

/** The gateway client, one per workflow: its base URL is the workflow's env (layered over the global env). */
const gatewayClient = {
  id: "gateway",
  scope: "workflow" as const,
  factory: async (ctx: ArtifactFactoryContext): Promise<Gateway> => {
    const [env, api] = await ctx.use((d) =>
      Promise.all([d.require("__env__"), d.require<FakeGateway>("gatewayApi")]),
    );
    const url = env.get("PAYMENT_URL")!;
    return {
      charge: (orderId, customerId, amount, signal) => api.charge(url, orderId, customerId, amount, signal),
      refund: (orderId) => api.refund(url, orderId),
    };
  },
};

const payments = defineWorkflow<PaymentState>({
  id: "payments",
  env: { PAYMENT_URL: "https://pay.example/v2" }, // payments moved to the v2 API; refunds did not
  services: [gatewayClient],
  triggers: { requested: { event: "payment.requested", pipeline: "charge" } },
  pipelines: {
    charge: {
      stages: [
        {
          id: "charge",
          steps: [
            {
              id: "charge",
              retry: { attempts: 5, backoffMs: 200, factor: 2, maxBackoffMs: 1_000 },
              timeoutMs: 1_000,
              action: async (ctx) => {
                const { orderId, customerId, amount } = ctx.state();
                const gateway = await ctx.use((d) => d.require<Gateway>("gateway"));
                // the order id is the idempotency key: a retry after a timeout never charges twice
                return { chargeId: await gateway.charge(orderId, customerId, amount, ctx.signal) };
              },
            },
          ],
        },
        {
          id: "post",
          steps: [
            {
              id: "post",
              action: async (ctx) => {
                const { orderId, amount, chargeId } = ctx.state();
                const [db, broker] = await ctx.use((d) =>
                  Promise.all([d.require<DbClient>("db"), d.require<Broker>("broker")]),
                );
                broker.publish("ledger.entry", { orderId, kind: "charge", amount });
                // the order may have been cancelled while it was charged: give the money back
                if ((await db.order(orderId))?.outcome === "cancelled")
                  broker.publish("refund.requested", { orderId });
                broker.publish("payment.settled", { orderId, chargeId: chargeId! });
              },
            },
          ],
        },
      ],
    },
  },
});

const ledger = defineWorkflow<{ orderId: string; kind: "charge" | "refund"; amount: number }>({
  id: "ledger",
  triggers: { entry: { event: "ledger.entry", pipeline: "post" } },
  pipelines: {
    post: {
      stages: [
        {
          id: "post",
          steps: [
            {
              id: "append",
              action: async (ctx) => {
                const { orderId, kind, amount } = ctx.state();
                const [db, world] = await ctx.use((d) =>
                  Promise.all([d.require<DbClient>("db"), d.require<World>("world")]),
                );
                const balance = await db.readBalance();
                await sleep(1 + Math.floor(world.random() * 5)); // the write's round trip
                await db.appendLedger({ orderId, kind, amount }, balance);
              },
            },
          ],
        },
      ],
    },
  },
});

const refunds = defineWorkflow<{ orderId: string; amount?: number }>({
  id: "refunds",
  services: [gatewayClient],
  triggers: { requested: { event: "refund.requested", pipeline: "refund" } },
  pipelines: {
    refund: {
      stages: [
        {
          id: "refund",
          steps: [
            {
              id: "refund",
              retry: { attempts: 3, backoffMs: 100 },
              action: async (ctx) => {
                const { orderId } = ctx.state();
                const [gateway, broker] = await ctx.use((d) =>
                  Promise.all([d.require<Gateway>("gateway"), d.require<Broker>("broker")]),
                );
                const amount = await gateway.refund(orderId); // 0 when already refunded
                if (amount > 0) broker.publish("ledger.entry", { orderId, kind: "refund", amount });
                broker.publish("refund.completed", { orderId, amount });
                return { amount };
              },
            },
          ],
        },
      ],
    },
  },
});

const shipping = defineWorkflow<{ orderId: string; address: string; trackingNo?: string; skipped?: boolean }>(
  {
    id: "shipping",
    triggers: { requested: { event: "shipment.requested", pipeline: "ship" } },
    pipelines: {
      ship: {
        stages: [
          {
            id: "book",
            steps: [
              {
                id: "book",
                timeoutMs: 5_000,
                action: async (ctx) => {
                  const { orderId, address } = ctx.state();
                  const [db, carrier] = await ctx.use((d) =>
                    Promise.all([d.require<DbClient>("db"), d.require<FakeCarrier>("carrier")]),
                  );
                  if (!(await db.commitShipment(orderId))) return { skipped: true }; // cancelled meanwhile
                  return { trackingNo: await carrier.book(orderId, address) };
                },
              },
            ],
          },
          {
            id: "confirm",
            steps: [
              {
                id: "confirm",
                action: async (ctx) => {
                  const { orderId, trackingNo, skipped } = ctx.state();
                  const broker = await ctx.use((d) => d.require<Broker>("broker"));
                  if (skipped) broker.publish("shipment.failed", { orderId, reason: "cancelled" });
                  else broker.publish("shipment.confirmed", { orderId, trackingNo: trackingNo! });
                },
              },
            ],
          },
        ],
      },
    },
  },
);

const notifications = defineWorkflow<{ orderId: string; outcome: Outcome }>({
  id: "notifications",
  triggers: { notify: { event: "notify.customer", pipeline: "send" } },
  pipelines: {
    send: {
      stages: [
        {
          id: "send",
          steps: [
            {
              id: "send",
              action: async (ctx) => {
                const db = await ctx.use((d) => d.require<DbClient>("db"));
                await sleep(5);
                await db.recordNotification(ctx.state().orderId);
              },
            },
          ],
        },
      ],
    },
  },
});

/** A long-lived loop: low-stock events arriving while it runs are signalled into its state. */
const inventorySync = defineWorkflow<Record<string, number>>({
  id: "inventory-sync",
  triggers: {
    low: {
      event: "inventory.low",
      pipeline: "sync",
      map: (p: { sku: string; at: number }) => ({ [`low:${p.sku}`]: p.at }),
    },
  },
  pipelines: {
    sync: {
      stages: [
        {
          id: "sync",
          steps: [
            {
              id: "restock",
              action: async (ctx) => {
                const [db, broker] = await ctx.use((d) =>
                  Promise.all([d.require<DbClient>("db"), d.require<Broker>("broker")]),
                );
                const handled = new Map<string, number>();
                for (;;) {
                  const todo = Object.entries(ctx.state()).filter(
                    ([k, at]) => k.startsWith("low:") && handled.get(k) !== at,
                  );
                  if (todo.length === 0) return;
                  for (const [key, at] of todo) {
                    await sleep(50, ctx.signal); // the supplier's feed
                    const sku = key.slice("low:".length);
                    await db.restock(sku, 10);
                    broker.publish("catalog.changed", { sku });
                    handled.set(key, at);
                  }
                }
              },
            },
          ],
        },
      ],
    },
  },
});

/** Coalesces bursts of catalog changes: one re-index at a time, one pending with the latest input. */
const searchReindex = defineWorkflow({
  id: "search-reindex",
  triggers: { changed: { event: "catalog.changed", pipeline: "reindex" } },
  pipelines: {
    reindex: {
      stages: [
        {
          id: "reindex",
          steps: [
            {
              id: "reindex",
              action: async (ctx) => {
                const [db, clock] = await ctx.use((d) =>
                  Promise.all([d.require<DbClient>("db"), d.require<Clock>("clock")]),
                );
                const startedAt = clock.now();
                const version = await db.catalogVersion();
                await sleep(200);
                await db.recordReindex({ startedAt, endedAt: clock.now(), version });
              },
            },
          ],
        },
      ],
    },
  },
});

export interface Process {
  name: string;
  bus: EventBus;
  runtime: WorkflowRuntime;
  db: DbClient;
  timeline: TimelineStore;
  storeRegistry: StoreRegistry;
  errors: SystemError[];
  dispatches: DispatchResult[];
  /** Failed runs of the orders workflow: none is expected. */
  failedOrders: string[];
}

/**
 * Starts one process of the order system: a bus, a runtime on the SQLite timeline file, a DB
 * connection, the seven workflows registered. Its orders save their checkpoint to the DB each
 * time they park and delete it when they end (the crash recipe of docs/pause-and-resume.md).
 */
export async function startProcess(name: string, world: World, timelineFile: string): Promise<Process> {
  const bus = createEventBus();
  const db = world.db.connect(name);
  const timeline = await createSqliteTimelineStore({ filename: timelineFile });
  const storeRegistry = new StoreRegistry();
  const errors: SystemError[] = [];
  const dispatches: DispatchResult[] = [];
  const failedOrders: string[] = [];
  const runtime = new WorkflowRuntime({
    bus,
    storeRegistry,
    timelineStore: timeline,
    env: { PAYMENT_URL: "https://pay.example/v1", APPROVAL_LIMIT: "300" },
    onError: (error) => errors.push(error),
    services: [
      { id: "db", factory: () => db },
      { id: "clock", factory: (): Clock => ({ now: () => Date.now() }) },
      { id: "broker", factory: (): Broker => ({ publish: (event, payload) => bus.emit(event, payload) }) },
      { id: "gatewayApi", factory: () => world.gateway },
      { id: "carrier", factory: () => world.carrier },
      { id: "world", factory: () => world },
    ],
  });
  const publish = (event: string, payload: Record<string, unknown>) => bus.emit(event, payload);
  const record = (result: DispatchResult) => void dispatches.push(result);

  const saving = new Map<string, Promise<void>>();

  await runtime.register(orders, {
    mode: { type: "transient", concurrency: 50 },
    pauseWindowMs: 60_000,
    onDispatch: (result) => {
      record(result);
      if (result.runId !== undefined) db.recordRun((result.payload as OrderState).orderId, result.runId);
    },
    onPause: (ctx) => {
      const checkpoint = runtime.checkpoint(ctx.runId) as RunCheckpoint; // before any await
      const save = db.saveCheckpoint(ctx.runId, JSON.stringify(checkpoint));
      saving.set(ctx.runId, save);
      return save;
    },
    onComplete: async (result) => {
      if (!result.ok) return void failedOrders.push(`${result.metadata.runId}: ${result.error.message}`);
      if (result.value.status !== "aborted") return;
      // cancelled (the API set the outcome): give back the stock and whatever was charged. The DB
      // says what was reserved and the gateway what was charged (both idempotent): a step cut off
      // by the abort may have done its work without its patch reaching the state.
      const { orderId, sku } = result.value.state;
      await db.release(orderId, sku);
      publish("catalog.changed", { sku });
      publish("refund.requested", { orderId });
    },
    onCleanup: async (info) => {
      await saving.get(info.runId);
      saving.delete(info.runId);
      await db.deleteCheckpoint(info.runId);
    },
  });
  await runtime.register(payments, {
    mode: { type: "transient", concurrency: 8 },
    onDispatch: record,
    // a failed run's result has the state it failed with: the order to tell
    onComplete: (result) => {
      if (!result.ok)
        publish("payment.failed", { orderId: result.metadata.state!.orderId, reason: result.error.message });
    },
  });
  await runtime.register(ledger, { mode: { type: "serialized" }, onDispatch: record });
  await runtime.register(refunds, { mode: { type: "transient", concurrency: 4 }, onDispatch: record });
  await runtime.register(shipping, {
    mode: { type: "transient", concurrency: 4 },
    onDispatch: record,
    onComplete: (result) => {
      if (!result.ok)
        publish("shipment.failed", { orderId: result.metadata.state!.orderId, reason: result.error.message });
    },
  });
  await runtime.register(notifications, { mode: { type: "transient", concurrency: 20 }, onDispatch: record });
  await runtime.register(inventorySync, {
    mode: { type: "singleton_loop", onBusy: "signal" },
    onDispatch: record,
  });
  await runtime.register(searchReindex, {
    mode: { type: "exclusive", onBusy: "queue_single" },
    onDispatch: record,
  });

  // A signal to a parked order changes its state after onPause saved the checkpoint: save it again,
  // or a crash would bring the order back with its old address. The runtime subscribed to the
  // control events first, so this handler runs once the signal is applied.
  bus.on(ControlEvent.Signal, (payload) => {
    const runId = (payload as { runId: string }).runId;
    const checkpoint = runtime.checkpoint(runId);
    if (checkpoint !== undefined) void db.saveCheckpoint(runId, JSON.stringify(checkpoint));
  });

  return { name, bus, runtime, db, timeline, storeRegistry, errors, dispatches, failedOrders };
}

/** The order API's address change: true when the order took it. */
export function changeAddress(
  process: Process,
  world: World,
  orderId: string,
  address: string,
  via: "api" | "control",
): boolean {
  const runId = world.db.orderRuns.get(orderId)!;
  if (via === "control") {
    process.bus.emit(ControlEvent.Signal, { runId, patch: { address } });
    return process.runtime.watch("orders", runId)?.status === "paused";
  }
  try {
    process.runtime.signal(runId, { address });
  } catch {
    return false; // the order has ended (or is about to): too late
  }
  const checkpoint = process.runtime.checkpoint(runId);
  if (checkpoint !== undefined) void process.db.saveCheckpoint(runId, JSON.stringify(checkpoint));
  return true;
}

/** The order API's cancel endpoint: refused once shipping committed or the order ended. */
export function cancelOrder(
  process: Process,
  world: World,
  orderId: string,
  via: "api" | "control",
): boolean {
  const runId = world.db.orderRuns.get(orderId);
  if (runId === undefined || !process.db.tryCancel(orderId)) return false;
  if (via === "api") void process.runtime.abort(runId);
  else process.bus.emit(ControlEvent.Abort, { runId });
  return true;
}
