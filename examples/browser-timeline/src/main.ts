// The page: a WorkflowRuntime running in this tab on the browser's IndexedDB timeline, a few
// buttons that put events on its bus, and a live <sluice-timeline> reading the same store.
import "./styles.css";
import { createEventBus } from "@sluice/events";
import { type RunResult, WorkflowRuntime } from "@sluice/runtime-core";
import { StoreRegistry } from "@sluice/store";
import { createIndexedDBTimelineStore } from "@sluice/timeline-indexeddb";
import { defineTimelineViewer } from "@sluice/timeline-viewer";
import {
  type ApprovalPayload,
  NOTIFY_CUSTOMER,
  type NotifyState,
  notifyCustomerWorkflow,
  ORDER_APPROVAL,
  type OrderState,
  orderApprovalWorkflow,
} from "./workflows.js";

/** The IndexedDB database the timeline lives in. */
const DATABASE = "sluice-browser-timeline";
/** How long an order waits for approval before it is cancelled; `?approvalTimeoutMs=` overrides it. */
const DEFAULT_APPROVAL_TIMEOUT_MS = 30_000;

type ShopEvents = {
  "order.placed": { orderId: string; total: number };
  "order.approved": ApprovalPayload;
  "order.closed": NotifyState;
};

type OrderStatus = "placed" | "running" | "waiting" | "shipped" | "cancelled" | "failed";

/** An order placed in this tab (the runtime lives as long as the tab). */
interface Order {
  orderId: string;
  total: number;
  runId?: string;
  status: OrderStatus;
  detail: string;
}

const FINAL: ReadonlySet<OrderStatus> = new Set(["shipped", "cancelled", "failed"]);

function element<T extends HTMLElement>(selector: string): T {
  const found = document.querySelector<T>(selector);
  if (found === null) throw new Error(`index.html has no ${selector}`);
  return found;
}

function newOrderId(): string {
  const digits = crypto.getRandomValues(new Uint32Array(1))[0]! % 9000;
  return `ORD-${1000 + digits}`;
}

function approvalTimeoutMs(): number {
  const raw = new URLSearchParams(location.search).get("approvalTimeoutMs");
  const parsed = raw === null ? Number.NaN : Number(raw);
  return Number.isFinite(parsed) && parsed > 0 ? parsed : DEFAULT_APPROVAL_TIMEOUT_MS;
}

const clock = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hour12: false,
});
const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "EUR" });

function activity(message: string, kind: "info" | "ok" | "warn" | "error" | "runtime-error" = "info"): void {
  const list = element<HTMLOListElement>("#activity");
  const item = document.createElement("li");
  item.dataset.kind = kind;
  const time = document.createElement("time");
  time.textContent = clock.format(new Date());
  item.append(time, document.createTextNode(message));
  list.prepend(item);
  while (list.children.length > 50) list.lastElementChild?.remove();
}

