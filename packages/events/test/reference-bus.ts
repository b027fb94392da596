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
  /** An unsubscribe during a delivery only skips the handler for the rest of that delivery. */
  offOnlyForThisDelivery?: boolean;
  /** Deferred delivery to the handlers subscribed when the event was emitted, unsubscribed since or not. */
  snapshotAtEmit?: boolean;
  /** Deferred; an unsubscribe first delivers the events still pending for that handler. */
  flushesOnUnsubscribe?: boolean;
  /** Never decrements listenerCount. */
  leakyCount?: boolean;
  /** Accepts any type, `"*"` included, and any handler. */
  noValidation?: boolean;
  /** Treats NATS (`*`, `>`) and MQTT (`+`, `#`) characters in a subscribed type as patterns. */
  patternTypes?: boolean;
  /** Deferred, sharded by type: order holds within a type, not across types on different shards. */
  shardedByType?: boolean;
  /** Deferred; a new subscription is first sent the events of its type delivered before it. */
  replays?: boolean;
  /** Deferred; object payloads are decoded into one pooled object, cleared and refilled per event. */
  recycles?: boolean;
  /** Deferred; object payloads arrive as instances of a class (as a protobuf decoder gives them). */
  classInstances?: boolean;
  /** Sends payloads as JSON without care for `undefined`: it arrives as `null`. */
  undefinedAsNull?: boolean;
  /** Drops events emitted while a delivery runs. */
  dropsNested?: boolean;
  /**
   * Keeps one list of subscriptions that unsubscribe splices in place, and walks it live by index
   * during a delivery (typed handlers, then wildcard ones): removing a handler at or before the one
   * being called shifts the next one under the index, and it is skipped.
   */
  splicesInPlace?: boolean;
  /** Delivers to wildcard handlers before typed ones. */
  wildcardFirst?: boolean;
  /** The transport this bus shares with its peers (deferred delivery); none: the bus stands alone. */
  hub?: ReferenceHub;
  /** With a hub: sends to the peers only, never to its own handlers. */
  noOwnDelivery?: boolean;
  /** With a hub: never sends to the peers (everything stays local). */
  localOnly?: boolean;
  /**
   * With a hub: delivers its own events to its own handlers 20 ms later than to its peers, so that
   * what a peer emits in answer to one arrives first.
   */
  lateOwnDelivery?: boolean;
}

/** Buses that share events, as connections to one broker do. */
export type ReferenceHub = Set<(type: string, payload: unknown) => void>;

interface Subscription {
  type: string;
  handler: (...args: unknown[]) => void;
  live: boolean;
  /** For offOnlyForThisDelivery: skipped until the current delivery ends. */
  skipped: boolean;
}

class Message {
  [key: string]: unknown;
}

function patternMatches(pattern: string, type: string): boolean {
  if (!/[*>+#]/.test(pattern)) return false;
  const p = pattern.split(".");
  const t = type.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">" || p[i] === "#") return t.length > i;
    if (i >= t.length || (p[i] !== "*" && p[i] !== "+" && p[i] !== t[i])) return false;
  }
  return p.length === t.length;
}

