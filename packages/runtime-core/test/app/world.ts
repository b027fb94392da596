// The world an order system lives in, faked in memory for the end-to-end trial
// (app.trial.test.ts): a database the processes connect to, a payment gateway that fails now and
// then, a carrier, and a seeded random source. Everything here outlives a process restart, as real
// databases and providers do; what a crash loses is the process (its runtime, timers, connection).
// All latency is `setTimeout`, so the test's fake clock drives it.

/** A seeded PRNG (mulberry32): the same seed gives the same orders, failures and delays. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Waits `ms` (on whatever clock `setTimeout` is), rejecting early when `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export type Outcome = "shipped" | "refunded" | "cancelled";

export interface OrderRow {
  orderId: string;
  customerId: string;
  sku: string;
  qty: number;
  amount: number;
  outcome?: Outcome;
  /** Set by the shipping workflow, atomically with the check that the order is not cancelled. */
  shipmentCommitted?: boolean;
}

export interface LedgerEntry {
  orderId: string;
  kind: "charge" | "refund";
  amount: number;
  balance: number;
}

/**
 * The shared database. Writes that break a business rule are not thrown at the caller only: they
 * are recorded in `violations`, which the test expects to stay empty (a workflow may catch what it
 * is thrown).
 */
export class FakeDb {
  readonly orders = new Map<string, OrderRow>();
  readonly stock = new Map<string, number>();
  readonly reservations = new Map<string, number>();
  readonly ledger: LedgerEntry[] = [];
  balance = 0;
  /** Saved run checkpoints (JSON text) by run id: the crash-survival recipe of docs/pause-and-resume.md. */
  readonly checkpoints = new Map<string, string>();
  readonly outbox: { orderId: string; outcome: Outcome }[] = [];
  /** The order API's table: which run carries each order (from `onDispatch`). */
  readonly orderRuns = new Map<string, string>();
  readonly notified: string[] = [];
  readonly restocks: { sku: string; qty: number; at: number }[] = [];
  readonly reindexes: { startedAt: number; endedAt: number; version: number }[] = [];
  catalogVersion = 0;
  readonly violations: string[] = [];

  connect(name: string): DbClient {
    return new DbClient(this, name);
  }

  violation(message: string): never {
    this.violations.push(message);
    throw new Error(message);
  }
}

/** One process's connection. A crashed process's connection is closed: its writes fail. */
export class DbClient {
  private open = true;
  constructor(
    private readonly db: FakeDb,
    readonly name: string,
  ) {}

  close(): void {
    this.open = false;
  }

  private get live(): FakeDb {
    if (!this.open) throw new Error(`db connection ${this.name} is closed`);
    return this.db;
  }

  async insertOrder(row: OrderRow): Promise<void> {
    const db = this.live;
    if (db.orders.has(row.orderId)) db.violation(`order ${row.orderId} inserted twice`);
    db.orders.set(row.orderId, { ...row });
  }

  async order(orderId: string): Promise<OrderRow | undefined> {
    const row = this.live.orders.get(orderId);
    return row && { ...row };
  }

  /** Sets an order's outcome, once: a second outcome is a violation. */
  async setOutcome(orderId: string, outcome: Outcome): Promise<void> {
    const db = this.live;
    const row = db.orders.get(orderId) ?? db.violation(`no order ${orderId}`);
    if (row.outcome !== undefined) db.violation(`order ${orderId} is ${row.outcome}, then ${outcome}`);
    row.outcome = outcome;
    db.outbox.push({ orderId, outcome });
  }

  /** The cancel API's conditional update: refused once shipping committed or an outcome is set. */
  tryCancel(orderId: string): boolean {
    const row = this.live.orders.get(orderId);
    if (row === undefined || row.outcome !== undefined || row.shipmentCommitted) return false;
    row.outcome = "cancelled";
    this.db.outbox.push({ orderId, outcome: "cancelled" });
    return true;
  }

  /** The shipping workflow's conditional update: refused for a cancelled order. */
  async commitShipment(orderId: string): Promise<boolean> {
    const row = this.live.orders.get(orderId);
    if (row === undefined || row.outcome === "cancelled") return false;
    if (row.shipmentCommitted) this.db.violation(`order ${orderId} committed to shipping twice`);
    row.shipmentCommitted = true;
    return true;
  }

  async reserve(orderId: string, sku: string, qty: number): Promise<{ ok: boolean; left: number }> {
    const db = this.live;
    const left = db.stock.get(sku) ?? 0;
    if (left < qty) return { ok: false, left };
    db.stock.set(sku, left - qty);
    db.reservations.set(orderId, qty);
    db.catalogVersion++;
    return { ok: true, left: left - qty };
  }