async function main(): Promise<void> {
  const timeoutMs = approvalTimeoutMs();
  const bus = createEventBus<ShopEvents>();
  const store = await createIndexedDBTimelineStore({ database: DATABASE });
  const runtime = new WorkflowRuntime({
    bus,
    storeRegistry: new StoreRegistry(),
    timelineStore: store,
    env: {},
    onError: (error) => activity(`runtime: ${error.code} ${error.message}`, "runtime-error"),
    timeline: { flushIntervalMs: 50 },
  });

  const orders: Order[] = [];
  const byRun = new Map<string, Order>();
  const byId = new Map<string, Order>();

  await runtime.register(orderApprovalWorkflow({ approvalTimeoutMs: timeoutMs }), {
    mode: { type: "transient", concurrency: 10 },
    onPrepare: (ctx) => {
      const order = byId.get(ctx.state().orderId);
      if (order === undefined) return;
      order.runId = ctx.runId;
      byRun.set(ctx.runId, order);
    },
    onComplete: (result: RunResult<OrderState>) => {
      const order = result.metadata.runId === undefined ? undefined : byRun.get(result.metadata.runId);
      if (!result.ok) {
        // The SystemError says where it failed; its cause is what the step threw.
        const { cause } = result.error;
        const reason = cause instanceof Error ? cause.message : result.error.message;
        if (order !== undefined) setStatus(order, "failed", reason);
        activity(`${order?.orderId ?? "an order"} failed: ${reason}`, "error");
        return;
      }
      const outcome = result.value.state.outcome;
      if (order !== undefined && (outcome === "shipped" || outcome === "cancelled")) {
        const detail =
          outcome === "shipped" ? `approved by ${result.value.state.approvedBy}` : "not approved in time";
        setStatus(order, outcome, detail);
        activity(`${order.orderId} ${outcome} (${detail})`, outcome === "shipped" ? "ok" : "warn");
        bus.emit("order.closed", { orderId: order.orderId, outcome });
      }
    },
  });
  await runtime.register(notifyCustomerWorkflow(), {
    mode: { type: "serialized" },
    onComplete: (result: RunResult<NotifyState>) => {
      if (result.ok) activity(`customer notified about ${result.value.state.orderId}`);
      else activity(`notifying the customer failed: ${result.error.message}`, "error");
    },
  });

  defineTimelineViewer();
  const viewer = element<HTMLElementTagNameMap["sluice-timeline"]>("sluice-timeline");
  viewer.store = store;
  // This tab's runtime runs every run it knows: one it does not, that has no closing event and is
  // not parked, was cut off (the tab closed or reloaded mid-step) and is drawn "lost", not running.
  viewer.liveRuns = (runId) => runtime.findRun(runId) !== undefined;
  viewer.addEventListener("timeline-error", (event) => {
    activity(`viewer: ${String((event as CustomEvent).detail?.message ?? event)}`, "runtime-error");
  });

  // ---- orders table -------------------------------------------------------------------------
  const table = element<HTMLTableSectionElement>("#orders");
  const empty = element<HTMLElement>("#orders-empty");

  function setStatus(order: Order, status: OrderStatus, detail: string): void {
    order.status = status;
    order.detail = detail;
    renderOrders();
  }

  function renderOrders(): void {
    empty.hidden = orders.length > 0;
    table.replaceChildren(
      ...orders.map((order) => {
        const row = document.createElement("tr");
        row.dataset.order = order.orderId;
        row.dataset.status = order.status;
        if (order.runId !== undefined) row.dataset.run = order.runId;
        const id = document.createElement("td");
        id.className = "mono";
        id.textContent = order.orderId;
        const total = document.createElement("td");
        total.className = "num";
        total.textContent = money.format(order.total);
        const status = document.createElement("td");
        const badge = document.createElement("span");
        badge.className = `badge ${order.status}`;
        badge.textContent = order.status === "waiting" ? "waiting for approval" : order.status;
        status.append(badge);
        if (order.detail !== "") {
          const detail = document.createElement("small");
          detail.className = "detail";
          detail.textContent = order.detail;
          detail.title = order.detail;
          status.append(detail);
        }
        row.append(id, total, status);
        return row;
      }),
    );
    approveButton.disabled = !orders.some((order) => order.status === "waiting");
  }

  // The runtime knows where each run is; poll it for the orders still in flight.
  function trackRuns(): void {
    let changed = false;
    for (const order of orders) {
      if (FINAL.has(order.status) || order.runId === undefined) continue;
      const info = runtime.watch(ORDER_APPROVAL, order.runId);
      if (info === undefined) continue;
      const status: OrderStatus =
        info.status === "paused" ? "waiting" : info.status === "running" ? "running" : order.status;
      const detail = info.status === "running" ? (info.stage ?? "") : "";
      if (status !== order.status || detail !== order.detail) {
        if (status === "waiting" && order.status !== "waiting")
          activity(`${order.orderId} waits for approval`);
        order.status = status;
        order.detail = detail;
        changed = true;
      }
    }
    if (changed) renderOrders();
  }
  setInterval(trackRuns, 100);

  // ---- buttons ------------------------------------------------------------------------------
  const approveButton = element<HTMLButtonElement>('[data-action="approve"]');

  function placeOrder(total: number): void {
    const order: Order = { orderId: newOrderId(), total, status: "placed", detail: "" };
    while (byId.has(order.orderId)) order.orderId = newOrderId();
    orders.push(order);
    byId.set(order.orderId, order);
    renderOrders();
    activity(`${order.orderId} placed (${money.format(total)})`);
    bus.emit("order.placed", { orderId: order.orderId, total });
  }

  element('[data-action="place-order"]').addEventListener("click", () => {
    placeOrder(Math.round(20 + Math.random() * 380) + 0.99);
  });
  element('[data-action="place-invalid"]').addEventListener("click", () => placeOrder(0));
  approveButton.addEventListener("click", () => {
    const oldest = orders.find((order) => order.status === "waiting");
    if (oldest === undefined) return activity("no order is waiting for approval", "warn");
    activity(`approving ${oldest.orderId}`);
    bus.emit("order.approved", { orderId: oldest.orderId, by: "you" });
  });
  element('[data-action="clear"]').addEventListener("click", async () => {
    // Flush first, so no buffered event of a finished run lands after the delete.
    await runtime.flushTimeline();
    let removed = 0;
    for (const workflowId of [ORDER_APPROVAL, NOTIFY_CUSTOMER]) removed += await store.delete({ workflowId });
    for (let i = orders.length - 1; i >= 0; i--) {
      const order = orders[i]!;
      if (!FINAL.has(order.status)) continue;
      orders.splice(i, 1);
      byId.delete(order.orderId);
      if (order.runId !== undefined) byRun.delete(order.runId);
    }
    renderOrders();
    // Drop what the viewer holds and reload the (now empty) store.
    viewer.reload();
    activity(`timeline cleared: ${removed} events deleted from IndexedDB`);
  });

  element("#timeout").textContent = `${Math.round(timeoutMs / 1000)} s`;
  const { events } = await store.query({ limit: 1 });
  activity(
    events.length > 0
      ? `opened IndexedDB "${DATABASE}": runs of earlier visits are drawn below`
      : `opened IndexedDB "${DATABASE}": no runs yet, place an order`,
  );
  renderOrders();
  document.documentElement.dataset.ready = "true";
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  document.documentElement.dataset.error = message;
  const banner = document.querySelector<HTMLElement>("#fatal");
  if (banner !== null) {
    banner.hidden = false;
    banner.textContent = `The page could not start: ${message}`;
  }
  console.error(error);
});
