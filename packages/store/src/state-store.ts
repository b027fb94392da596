import {
  catchRejection,
  describeKind,
  describeThrown,
  isPlainObject,
  printFault,
  refuseUnknownKeys,
  SystemError,
} from "@sluice/errors";
import { isUnsafeKey, UNSAFE_KEYS } from "./safe-assign.js";

/**
 * A synchronous state container holding one immutable snapshot.
 *
 * A snapshot once handed out (by `get`, `select`, to an updater or a listener) is shallowly frozen
 * and never changes: a `set` after that makes a new snapshot (nested values are shared by
 * reference and are not frozen: treat them as immutable too). Until the current snapshot has been
 * handed out, and while nobody subscribes, `set` writes into it, since nobody can tell.
 */
export interface StateStore<S extends object = Record<string, unknown>> {
  /** The current snapshot (frozen). After `dispose()` it still returns the last snapshot. */
  get(): Readonly<S>;
  /**
   * Merges `patch` (or what the updater returns for the current snapshot) shallowly into the state.
   * Only the patch's own enumerable string keys are copied; a patch must be a plain object (an
   * object literal, `Object.create(null)`, `JSON.parse` output, also from another realm), so it
   * inherits none. Patches are untrusted: keys `__proto__`, `constructor` and `prototype` are skipped. A key counts
   * as changed when it is new or its value differs by `Object.is`; if any key changed, the state
   * changes (into a new snapshot, once the current one has been handed out) and subscribers are
   * notified synchronously, otherwise nothing happens.
   * An updater may return `undefined` to change nothing.
   *
   * @throws SystemError `INVALID_INPUT` when the patch is not a plain object, or when reading it
   * throws (a Proxy trap, a getter: what it threw as `cause`, the keys read before it possibly
   * written); `DISPOSED` after `dispose()`. What an updater throws is thrown as it is.
   */
  set(patch: Partial<S> | ((current: Readonly<S>) => Partial<S>)): void;
  /** Applies `selector` to the current snapshot. */
  select<R>(selector: (state: Readonly<S>) => R): R;
  /**
   * Calls `listener(next, previous)` after every change. Returns an unsubscribe function (safe to
   * call twice, and during a notification). A listener that throws is reported (see
   * {@link StateStoreOptions.onError}) and never breaks `set` or other listeners. A `set` made by a
   * listener is delivered after the current notification round, so every listener sees changes in
   * order.
   *
   * @throws SystemError `DISPOSED` after `dispose()`.
   */
  subscribe(listener: (next: Readonly<S>, previous: Readonly<S>) => void): () => void;
  /** Drops all listeners; later `set`/`subscribe` throw `DISPOSED`. Idempotent. */
  dispose(): void;
  /** True once `dispose()` has been called. */
  readonly disposed: boolean;
  /** Always true: `set` throws `INVALID_INPUT` for a patch that is not a plain object. */
  readonly validatesPatches: true;
}

/** Options for {@link createStateStore} and {@link StoreRegistry}. A key it does not have is refused. */
export interface StateStoreOptions {
  /**
   * Called when a subscriber throws (or its promise rejects). Default: `console.error`. If it
   * throws or rejects itself, that goes to `console.error`.
   */
  onError?: (error: unknown) => void;
}

/** A patch whose reading threw (a Proxy trap, a getter): what it threw as `cause`. */
function unreadablePatch(thrown: unknown): SystemError {
  return new SystemError(
    "INVALID_INPUT",
    `stateStore.set: the patch could not be read (${describeThrown(thrown)}); pass a plain object whose fields can be read (no getters that throw, no Proxy objects)`,
    { cause: thrown },
  );
}

const OPTIONS: ReadonlySet<string> = new Set(["onError"]);
const NO_OPTIONS: StateStoreOptions = Object.freeze({});

/**
 * @internal Throws `INVALID_INPUT` for options that are not an object, have a key
 * {@link StateStoreOptions} does not (`createStateStore: options.freez is not an option (options:
 * onError)`), or an `onError` that is not a function. `caller` names the call.
 */