  async release(orderId: string, sku: string): Promise<void> {
    const db = this.live;
    const qty = db.reservations.get(orderId);
    if (qty === undefined) return;
    db.reservations.delete(orderId);
    db.stock.set(sku, (db.stock.get(sku) ?? 0) + qty);
    db.catalogVersion++;
  }

  async restock(sku: string, qty: number): Promise<void> {
    const db = this.live;
    db.stock.set(sku, (db.stock.get(sku) ?? 0) + qty);
    db.restocks.push({ sku, qty, at: Date.now() });
    db.catalogVersion++;
  }

  async readBalance(): Promise<number> {
    return this.live.balance;
  }

  /**
   * Appends a ledger entry computed from a balance read earlier (read-modify-write, as a ledger
   * keeping running balances does). A balance that moved meanwhile is a lost update: a violation.
   */
  async appendLedger(entry: Omit<LedgerEntry, "balance">, balanceRead: number): Promise<void> {
    const db = this.live;
    if (balanceRead !== db.balance) {
      db.violation(`ledger: lost update (read ${balanceRead}, balance is ${db.balance})`);
    }
    const delta = entry.kind === "charge" ? entry.amount : -entry.amount;
    db.balance = balanceRead + delta;
    db.ledger.push({ ...entry, balance: db.balance });
  }

  recordRun(orderId: string, runId: string): void {
    this.live.orderRuns.set(orderId, runId);
  }

  async recordNotification(orderId: string): Promise<void> {
    this.live.notified.push(orderId);
  }

  async saveCheckpoint(runId: string, json: string): Promise<void> {
    this.live.checkpoints.set(runId, json);
  }

  async deleteCheckpoint(runId: string): Promise<void> {
    this.live.checkpoints.delete(runId);
  }

  async savedCheckpoints(): Promise<string[]> {
    return [...this.live.checkpoints.values()];
  }

  async recordReindex(entry: { startedAt: number; endedAt: number; version: number }): Promise<void> {
    const db = this.live;
    const last = db.reindexes[db.reindexes.length - 1];
    if (last !== undefined && last.endedAt > entry.startedAt) db.violation("two re-indexes overlapped");
    db.reindexes.push(entry);
  }

  async catalogVersion(): Promise<number> {
    return this.live.catalogVersion;
  }
}

/**
 * A payment provider: charges and refunds are idempotent by order id (the idempotency key a real
 * provider takes), and a call fails (503) or hangs now and then. A declined card always fails.
 */
export class FakeGateway {
  readonly charges = new Map<string, number>();
  readonly refunds = new Map<string, number>();
  /** Every call's base URL, to check which env layer each workflow read. */
  readonly calls: { url: string; op: "charge" | "refund" }[] = [];

  constructor(
    private readonly random: () => number,
    private readonly declined: Set<string>,
  ) {}

  async charge(
    url: string,
    orderId: string,
    customerId: string,
    amount: number,
    signal: AbortSignal,
  ): Promise<string> {
    this.calls.push({ url, op: "charge" });
    const roll = this.random();
    await sleep(20, signal);
    if (this.declined.has(customerId)) throw new Error(`card of ${customerId} declined`);
    if (roll < 0.25) throw new Error("gateway: 503 service unavailable");
    if (roll < 0.35) await sleep(60_000, signal); // hangs until the step's timeout
    if (!this.charges.has(orderId)) this.charges.set(orderId, amount);
    return `ch_${orderId}`;
  }

  /** Refunds what was charged for the order, once; 0 when nothing (more) is to refund. */
  async refund(url: string, orderId: string): Promise<number> {
    this.calls.push({ url, op: "refund" });
    await sleep(10);
    const charged = this.charges.get(orderId);
    if (charged === undefined || this.refunds.has(orderId)) return 0;
    this.refunds.set(orderId, charged);
    return charged;
  }
}

/** A carrier: addresses in Atlantis are undeliverable; booking an order twice is a violation. */
export class FakeCarrier {
  readonly bookings = new Map<string, string>();
  constructor(private readonly db: FakeDb) {}

  async book(orderId: string, address: string): Promise<string> {
    await sleep(30);
    if (address.includes("Atlantis")) throw new Error(`carrier: cannot deliver to ${address}`);
    if (this.bookings.has(orderId)) this.db.violation(`order ${orderId} shipped twice`);
    this.bookings.set(orderId, address);
    return `trk_${orderId}`;
  }
}
