import { describeKind, SystemError } from "@sluice/errors";
import type { StateStore } from "@sluice/store";
import { readBundle, restoreEntry, writeBundle } from "./bundle.js";
import { type PendingCleanup, runCleanupBatch } from "./cleanups.js";
import { describeContainer } from "./debug-info.js";
import { disposeContainer } from "./disposal.js";
import { disposedError, failure, valueOrThrow } from "./errors.js";
import { assertSubscription, EventHub } from "./events.js";
import { DependencyContext, type FactoryContext } from "./factory-context.js";
import { fallsBackTo, lookup, notFound } from "./fallback.js";
import { invalidateSlot } from "./invalidation.js";
import { ArtifactWatcher } from "./observer.js";
import type { ArtifactRecord, Slot } from "./records.js";
import { addRecord, buildEager } from "./registration.js";
import { resolveRecord } from "./resolution.js";
import { readState, select } from "./state-tracking.js";
import type {
  ArtifactBundle,
  ArtifactContainerOptions,
  ArtifactObserver,
  ArtifactTemplate,
  ContainerDebugInfo,
  ContainerEventMap,
  ContainerEventName,
  DisposeOptions,
  ResolveResult,
  ScopeOptions,
  UseDependencyContext,
} from "./types.js";
import {
  assertKey,
  assertOptions,
  assertParam,
  disposeOptionsError,
  useCallbackError,
  validateTemplate,
} from "./validate.js";

/** The keys of each options object (a misspelt one is refused with the list, not ignored). */
const CONTAINER_OPTIONS: ReadonlySet<string> = new Set(["store", "name", "runId", "onError"]);

/** Whether `options` is an object whose own keys are all container options (false if unreadable). */
function hasOnlyContainerOptions(options: object): boolean {
  if (typeof options !== "object" || options === null) return false;
  try {
    for (const key in options) {
      switch (key) {
        case "store":
        case "name":
        case "runId":
        case "onError":
          continue;
      }
      if (Object.hasOwn(options, key)) return false;
    }
    return true;
  } catch {
    return false;
  }
}
const FROM_OPTIONS: ReadonlySet<string> = new Set(["name", "runId", "onError"]);
const SCOPE_OPTIONS: ReadonlySet<string> = new Set(["store", "runId"]);
const REGISTER_OPTIONS: ReadonlySet<string> = new Set(["override"]);
const HAS_OPTIONS: ReadonlySet<string> = new Set(["own"]);
const INVALIDATE_OPTIONS: ReadonlySet<string> = new Set(["rebuild"]);

/**
 * An async dependency-injection container. Templates are registered under string keys; resolving
 * a key builds the artifact with its factory (tracking what the factory reads), caches singletons,
 * and falls back to parent containers for keys it does not own. A singleton owned by a parent is
 * built and cached in the parent, against the parent's store.
 *
 * @example
 * ```ts
 * const app = new ArtifactContainer({ name: "app" });
 * app.register({ key: "config", factory: () => ({ url: "https://api" }) });
 * app.register({ key: "api", factory: async (ctx) => new Api(await ctx.require("config")) });
 * const api = await app.require<Api>("api");
 * await app.dispose();
 * ```
 */
export class ArtifactContainer<S extends object = any> {
  /** Name used in messages, events and `debugInfo()`. */
  readonly name: string;
  /** Passed to factories as `ctx.runId`. */
  readonly runId: string | undefined;
  /** @internal */
  readonly _store: StateStore<S> | undefined;
  /** @internal */
  readonly _onError: ((error: SystemError) => void) | undefined;

  // Everything below is allocated on first need: a run creates one container, most never watch,
  // listen, select or extend more than once. The modules next to this one (resolution,
  // invalidation, disposal, ...) read and write the `@internal` fields.