export function checkStoreOptions(options: unknown, caller: string): void {
  if (typeof options !== "object" || options === null) {
    throw new SystemError(
      "INVALID_INPUT",
      `${caller}: options must be an object { onError? } (got ${describeKind(options)})`,
    );
  }
  refuseUnknownKeys(options, OPTIONS, "options", { caller });
  const onError = (options as StateStoreOptions).onError;
  if (onError !== undefined && typeof onError !== "function") {
    throw new SystemError(
      "INVALID_INPUT",
      `${caller}: options.onError must be a function (got ${describeKind(onError)})`,
    );
  }
}

type Listener<S> = (next: Readonly<S>, previous: Readonly<S>) => void;

interface Subscription<S> {
  readonly listener: Listener<S>;
  active: boolean;
}

const NO_SUBSCRIPTIONS: ReadonlyArray<Subscription<any>> = Object.freeze([]);

function defaultOnError(error: unknown): void {
  console.error("[sluice/store] a state subscriber threw:", error);
}

function disposedError(method: string): SystemError {
  return new SystemError("DISPOSED", `stateStore.${method}: the store has been disposed; create a new one`);
}

class Store<S extends object> implements StateStore<S> {
  #state: Readonly<S>;
  // A snapshot is frozen when it is first handed out (get, select, an updater, a listener), not
  // when it is made. Until then nobody holds it, so `set` writes into it instead of copying it: a
  // run's steps write several patches in a row that nobody reads in between, and a copy per patch
  // (then a freeze per copy) was a fifth of a trivial run's cost.
  #frozen = false;
  // Subscriptions in subscription order. subscribe appends (a round in progress stops at the length
  // it started with, so it never reaches a subscriber added during it); unsubscribe only marks its
  // subscription inactive and, once most are, replaces the array by a compacted copy (a round in
  // progress keeps walking the old one). Copying the array on every subscribe and unsubscribe made
  // n of them cost n² (40 000 subscribers took 20 s to add).
  #subscriptions: Array<Subscription<any>> = NO_SUBSCRIPTIONS as Array<Subscription<any>>;
  /** Active subscriptions: `#subscriptions.length` minus those marked inactive but not yet dropped. */
  #listenerCount = 0;
  #disposed = false;
  #notifying = false;
  #queue: Array<Readonly<S>> | undefined;
  readonly #onError: (error: unknown) => void;
  readonly #onDispose: StoreDisposeHandler | undefined;
  /** Where the registry that made this store holds it, so leaving it needs no lookup by id. */
  #registryHandle = -1;

  /** @internal See {@link setRegistryHandle}. */
  static setRegistryHandle(store: Store<any>, handle: number): void {
    store.#registryHandle = handle;
  }

