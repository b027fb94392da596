// Trial: a team moves an order system onto Sluice, from the docs only, and runs it end to end:
// 300 seeded orders through seven workflows on one bus (test/app/order-system.ts), humans who
// approve, reject, change addresses or never answer, cancellations through the API and the control
// event, on a fake clock. Three processes share one database and one SQLite timeline file: A hands
// its parked orders over to A2 in a rolling deploy (drain, detach, adopt), A2 crashes while orders
// wait for humans (its timers and connections die; B recovers them from the checkpoints their
// onPause saved to the database), and B finishes everything. Then the business's invariants, and
// the story each order's timeline tells.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSqliteTimelineStore } from "@sluice/timeline-sqlite";
import { afterEach, describe, expect, it, vi } from "vitest";
import type {
  ResumeCause,
  RunCheckpoint,
  TimelineEvent,
  TimelineQuery,
  TimelineStore,
} from "../src/index.js";
import {
  APPROVAL_TIMEOUT_MS,
  cancelOrder,
  changeAddress,
  type Process,
  startProcess,
  type World,
} from "./app/order-system.js";
import { FakeCarrier, FakeDb, FakeGateway, type Outcome, seededRandom } from "./app/world.js";

const ORDERS = 300;
const MINUTE = 60_000;
const HANDOVER_AT = 2 * MINUTE;
const CRASH_AT = 20 * MINUTE;
const SKUS = ["kettle", "lamp", "chair", "desk", "rug", "mug", "vase", "clock"];

/** Something a customer, an approver or the cancel button does at a moment of simulated time. */
interface Act {
  at: number;
  what: string;
  run(process: Process): void;
}

async function allEvents(store: TimelineStore, filter: TimelineQuery): Promise<TimelineEvent[]> {
  const events: TimelineEvent[] = [];
  let next: string | undefined;
  do {
    const page = await store.query({ ...filter, limit: 500, ...(next === undefined ? {} : { next }) });
    events.push(...page.events);
    next = page.next;
  } while (next !== undefined);
  return events;
}

/** Awaits a promise that needs timers to settle, advancing the fake clock until it has. */
async function withFakeTime<T>(promise: Promise<T>): Promise<T> {
  let settled = false;
  void promise.finally(() => {
    settled = true;
  });
  while (!settled) await vi.advanceTimersByTimeAsync(1);
  return promise;
}