  /** @internal the records registered here; moved to `_retiredRecords` by `dispose()`. */
  _records: Map<string, ArtifactRecord> | undefined = undefined;
  /** @internal the containers this one falls back to, in `extend()` order. */
  _parents: ArtifactContainer<any>[] | undefined = undefined;
  /** @internal created by the first `on()`. */
  _events: EventHub | undefined = undefined;
  /** @internal the live child scopes, disposed with this container. */
  _scopes: Set<ArtifactContainer<any>> | undefined = undefined;
  /** @internal the slots holding a tracked `select()` read of this container's store. */
  _selecting: Set<Slot> | undefined = undefined;
  /** @internal set while subscribed to the store, that is while `_selecting` is not empty. */
  _unsubscribeStore: (() => void) | undefined = undefined;
  /**
   * @internal cleanups under way (started by an invalidation) of instances built from artifacts
   * owned here: disposal waits for them before cleaning those artifacts.
   */
  _cleaning: Set<Promise<void>> | undefined = undefined;
  /** @internal what `use()` hands out, created on its first call. */
  _depsContext: DependencyContext | undefined = undefined;
  /** What `dispose()` returns; `null` while it runs the synchronous start of the disposal. */
  private disposal: Promise<void> | null | undefined = undefined;
  /** Settles the promise a re-entrant `dispose()` handed out with the disposal's own promise. */
  private adoptDisposal: ((disposal: Promise<void>) => void) | undefined = undefined;
  /** @internal the records after `dispose()`, so `debugInfo()` still shows them. */
  _retiredRecords: Map<string, ArtifactRecord> | undefined = undefined;
  /** @internal how many instances became ready here: orders disposal. */
  _readySeq = 0;
  /** @internal */
  _disposed = false;

  /** Creates an empty container. Cheap: no maps, listeners or subscriptions until needed. */
  constructor(options?: ArtifactContainerOptions<S>) {
    // A runtime makes a container per run: the common case is checked without a lookup per key.
    if (options !== undefined && !hasOnlyContainerOptions(options)) {
      assertOptions(options, CONTAINER_OPTIONS, "new ArtifactContainer");
    }
    this.name = options?.name ?? "container";
    this.runId = options?.runId;
    this._store = options?.store;
    this._onError = options?.onError;
  }

  /** True once `dispose()` has been called. */
  get disposed(): boolean {
    return this._disposed;
  }

  /**
   * Registers a template. Throws `DUPLICATE_KEY` when the key is taken here (unless
   * `override: true`, which disposes the old instances and invalidates their dependents),
   * `INVALID_DEFINITION` naming the bad field, `DISPOSED` after `dispose()`. An eager template
   * (`lazy: false`) starts building now; its failure is reported through `build:error`.
   */
  register<T>(template: ArtifactTemplate<T, S>, options?: { override?: boolean }): void {
    this.assertLive("register");
    validateTemplate(template);
    assertOptions(options, REGISTER_OPTIONS, "register");
    addRecord(this, template as ArtifactTemplate<unknown>, options?.override === true, true);
  }

  /**
   * Whether `key` is registered here or, unless `own: true`, in a parent. Never builds.
   * Throws `INVALID_INPUT` for a bad key; `false` after `dispose()`.
   */
  has(key: string, options?: { own?: boolean }): boolean {
    assertKey(key, "has");
    assertOptions(options, HAS_OPTIONS, "has");
    if (this._disposed) return false;
    if (options?.own === true) return this._records?.has(key) === true;
    return lookup(this, key) !== undefined;
  }

  /**
   * Resolves an artifact: a cached singleton, the in-flight build every concurrent caller shares, or
   * a new build. Keys not registered here are looked up in the parents, in `extend()` order.
   * Never rejects: failures (`NOT_FOUND`, `TIMEOUT`, `FACTORY_FAILED`, …) come back as
   * `{ ok: false, error }`.
   */
  resolve<T = unknown>(key: string, param?: string | number): Promise<ResolveResult<T>> {
    if (param === undefined) {
      const record = this._records?.get(key);
      if (record !== undefined) {
        const settled = record.slot.settled;
        if (settled !== undefined) return settled as Promise<ResolveResult<T>>;
      }
    }
    return this._resolveFrom(undefined, key, param) as Promise<ResolveResult<T>>;
  }