  constructor(
    initial: S,
    options: StateStoreOptions,
    onDispose: StoreDisposeHandler | undefined,
    takeInitial = false,
  ) {
    if (!isPlainObject(initial)) {
      throw new SystemError(
        "INVALID_INPUT",
        `createStateStore: the initial state must be a plain object (got ${describeKind(initial)})`,
      );
    }
    if (takeInitial && Object.isExtensible(initial)) {
      // Handed over (StoreCreateOptions.copy false): the object itself is the first snapshot. A copy
      // of a large state is what this saves (a 1M-key object costs V8 over a second to copy); its
      // unsafe keys are looked up, not searched for, so this costs the same for any size.
      const own = initial as Record<string, unknown>;
      for (let i = 0; i < UNSAFE_KEYS.length; i++) {
        if (Object.hasOwn(own, UNSAFE_KEYS[i]!)) delete own[UNSAFE_KEYS[i]!];
      }
      this.#state = initial;
    } else {
      const state: Record<string, unknown> = {};
      // for...in: a plain object's own enumerable keys (see set), without a key array
      for (const key in initial) if (!isUnsafeKey(key)) state[key] = initial[key];
      this.#state = state as Readonly<S>;
    }
    this.#onError = options.onError ?? defaultOnError;
    this.#onDispose = onDispose;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** `set` rejects a patch that is not a plain object (a pipeline run need not check it again). */
  get validatesPatches(): true {
    return true;
  }

  get(): Readonly<S> {
    return this.#exposed();
  }

  select<R>(selector: (state: Readonly<S>) => R): R {
    if (typeof selector !== "function") {
      throw new SystemError(
        "INVALID_INPUT",
        `stateStore.select: the selector must be a function (got ${describeKind(selector)})`,
      );
    }
    return selector(this.#exposed());
  }

  set(patch: Partial<S> | ((current: Readonly<S>) => Partial<S>)): void {
    if (this.#disposed) throw disposedError("set");
    const value: unknown = typeof patch === "function" ? patch(this.#exposed()) : patch;
    if (value === undefined && typeof patch === "function") return;
    let plain: boolean;
    try {
      plain = isPlainObject(value);
    } catch (thrown) {
      throw unreadablePatch(thrown);
    }
    if (!plain) {
      throw new SystemError(
        "INVALID_INPUT",
        `stateStore.set: the patch must be a plain object (got ${describeKind(value)})`,
      );
    }
    const patchObject = value as Record<string, unknown>;
    const previous = this.#state as Record<string, unknown>;
    let next: Record<string, unknown>;
    // Reading the patch may throw (a Proxy trap, a getter): a try costs nothing until it does.
    try {
      // for...in over a plain object visits its own enumerable string keys (its prototype is
      // Object.prototype of some realm, or null: isPlainObject refuses any other prototype, whose
      // enumerable keys for...in would visit and the spread below would not) without allocating a
      // key array.
      if (!this.#frozen && this.#listenerCount === 0) {
        // Nobody has seen the current snapshot and nobody listens for the change: write into it.
        for (const key in patchObject) if (!isUnsafeKey(key)) previous[key] = patchObject[key];
        return;
      }
      let changed = false;
      let safe = true;
      for (const key in patchObject) {
        if (isUnsafeKey(key)) {
          safe = false;
          continue;
        }
        if (!changed && (!Object.is(previous[key], patchObject[key]) || !Object.hasOwn(previous, key)))
          changed = true;
      }
      if (!changed) return;
      if (safe) {
        next = { ...previous, ...patchObject };
      } else {
        next = { ...previous };
        for (const key of Object.keys(patchObject)) if (!isUnsafeKey(key)) next[key] = patchObject[key];
      }
    } catch (thrown) {
      throw unreadablePatch(thrown);
    }
    this.#state = next as Readonly<S>;
    this.#frozen = false;
    if (this.#listenerCount > 0) {
      if (!Object.isFrozen(previous)) Object.freeze(previous);
      this.#notify(this.#exposed(), previous as Readonly<S>);
    }
  }

  /** The current snapshot, frozen now if this is the first time it leaves the store. */
  #exposed(): Readonly<S> {
    if (!this.#frozen) {
      Object.freeze(this.#state);
      this.#frozen = true;
    }
    return this.#state;
  }

  subscribe(listener: Listener<S>): () => void {
    if (this.#disposed) throw disposedError("subscribe");
    if (typeof listener !== "function") {
      throw new SystemError(
        "INVALID_INPUT",
        `stateStore.subscribe: the listener must be a function (got ${describeKind(listener)})`,
      );
    }
    const subscription: Subscription<S> = { listener, active: true };
    if (this.#subscriptions === NO_SUBSCRIPTIONS) this.#subscriptions = [subscription];
    else this.#subscriptions.push(subscription);
    this.#listenerCount++;
    return () => {
      if (!subscription.active) return;
      subscription.active = false;
      this.#listenerCount--;
      this.#dropInactive();
    };
  }

  /**
   * Replaces the subscriptions by the active ones once at least half are inactive, so unsubscribing
   * costs O(1) amortized. A new array, never compacted in place: a round in progress walks the old.
   */
  #dropInactive(): void {
    const subscriptions = this.#subscriptions;
    if (this.#listenerCount === 0) this.#subscriptions = NO_SUBSCRIPTIONS as Array<Subscription<any>>;
    else if (this.#listenerCount * 2 <= subscriptions.length) {
      this.#subscriptions = subscriptions.filter((s) => s.active);
    }
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    const subscriptions = this.#subscriptions;
    if (subscriptions.length > 0) {
      for (let i = 0; i < subscriptions.length; i++) subscriptions[i]!.active = false;
      this.#subscriptions = NO_SUBSCRIPTIONS as Array<Subscription<any>>;
      this.#listenerCount = 0;
    }
    this.#queue = undefined;
    this.#onDispose?.(this, this.#registryHandle);
  }

  #notify(next: Readonly<S>, previous: Readonly<S>): void {
    if (this.#notifying) {
      // Re-entrant set from a listener: deliver after the current round, in order.
      (this.#queue ??= []).push(previous, next);
      return;
    }
    this.#notifying = true;
    try {
      this.#deliver(next, previous);
      // Read by index, not shift(): shifting a long queue moves every element after the head, so n
      // sets made by listeners in one round cost n² (100 000 took 4 s).
      for (let head = 0; this.#queue !== undefined && head < this.#queue.length; head += 2) {
        const queue = this.#queue;
        this.#deliver(queue[head + 1]!, queue[head]!);
      }
    } finally {
      this.#notifying = false;
      this.#queue = undefined;
    }
  }

  #deliver(next: Readonly<S>, previous: Readonly<S>): void {
    const subscriptions = this.#subscriptions;
    // the length now: a subscriber added during this round is appended past it
    const length = subscriptions.length;
    for (let i = 0; i < length; i++) {
      const subscription = subscriptions[i]!;
      if (!subscription.active) continue;
      try {
        const out: unknown = subscription.listener(next, previous);
        // an async listener that fails rejects: reported as a throw, never an unhandled rejection
        // (the closure only for a listener that returned something: a store is made per run)
        if (out !== undefined) catchRejection(out, (error) => this.#report(error));
      } catch (error) {
        this.#report(error);
      }
    }
  }

  /** Tells `onError` of a listener's fault; never throws, and leaves no unhandled rejection. */
  #report(error: unknown): void {
    try {
      const out: unknown = this.#onError(error);
      if (out !== undefined) catchRejection(out, printOnErrorRejected);
    } catch (reportError) {
      // (the default onError's console.error can throw on such a value too: printFault cannot)
      printFault("[sluice/store] onError threw:", reportError);
    }
  }
}

/** Where an `async` onError that failed goes: as one that throws, to the console. */
function printOnErrorRejected(reportError: unknown): void {
  printFault("[sluice/store] onError rejected:", reportError);
}

/**
 * @internal Told by a registered store when it is disposed, with the handle its registry gave it.
 * One handler per registry serves all its stores, so registering a store allocates no closure.
 */
export type StoreDisposeHandler = (store: StateStore<any>, handle: number) => void;

/** @internal used by StoreRegistry so a store disposed directly also leaves the registry. */
export function createRegisteredStore<S extends object>(
  initial: S,
  options: StateStoreOptions,
  onDispose: StoreDisposeHandler,
  takeInitial: boolean,
): StateStore<S> {
  return new Store(initial, options, onDispose, takeInitial);
}

/** @internal Tells a store made by `createRegisteredStore` where its registry holds it. */
export function setRegistryHandle(store: StateStore<any>, handle: number): void {
  Store.setRegistryHandle(store as Store<any>, handle);
}

/**
 * Creates a {@link StateStore} holding a copy of `initial` (its unsafe keys skipped).
 *
 * @throws SystemError `INVALID_INPUT` when `initial` is not a plain object, or for bad or unknown
 * `options` (`createStateStore: options.freez is not an option (options: onError)`).
 * @example
 * ```ts
 * const store = createStateStore({ count: 0 });
 * store.subscribe((next, prev) => console.log(prev.count, "->", next.count));
 * store.set((s) => ({ count: s.count + 1 }));
 * ```
 */
export function createStateStore<S extends object>(
  initial: S,
  options: StateStoreOptions = NO_OPTIONS,
): StateStore<S> {
  if (options !== NO_OPTIONS) checkStoreOptions(options, "createStateStore");
  return new Store(initial, options, undefined);
}