describe("an order system moved onto Sluice, end to end", () => {
  let dir: string | undefined;
  afterEach(() => {
    vi.useRealTimers();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("every order ends shipped, refunded or cancelled, the money balances and the timeline tells each story, across a crash", async () => {
    // the clocks the docs say the runtime reads (runtime-core README, "Time limit")
    vi.useFakeTimers({
      now: Date.UTC(2026, 2, 2, 9),
      toFake: ["setTimeout", "clearTimeout", "Date", "performance"],
    });
    dir = mkdtempSync(join(tmpdir(), "sluice-app-"));
    const file = join(dir, "timeline.sqlite");
    const random = seededRandom(20260302);
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
    const between = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo));

    const db = new FakeDb();
    for (const sku of SKUS) db.stock.set(sku, 30);
    const declined = new Set(["c7", "c13", "c29"]);
    const world: World = {
      db,
      gateway: new FakeGateway(random, declined),
      carrier: new FakeCarrier(db),
      random,
      labels: [],
    };

    // ── the outside world's plan: orders, humans' answers, address changes, cancellations ──
    const t0 = Date.now();
    const agenda: Act[] = [];
    const placed = new Map<string, { address: string; amount: number }>();
    const addressChanges = new Map<string, string>(); // order → the last address it took
    const cancelled = new Set<string>();
    const decisions = new Map<string, "approve" | "reject" | "none">(); // what each asked approver did
    for (let i = 0; i < ORDERS; i++) {
      const orderId = `o${i}`;
      const order = {
        orderId,
        customerId: `c${between(0, 40)}`,
        sku: pick(SKUS),
        qty: between(1, 4),
        amount: between(20, 600),
        address: random() < 0.03 ? `${i} Coral Way, Atlantis` : `${i} Main St, Springfield`,
      };
      placed.set(orderId, order);
      const at = t0 + Math.floor(i / 25) * 20_000; // in bursts of 25, as after a newsletter
      agenda.push({ at, what: `place ${orderId}`, run: (p) => p.bus.emit("order.placed", order) });
      if (random() < 0.15) {
        const via = random() < 0.5 ? "api" : "control";
        // half while payment and stock are in flight, half while a human may still be deciding
        agenda.push({
          at: at + (random() < 0.5 ? between(0, 3_000) : between(0, 60 * MINUTE)),
          what: `cancel ${orderId} (${via})`,
          run: (p) => void (cancelOrder(p, world, orderId, via) && cancelled.add(orderId)),
        });
      }
    }
    // an approver answers each request (or never does), sometimes after the customer moved
    const onApprovalRequested = (payload: unknown) => {
      const { orderId } = payload as { orderId: string };
      const now = Date.now();
      const answerIn = between(MINUTE, 50 * MINUTE);
      if (random() < 0.3) {
        const address =
          random() < 0.2 ? `${orderId} Deep Trench, Atlantis` : `${orderId} New Road, Shelbyville`;
        const via = random() < 0.5 ? "api" : "control";
        agenda.push({
          // mostly within the pause window, while the run still holds the label it built
          at: now + (random() < 0.7 ? between(5_000, 50_000) : between(MINUTE, answerIn)),
          what: `move ${orderId} (${via})`,
          run: (p) =>
            void (changeAddress(p, world, orderId, address, via) && addressChanges.set(orderId, address)),
        });
      }
      const roll = random();
      decisions.set(orderId, roll < 0.55 ? "approve" : roll < 0.7 ? "reject" : "none");
      if (roll < 0.55) {
        agenda.push({
          at: now + answerIn,
          what: `approve ${orderId}`,
          run: (p) => p.bus.emit("order.approved", { orderId, by: "ann" }),
        });
      } else if (roll < 0.7) {
        agenda.push({
          at: now + answerIn,
          what: `reject ${orderId}`,
          run: (p) => p.bus.emit("order.rejected", { orderId }),
        });
      } // else: nobody answers, the deadline decides
    };

    /** Runs the agenda up to `until`, the runtime's timers firing in between, in time order. */
    const live = async (p: Process, until: number) => {
      for (;;) {
        agenda.sort((a, b) => a.at - b.at);
        const next = agenda[0];
        if (next === undefined || next.at > until) break;
        agenda.shift();
        await vi.advanceTimersByTimeAsync(Math.max(0, next.at - Date.now()));
        next.run(p);
      }
      await vi.advanceTimersByTimeAsync(Math.max(0, until - Date.now()));
    };
    const busy = (p: Process) =>
      p.runtime.listAllRuns().filter((r) => r.status === "running" || r.status === "queued");

    // ── process A: takes the first orders, then hands over gracefully (a rolling deploy) ──
    const lowStock: { sku: string; at: number }[] = [];
    const listen = (p: Process) => {
      p.bus.on("approval.requested", onApprovalRequested);
      p.bus.on("inventory.low", (payload) => void lowStock.push(payload as { sku: string; at: number }));
    };
    const a = await startProcess("A", world, file);
    listen(a);
    await live(a, t0 + HANDOVER_AT);
    // the load balancer now sends orders and humans to the next process: A gets no outside events.
    // Its runs still hand work on to each other through the bus (payment → ledger, order →
    // shipping): triggers: "start" lets that finish. (With the default, "drop", a payment in flight
    // charged the card and its ledger entry was dropped: the money no longer balanced.)
    const firstDrain = await withFakeTime(a.runtime.drain({ timeoutMs: 60_000, triggers: "start" }));
    expect(firstDrain.drained).toBe(true);
    const handedOver = await Promise.all(firstDrain.paused.map((runId) => a.runtime.detach(runId)));
    await a.runtime.stop();
    const a2 = await startProcess("A2", world, file);
    listen(a2);
    for (const checkpoint of handedOver) a2.runtime.adopt(JSON.parse(JSON.stringify(checkpoint)));

    // ── process A2: serves, then crashes while orders wait for humans ──
    await live(a2, t0 + CRASH_AT);
    // the crash comes when no automated work is in flight (a run cut off mid-stage would come back
    // at its last pause, its resuming event gone: see pause-and-resume.md)
    for (let i = 0; i < 120 && busy(a2).length > 0; i++) await vi.advanceTimersByTimeAsync(1_000);
    expect(busy(a2)).toEqual([]);
    const parkedInA = a2.runtime.listAllRuns().filter((r) => r.status === "paused");
    expect(parkedInA.length).toBeGreaterThan(20);
    expect(parkedInA.every((r) => r.workflowId === "orders")).toBe(true);
    expect(new Set(db.checkpoints.keys())).toEqual(new Set(parkedInA.map((r) => r.runId)));
    // kill -9: every timer of the process dies with it, and its connections
    vi.clearAllTimers();
    a2.db.close();

    // ── process B: same DB, same SQLite file; recovers the parked orders, then serves ──
    const b = await startProcess("B", world, file);
    listen(b);
    const recovered: string[] = [];
    for (const text of await b.db.savedCheckpoints()) {
      const info = await b.runtime.recover(JSON.parse(text) as RunCheckpoint);
      recovered.push(info.runId);
    }
    expect(recovered.sort()).toEqual(parkedInA.map((r) => r.runId).sort());
    await live(b, t0 + CRASH_AT + 2 * APPROVAL_TIMEOUT_MS);
    for (let i = 0; i < 120 && busy(b).length > 0; i++) await vi.advanceTimersByTimeAsync(1_000);

    // drain() looks at the runs a macrotask (a setTimeout) after the call: under fake timers the
    // clock must move for it to answer
    const report = await withFakeTime(b.runtime.drain({ timeoutMs: 10_000 }));
    expect(report).toEqual({ drained: true, active: [], paused: [], dropped: [] });
    expect(b.runtime.listAllRuns().filter((r) => r.workflowId === "orders" && r.status === "failed")).toEqual(
      [],
    );
    await b.runtime.stop();
    // nothing left behind: no run's state, no timer, no subscription but the host's own
    expect(vi.getTimerCount()).toBe(0);
    expect(a.storeRegistry.size).toBe(0);
    expect(b.storeRegistry.size).toBe(0);
    expect(b.bus.listenerCount()).toBe(3); // the host's own: approval.requested, inventory.low, sluice.run.signal

    // ── the business's invariants ──
    expect(db.violations).toEqual([]);
    expect(a.failedOrders).toEqual([]);
    expect(a2.failedOrders).toEqual([]);
    expect(b.failedOrders).toEqual([]);
    // the only reports: a bus-only client's address change for an order that had ended already
    const runOrders = new Map([...db.orderRuns].map(([orderId, runId]) => [runId, orderId]));
    const unexpected = [...a.errors, ...a2.errors, ...b.errors].filter(
      (e) =>
        !(
          e.code === "NOT_FOUND" &&
          e.details?.event === "sluice.run.signal" &&
          db.orders.get(runOrders.get(e.details.runId as string)!)?.outcome !== undefined
        ),
    );
    expect(unexpected.map((e) => `${e.code}: ${e.message}`)).toEqual([]);

    const outcomes = new Map<Outcome, number>();
    for (const [orderId, { amount }] of placed) {
      const row = db.orders.get(orderId);
      expect(row?.outcome, orderId).toMatch(/^(shipped|refunded|cancelled)$/);
      outcomes.set(row!.outcome!, (outcomes.get(row!.outcome!) ?? 0) + 1);
      // the money for this order: charged and kept only when shipped
      const net = db.ledger
        .filter((e) => e.orderId === orderId)
        .reduce((sum, e) => sum + (e.kind === "charge" ? e.amount : -e.amount), 0);
      expect(net, `ledger of ${orderId} (${row!.outcome})`).toBe(row!.outcome === "shipped" ? amount : 0);
      const charged = (world.gateway.charges.get(orderId) ?? 0) - (world.gateway.refunds.get(orderId) ?? 0);
      expect(charged, `gateway of ${orderId}`).toBe(net);
      // shipped at most once, never after a cancel, to the address it last took
      const booked = world.carrier.bookings.get(orderId);
      if (row!.outcome === "shipped") {
        expect(booked, orderId).toBe(addressChanges.get(orderId) ?? placed.get(orderId)!.address);
      } else expect(booked, orderId).toBeUndefined();
      if (cancelled.has(orderId)) expect(row!.outcome).toBe("cancelled");
    }
    // the run-scoped label selected the address: a change rebuilt it (within the pause window by
    // invalidation, past it by the rebuild from the checkpoint)
    const relabelled = [...addressChanges].filter(([orderId, address]) => {
      const built = world.labels.filter((l) => l.orderId === orderId).map((l) => l.address);
      return built[0] === placed.get(orderId)!.address && built.at(-1) === address;
    });
    expect(relabelled.length).toBeGreaterThan(10);
    expect(db.outbox.length).toBe(ORDERS); // one outcome per order
    expect(db.balance).toBe(
      db.ledger.reduce((sum, e) => sum + (e.kind === "charge" ? e.amount : -e.amount), 0),
    );
    expect(db.reservations.size).toBe(outcomes.get("shipped") ?? 0);
    // env layering: payments charge through their own v2 layer, refunds through the global v1
    expect(new Set(world.gateway.calls.filter((c) => c.op === "charge").map((c) => c.url))).toEqual(
      new Set(["https://pay.example/v2"]),
    );
    expect(new Set(world.gateway.calls.filter((c) => c.op === "refund").map((c) => c.url))).toEqual(
      new Set(["https://pay.example/v1"]),
    );
    // one re-index at a time (recordReindex checks), and the last saw the final catalog
    expect(db.reindexes.at(-1)?.version).toBe(db.catalogVersion);
    // every low-stock alarm was answered by a restock of that item, signalled into a running sync or not
    for (const low of lowStock) {
      expect(
        db.restocks.some((r) => r.sku === low.sku && r.at >= low.at),
        `${low.sku} low at ${low.at}`,
      ).toBe(true);
    }
    // each mode met contention: queues, a signal into the running loop, superseded re-indexes
    const outcomesOf = (workflowId: string) =>
      [
        ...new Set(
          [a, a2, b]
            .flatMap((p) => p.dispatches)
            .filter((d) => d.workflowId === workflowId)
            .map((d) => d.outcome),
        ),
      ].sort();
    expect(outcomesOf("payments")).toEqual(["queued", "started"]);
    expect(outcomesOf("ledger")).toEqual(["queued", "started"]);
    expect(outcomesOf("inventory-sync")).toEqual(["signalled", "started"]);
    expect(outcomesOf("search-reindex")).toEqual(["dropped", "queued", "started"]);
    // every path was taken (with this seed: 199 shipped, 64 refunded, 37 cancelled, of which 14 by
    // the cancel button; ~70 runs handed over, ~100 recovered, ~40 address changes)
    expect(Math.min(...[...outcomes.values()], cancelled.size, addressChanges.size)).toBeGreaterThan(10);
    expect(Math.min(handedOver.length, recovered.length)).toBeGreaterThan(20);

    // ── the timeline tells each order's story ──
    const timeline = await createSqliteTimelineStore({ filename: file });
    const orderEvents = await allEvents(timeline, { workflowId: "orders" });
    const runs = new Set(orderEvents.map((e) => e.runId));
    expect(runs.size).toBe(ORDERS);
    for (const [orderId] of placed) {
      const runId = db.orderRuns.get(orderId)!;
      const events = (await allEvents(timeline, { runId })).sort((x, y) => x.seq - y.seq);
      // one history across three processes: seq 1, 2, 3… with no gap and no event twice
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      expect(events[0]!.type).toBe("run.started");
      // what resumed it, in order: the story of the order
      const story = events
        .filter((e) => e.type === "run.resumed")
        .map((e) => `${(e.data as ResumeCause).by}:${(e.data as ResumeCause).wait}`);
      const outcome = db.orders.get(orderId)!.outcome;
      if (cancelled.has(orderId)) {
        expect(events.at(-1)!.type, orderId).toBe("run.aborted");
        continue;
      }
      expect(events.at(-1)!.type, orderId).toBe("run.completed");
      expect(events.some((e) => e.type === "log" && e.message === `order ${outcome}`)).toBe(true);
      if (story[0] === "event:declined") {
        expect([outcome, story.length]).toEqual(["cancelled", 1]);
        continue;
      }
      expect(story[0], orderId).toBe("event:settled");
      const asked = events.some((e) => e.type === "step.completed" && e.step === "ask-approval");
      const answer = decisions.get(orderId);
      expect(asked, orderId).toBe(answer !== undefined);
      const approval = { approve: "event:approval", reject: "event:rejection", none: "timeout:approval" };
      const expected = [
        "event:settled",
        ...(answer === undefined ? [] : [approval[answer]]),
        ...(outcome === "shipped" ? ["event:confirmed"] : []),
        ...(outcome === "refunded" && story.includes("event:undeliverable") ? ["event:undeliverable"] : []),
        ...(outcome === "refunded" ? ["event:refunded"] : []),
      ];
      expect(story, `${orderId} (${outcome})`).toEqual(expected);
    }
    // the flaky gateway, by workflow: 503s and hangs past the step's timeout were retried with
    // backoff (200, 400, 800, then capped at 1000 ms); declined cards failed after five attempts
    const paymentEvents = await allEvents(timeline, { workflowId: "payments" });
    const retried = paymentEvents.filter((e) => e.type === "step.retried");
    expect(retried.some((e) => e.message?.includes("503"))).toBe(true);
    expect(retried.some((e) => e.message?.includes("did not finish within 1000 ms"))).toBe(true);
    const failedPayments = new Set(paymentEvents.filter((e) => e.type === "run.failed").map((e) => e.runId));
    expect(failedPayments.size).toBeGreaterThan(0);
    for (const runId of failedPayments) {
      const delays = retried
        .filter((e) => e.runId === runId)
        .map((e) => (e.data as { delayMs: number }).delayMs);
      expect(delays).toEqual([200, 400, 800, 1000]);
    }
    // a time range: only what happened after the crash, in order
    const afterCrash = await allEvents(timeline, { workflowId: "orders", from: t0 + CRASH_AT });
    expect(afterCrash.length).toBeGreaterThan(0);
    expect(
      afterCrash.every((e, i) => e.at >= t0 + CRASH_AT && (i === 0 || afterCrash[i - 1]!.at <= e.at)),
    ).toBe(true);
    await timeline.close();
    await a.timeline.close();
    await a2.timeline.close();
    await b.timeline.close();
  }, 60_000);
});