export function createReferenceBus(faults: ReferenceBusFaults = {}): EventBus {
  let subscriptions: Subscription[] = [];
  // every subscription ever made, for the leakyCount fault
  const ever: Subscription[] = [];
  const history: Array<[string, unknown]> = [];
  const pool = new Message();
  let delivering = false;
  let queue: Array<[string, unknown, Subscription[]]> = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deferred =
    faults.deferred === true ||
    faults.snapshotAtEmit === true ||
    faults.shardedByType === true ||
    faults.replays === true ||
    faults.recycles === true ||
    faults.classInstances === true ||
    faults.flushesOnUnsubscribe === true ||
    faults.hub !== undefined;

  const matches = (sub: Subscription, type: string): boolean =>
    sub.type === type || (faults.patternTypes === true && patternMatches(sub.type, type));

  const decode = (payload: unknown): unknown => {
    if (faults.undefinedAsNull === true) return JSON.parse(JSON.stringify(payload) ?? "null");
    if (typeof payload !== "object" || payload === null || Array.isArray(payload)) return payload;
    if (faults.recycles === true) {
      for (const key of Object.keys(pool)) delete pool[key];
      return Object.assign(Object.setPrototypeOf(pool, Object.prototype), structuredClone(payload));
    }
    if (faults.classInstances === true) return Object.assign(new Message(), structuredClone(payload));
    return payload;
  };

  const call = (sub: Subscription, type: string, payload: unknown): void => {
    try {
      if (sub.type === "*") sub.handler(type, payload);
      else sub.handler(payload);
    } catch (error) {
      if (faults.rethrows === true) throw error;
    }
  };

  const deliver = (type: string, payload: unknown, snapshot: Subscription[]): void => {
    if (faults.splicesInPlace === true) {
      const decoded = decode(payload);
      history.push([type, payload]);
      delivering = true;
      try {
        for (let i = 0; i < subscriptions.length; i++) {
          const sub = subscriptions[i]!;
          if (sub.type !== "*" && matches(sub, type)) call(sub, type, decoded);
        }
        for (let i = 0; i < subscriptions.length; i++) {
          const sub = subscriptions[i]!;
          if (sub.type === "*") call(sub, type, decoded);
        }
      } finally {
        delivering = false;
      }
      return;
    }
    const typed = snapshot.filter((sub) => sub.type !== "*" && matches(sub, type));
    const wildcard = snapshot.filter((sub) => sub.type === "*");
    const order = faults.wildcardFirst === true ? [...wildcard, ...typed] : [...typed, ...wildcard];
    const decoded = decode(payload);
    history.push([type, payload]);
    delivering = true;
    try {
      for (const sub of order) {
        if (sub.skipped) continue;
        if (!sub.live && faults.noLivenessCheck !== true && faults.snapshotAtEmit !== true) continue;
        call(sub, type, decoded);
      }
    } finally {
      delivering = false;
      for (const sub of order) sub.skipped = false;
    }
  };

  const shard = (type: string): number => {
    let hash = 0;
    for (let i = 0; i < type.length; i++) hash = (hash * 31 + type.charCodeAt(i)) >>> 0;
    return hash % 4;
  };

  const flush = (): void => {
    timer = undefined;
    let batch = queue;
    queue = [];
    if (faults.shardedByType === true)
      batch = [0, 1, 2, 3].flatMap((s) => batch.filter(([t]) => shard(t) === s));
    for (const [type, payload, snapshot] of batch)
      deliver(type, payload, faults.snapshotAtEmit === true ? snapshot : subscriptions);
  };

  const later = (run: () => void): void => {
    setTimeout(run, 0);
  };

  const checkType = (type: unknown): void => {
    if (faults.noValidation === true) return;
    if (typeof type !== "string" || type.length === 0)
      throw new SystemError("INVALID_INPUT", "bad event type");
  };

  function enqueue(type: string, payload: unknown): void {
    queue.push([type, payload, subscriptions]);
    if (timer === undefined) timer = setTimeout(flush, 0);
  }
  faults.hub?.add(enqueue);

  function remove(sub: Subscription): void {
    if (!sub.live) return;
    if (faults.offOnlyForThisDelivery === true && delivering) {
      sub.skipped = true;
      return;
    }
    if (faults.flushesOnUnsubscribe === true) {
      for (const [type, payload] of queue)
        if (matches(sub, type) || sub.type === "*") call(sub, type, decode(payload));
    }
    sub.live = false;
    if (faults.splicesInPlace === true) subscriptions.splice(subscriptions.indexOf(sub), 1);
    else subscriptions = subscriptions.filter((other) => other !== sub);
  }

  return {
    emit(type: string, payload: unknown): void {
      checkType(type);
      if (faults.noValidation !== true && type === "*")
        throw new SystemError("INVALID_INPUT", '"*" cannot be emitted');
      if (faults.dropsNested === true && delivering) return;
      if (!deferred) {
        deliver(type, payload, subscriptions);
        return;
      }
      if (faults.hub !== undefined) {
        if (faults.lateOwnDelivery === true) setTimeout(() => enqueue(type, payload), 20);
        else if (faults.noOwnDelivery !== true) enqueue(type, payload);
        if (faults.localOnly !== true)
          for (const peer of faults.hub) if (peer !== enqueue) peer(type, payload);
        return;
      }
      enqueue(type, payload);
    },
    on(type: string, handler: (...args: any[]) => void): () => void {
      checkType(type);
      if (faults.noValidation !== true && typeof handler !== "function")
        throw new SystemError("INVALID_INPUT", "bad handler");
      if (faults.setOfHandlers === true) {
        const existing = subscriptions.find((sub) => sub.type === type && sub.handler === handler);
        if (existing !== undefined) return () => remove(existing);
      }
      const sub: Subscription = { type, handler, live: true, skipped: false };
      if (faults.splicesInPlace === true) subscriptions.push(sub);
      else subscriptions = [...subscriptions, sub];
      ever.push(sub);
      if (faults.replays === true) {
        const past = history.filter(([t]) => type === "*" || t === type);
        later(() => {
          for (const [t, payload] of past) if (sub.live) call(sub, t, decode(payload));
        });
      }
      return () => remove(sub);
    },
    listenerCount(type?: string): number {
      const counted = faults.leakyCount === true ? ever : subscriptions;
      return counted.filter((sub) => type === undefined || sub.type === type).length;
    },
  } as EventBus;
}
