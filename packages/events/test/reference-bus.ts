// A small EventBus written against the contract, with switchable faults: the conformance suite's
// own test checks that each fault fails the case for the rule it breaks.
import { SystemError } from "@sluice/errors";
import type { EventBus } from "../src/index.js";

/** Ways to break the contract, one rule each. */
export interface ReferenceBusFaults {
  /** Delivers a macrotask later (not a fault: the async shape every case must allow). */
  deferred?: boolean;
  /** Lets a handler's throw out of the delivery loop (and so out of a synchronous emit). */
  rethrows?: boolean;
  /** Keeps subscriptions in a Set of functions: the same function subscribed twice is one. */
  setOfHandlers?: boolean;
  /** Calls every handler of the snapshot taken when delivery began, unsubscribed or not. */
  noLivenessCheck?: boolean;
  /** Deferred delivery to the handlers subscribed when the event was emitted, unsubscribed since or not. */
  snapshotAtEmit?: boolean;
  /** Never decrements listenerCount. */
  leakyCount?: boolean;
  /** Accepts any type, `"*"` included, and any handler. */
  noValidation?: boolean;
  /** Treats a trailing `.*` in a subscribed type as a pattern (as a naive NATS mapping would). */
  patternTypes?: boolean;
  /** Deferred delivery that takes every "y" event before the "x" ones of a batch. */
  reorders?: boolean;
  /** Sends payloads as JSON without care for `undefined`: it arrives as `null`. */
  undefinedAsNull?: boolean;
  /** Drops events emitted while a delivery runs. */
  dropsNested?: boolean;
  /** Delivers to wildcard handlers before typed ones. */
  wildcardFirst?: boolean;
}

interface Subscription {
  type: string;
  handler: (...args: unknown[]) => void;
  live: boolean;
}

export function createReferenceBus(faults: ReferenceBusFaults = {}): EventBus {
  let subscriptions: Subscription[] = [];
  // every subscription ever made, for the leakyCount fault
  const ever: Subscription[] = [];
  let delivering = false;
  let queue: Array<[string, unknown, Subscription[]]> = [];
  let timer: ReturnType<typeof setTimeout> | undefined;

  const matches = (sub: Subscription, type: string): boolean =>
    sub.type === type ||
    (faults.patternTypes === true && sub.type.endsWith(".*") && type.startsWith(sub.type.slice(0, -1)));

  const deliver = (type: string, payload: unknown, snapshot: Subscription[]): void => {
    const typed = snapshot.filter((sub) => sub.type !== "*" && matches(sub, type));
    const wildcard = snapshot.filter((sub) => sub.type === "*");
    const order = faults.wildcardFirst === true ? [...wildcard, ...typed] : [...typed, ...wildcard];
    const copy = (): unknown =>
      faults.undefinedAsNull === true ? JSON.parse(JSON.stringify(payload) ?? "null") : payload;
    delivering = true;
    try {
      for (const sub of order) {
        if (!sub.live && faults.noLivenessCheck !== true && faults.snapshotAtEmit !== true) continue;
        try {
          if (sub.type === "*") sub.handler(type, copy());
          else sub.handler(copy());
        } catch (error) {
          if (faults.rethrows === true) throw error;
        }
      }
    } finally {
      delivering = false;
    }
  };

  const flush = (): void => {
    timer = undefined;
    let batch = queue;
    queue = [];
    if (faults.reorders === true)
      batch = [...batch.filter(([t]) => t === "y"), ...batch.filter(([t]) => t !== "y")];
    for (const [type, payload, snapshot] of batch)
      deliver(type, payload, faults.snapshotAtEmit === true ? snapshot : subscriptions);
  };

  const checkType = (type: unknown): void => {
    if (faults.noValidation === true) return;
    if (typeof type !== "string" || type.length === 0)
      throw new SystemError("INVALID_INPUT", "bad event type");
  };

  return {
    emit(type: string, payload: unknown): void {
      checkType(type);
      if (faults.noValidation !== true && type === "*")
        throw new SystemError("INVALID_INPUT", '"*" cannot be emitted');
      if (faults.dropsNested === true && delivering) return;
      const deferred = faults.deferred === true || faults.snapshotAtEmit === true || faults.reorders === true;
      if (!deferred) {
        deliver(type, payload, subscriptions);
        return;
      }
      queue.push([type, payload, subscriptions]);
      if (timer === undefined) timer = setTimeout(flush, 0);
    },
    on(type: string, handler: (...args: any[]) => void): () => void {
      checkType(type);
      if (faults.noValidation !== true && typeof handler !== "function")
        throw new SystemError("INVALID_INPUT", "bad handler");
      if (faults.setOfHandlers === true) {
        const existing = subscriptions.find((sub) => sub.type === type && sub.handler === handler);
        if (existing !== undefined) return () => remove(existing);
      }
      const sub: Subscription = { type, handler, live: true };
      subscriptions = [...subscriptions, sub];
      ever.push(sub);
      return () => remove(sub);
    },
    listenerCount(type?: string): number {
      const counted = faults.leakyCount === true ? ever : subscriptions;
      return counted.filter((sub) => type === undefined || sub.type === type).length;
    },
  } as EventBus;

  function remove(sub: Subscription): void {
    if (!sub.live) return;
    sub.live = false;
    subscriptions = subscriptions.filter((other) => other !== sub);
  }
}