  /** Like {@link resolve} but returns the value, or throws the `SystemError`. */
  async require<T = unknown>(key: string, param?: string | number): Promise<T> {
    return valueOrThrow(await this.resolve<T>(key, param));
  }

  /**
   * The cached value of a built singleton (here or in a parent), or `undefined`. Synchronous; never
   * builds. Throws `INVALID_INPUT` for a bad key and `DISPOSED` after `dispose()`.
   */
  peek<T = unknown>(key: string, param?: string | number): T | undefined {
    if (param === undefined) {
      const record = this._records?.get(key);
      if (record !== undefined && record.slot.settled !== undefined) return record.slot.value as T;
    }
    assertKey(key, "peek");
    this.assertLive("peek");
    assertParam(param, key, "peek");
    return lookup(this, key)?.peek(param) as T | undefined;
  }

  /**
   * Runs `fn` with `resolve`, `require` and `select` bound to this container (what a pipeline
   * step's `ctx.use` is). Reads here are not tracked. Rejects with `INVALID_INPUT` when `fn` is not
   * a function, with `DISPOSED` after `dispose()`, and with whatever `fn` throws.
   */
  use<R>(fn: (deps: UseDependencyContext<S>) => R | Promise<R>): Promise<R> {
    const notAFunction = useCallbackError(fn, "use");
    if (notAFunction !== undefined) return Promise.reject(notAFunction);
    if (this._disposed) return Promise.reject(disposedError(this.name, "use"));
    const deps = (this._depsContext ??= new DependencyContext(this));
    try {
      return Promise.resolve(fn(deps));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Drops the cached instances of an artifact registered in this container (every param value),
   * runs their cleanups, and invalidates everything that depended on them, in any container.
   * With `rebuild: true` it then rebuilds what was ready, dependencies first, and rejects if the
   * named artifact fails to rebuild. Rejects `NOT_FOUND` when the key is not registered here.
   */
  async invalidate(key: string, options?: { rebuild?: boolean }): Promise<void> {
    assertKey(key, "invalidate");
    assertOptions(options, INVALIDATE_OPTIONS, "invalidate");
    this.assertLive("invalidate");
    const record = this._records?.get(key);
    if (record === undefined) {
      const elsewhere = lookup(this, key);
      throw new SystemError(
        "NOT_FOUND",
        elsewhere === undefined
          ? `invalidate: artifact "${key}" is not registered in container "${this.name}"`
          : `invalidate: artifact "${key}" is registered in container "${elsewhere.owner.name}", not in "${this.name}"; invalidate it there`,
        { details: { key, container: this.name } },
      );
    }
    const collected: PendingCleanup[] = [];
    const touched: Slot[] = [];
    for (const slot of record.slots()) invalidateSlot(slot, "manual", collected, touched);
    await runCleanupBatch(collected);
    if (options?.rebuild !== true) return;
    // `touched` lists dependents before what they depend on; rebuild dependencies first.
    let named: SystemError | undefined;
    for (let i = touched.length - 1; i >= 0; i--) {
      const slot = touched[i]!;
      if (slot.record.scope === "transient" || slot.record.owner._disposed || slot.record.replaced) continue;
      const result = await resolveRecord(slot.record, slot.param, undefined);
      if (!result.ok && slot.record === record && named === undefined) named = result.error;
    }
    if (named !== undefined) throw named;
  }

  /**
   * Adds a fallback parent: keys not registered here are looked up in the parents, in the order
   * they were added. Throws `CIRCULAR_DEPENDENCY` if `parent` already falls back to this container,
   * `DISPOSED` if either is disposed.
   */
  extend(parent: ArtifactContainer<any>): this {
    this.assertLive("extend");
    if (!(parent instanceof ArtifactContainer)) {
      throw new SystemError(
        "INVALID_INPUT",
        `extend: parent must be an ArtifactContainer (one of this copy of @sluice/artifacts), got ${describeKind(parent)}`,
        { details: { operation: "extend" } },
      );
    }
    if (parent._disposed) throw disposedError(parent.name, "extend");
    if (parent === this || fallsBackTo(parent, this)) {
      throw new SystemError(
        "CIRCULAR_DEPENDENCY",
        `extend: container "${this.name}" cannot extend "${parent.name}": "${parent.name}" already falls back to "${this.name}"`,
      );
    }
    const parents = (this._parents ??= []);
    if (!parents.includes(parent)) parents.push(parent);
    return this;
  }

  /**
   * Creates a child container named `${this.name}/${name}`: its own registrations come first, then
   * this container's. Siblings never see each other. Disposed with this container.
   */
  scope(name: string, options?: ScopeOptions<S>): ScopedContainer<S> {
    this.assertLive("scope");
    if (typeof name !== "string" || name.length === 0) {
      throw new SystemError(
        "INVALID_INPUT",
        `scope: name must be a non-empty string, got ${describeKind(name)}`,
        { details: { operation: "scope" } },
      );
    }
    assertOptions(options, SCOPE_OPTIONS, "scope");
    const child = new ScopedContainer<S>(this, name, options);
    (this._scopes ??= new Set()).add(child);
    return child;
  }

  /**
   * An observer of the artifact `key` resolves to from here (optionally one param value). Its
   * listeners get each new value and `undefined` on invalidation; while it has listeners an
   * invalidated artifact is rebuilt at once. Throws `NOT_FOUND` for an unknown key.
   */
  watch<T = unknown>(key: string, param?: string | number): ArtifactObserver<T> {
    assertKey(key, "watch");
    this.assertLive("watch");
    assertParam(param, key, "watch");
    const record = lookup(this, key);
    if (record === undefined) throw notFound(this, key, "watch");
    return new ArtifactWatcher<T>(record, param);
  }

  /**
   * Subscribes to a lifecycle event; returns the unsubscribe function. Events of an artifact are
   * emitted by the container that owns it. Handler errors go to `onError`.
   */
  on<E extends ContainerEventName>(event: E, handler: (payload: ContainerEventMap[E]) => void): () => void {
    assertSubscription(event, handler);
    this.assertLive("on");
    return (this._events ??= new EventHub(this._onError)).add(event, handler);
  }

  /**
   * A JSON-serialisable snapshot of the built singletons registered here whose template opted in
   * with `serialize`. Restore it with {@link ArtifactContainer.from}.
   */
  export(): ArtifactBundle {
    this.assertLive("export");
    return writeBundle(this);
  }

  /**
   * Creates a container on `store`, registers `templates`, then restores from `bundle` the values
   * of templates that opted in to `serialize` (they count as built; their factory does not run).
   * Bundle entries for unknown or non-serialisable keys are skipped. Throws `INVALID_INPUT` for a
   * malformed bundle.
   */
  static from<S extends object>(
    store: StateStore<S>,
    bundle?: ArtifactBundle,
    templates?: ArtifactTemplate<any, S>[],
    options?: Omit<ArtifactContainerOptions<S>, "store">,
  ): ArtifactContainer<S> {
    assertOptions(options, FROM_OPTIONS, "from");
    const entries = bundle === undefined ? [] : readBundle(bundle);
    if (templates !== undefined && !Array.isArray(templates)) {
      throw new SystemError("INVALID_INPUT", "from: templates must be an array of artifact templates");
    }
    const container = new ArtifactContainer<S>({ ...options, store });
    const eager: ArtifactRecord[] = [];
    for (const [i, template] of (templates ?? []).entries()) {
      try {
        validateTemplate(template);
      } catch (error) {
        throw SystemError.from(error, "INVALID_DEFINITION", `from: templates[${i}]`);
      }
      const record = addRecord(container, template as ArtifactTemplate<unknown>, false, false);
      if (!record.lazy) eager.push(record);
    }
    for (const entry of entries) restoreEntry(container, entry);
    for (const record of eager) if (record.slot.settled === undefined) buildEager(record);
    return container;
  }

  /** A snapshot of every artifact registered here: status, dependencies, dependents, builds, errors. */
  debugInfo(): ContainerDebugInfo {
    return describeContainer(this, this._records ?? this._retiredRecords);
  }

  /**
   * Disposes the container: child scopes first, then every instance's cleanups (singletons and the
   * transients that registered one) in reverse dependency order, each once. A failing cleanup goes
   * to `onError` and the others still run. Afterwards every operation fails with `DISPOSED` and no
   * factory attempt starts; calling `dispose()` again (even from a `container:dispose` handler)
   * returns the same promise, whatever options it is given.
   *
   * Each cleanup is awaited before the next, so one that never settles holds the rest: pass
   * `options.signal` (for instance `AbortSignal.timeout(5_000)`) to bound the wait. Once it aborts,
   * the cleanup still running is reported (`ABORTED`) and left behind, and the ones not yet run are
   * started in dependency order without being awaited, so a dependency may then be cleaned while a
   * dependent's cleanup still uses it. Rejects with `INVALID_INPUT` (disposing nothing) for options
   * it cannot use.
   *
   * @example
   * ```ts
   * await container.dispose({ signal: AbortSignal.timeout(5_000) });
   * ```
   */
  dispose(options?: DisposeOptions): Promise<void> {
    if (options !== undefined) {
      const invalid = disposeOptionsError(options);
      if (invalid !== undefined) return Promise.reject(invalid);
    }
    const disposal = this.disposal;
    if (disposal === null) {
      // Called again from code the disposal runs before its first await (a `container:dispose`
      // handler, an abort listener, a child scope's handler): hand out the promise now and settle
      // it with the disposal already under way.
      return (this.disposal = new Promise<void>((resolve) => (this.adoptDisposal = resolve)));
    }
    if (disposal !== undefined) return disposal;
    this.disposal = null;
    const running = disposeContainer(
      this,
      this instanceof ScopedContainer ? this.parent : undefined,
      options?.signal,
    );
    const adopt = this.adoptDisposal;
    if (adopt === undefined) return (this.disposal = running);
    this.adoptDisposal = undefined;
    adopt(running);
    return this.dispose(); // the promise handed out by the re-entrant call
  }

  // ───────── internals called by factory contexts, `use()` and disposal ─────────

  /** @internal the tracked (ctx) or untracked resolution path. */
  _resolveFrom(
    ctx: FactoryContext | undefined,
    key: string,
    param: unknown,
  ): Promise<ResolveResult<unknown>> {
    try {
      assertKey(key, "resolve");
      assertParam(param, key, "resolve");
    } catch (error) {
      return failure(error as SystemError);
    }
    if (this._disposed) return failure(disposedError(this.name, `resolve("${key}")`));
    const record = lookup(this, key);
    if (record === undefined) return failure(notFound(this, key, "resolve"));
    return resolveRecord(record, param as string | number | undefined, ctx);
  }

  /** @internal */
  _select(ctx: FactoryContext | undefined, selector: (state: any) => unknown): unknown {
    return select(this, ctx, selector);
  }

  /** @internal */
  _state(): object {
    return readState(this);
  }

  /** @internal */
  _detachScope(child: ArtifactContainer<any>): void {
    this._scopes?.delete(child);
  }

  private assertLive(operation: string): void {
    if (this._disposed) throw disposedError(this.name, operation);
  }
}

/**
 * A child of an {@link ArtifactContainer} created by `scope(name)`: its own registrations are
 * searched first, then the parent's (and the parent's parents). Disposed with its parent.
 */
export class ScopedContainer<S extends object = any> extends ArtifactContainer<S> {
  /** The container this scope falls back to. */
  readonly parent: ArtifactContainer<any>;

  /** Prefer `parent.scope(name)`, which also disposes the scope with its parent. */
  constructor(parent: ArtifactContainer<any>, name: string, options?: ScopeOptions<S>) {
    const store = options?.store ?? (parent._store as StateStore<S> | undefined);
    const runId = options?.runId ?? parent.runId;
    super({
      name: `${parent.name}/${name}`,
      ...(store === undefined ? {} : { store }),
      ...(runId === undefined ? {} : { runId }),
      ...(parent._onError === undefined ? {} : { onError: parent._onError }),
    });
    this.parent = parent;
    this._parents = [parent];
  }
}
