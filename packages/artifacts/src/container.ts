import { type ErrorCode, SystemError } from "@sluice/errors";
import type { StateStore } from "@sluice/store";
import { readBundle } from "./bundle.js";
import { DependencyContext, FactoryContext } from "./factory-context.js";
import { ArtifactWatcher } from "./observer.js";
import { ArtifactRecord, ChainNode, type Cleanup, labelOf, RetainedInstance, type Slot } from "./records.js";
import { backoffDelay, sleep } from "./retry.js";
import type {
  ArtifactBundle,
  ArtifactBundleEntry,
  ArtifactContainerOptions,
  ArtifactDebugError,
  ArtifactDebugInfo,
  ArtifactObserver,
  ArtifactStatus,
  ArtifactTemplate,
  ContainerDebugInfo,
  ContainerEventMap,
  ContainerEventName,
  InvalidationReason,
  ResolveResult,
  ScopeOptions,
  UseDependencyContext,
} from "./types.js";
import { assertKey, assertParam, useCallbackError, validateTemplate } from "./validate.js";

const EVENT_NAMES: ReadonlySet<string> = new Set<ContainerEventName>([
  "build:start",
  "build:complete",
  "build:error",
  "artifact:invalidated",
  "artifact:disposed",
  "artifact:registered",
  "stream:emit",
  "container:dispose",
]);

/** Codes a retry cannot fix: the same call would fail the same way. */
const NOT_RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "CIRCULAR_DEPENDENCY",
  "DISPOSED",
  "INVALID_INPUT",
  "NOT_FOUND",
]);

/** A build restarted this often because it kept being invalidated mid-build gives up. */
const MAX_STALE_RESTARTS = 16;

const EMPTY_STATE: object = Object.freeze({});

type Outcome = { ok: true; value: unknown; ctx: FactoryContext } | { ok: false; error: SystemError };
type Handler = (payload: any) => void;
interface PendingCleanup {
  readonly record: ArtifactRecord;
  readonly param: string | number | undefined;
  readonly cleanups: Cleanup[];
}

function failure(error: SystemError): Promise<ResolveResult<never>> {
  return Promise.resolve({ ok: false, error });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

function defaultOnError(error: SystemError): void {
  console.error(error);
}

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
  // listen, select or extend more than once.
  private records: Map<string, ArtifactRecord> | undefined = undefined;
  private parents: ArtifactContainer<any>[] | undefined = undefined;
  private listeners: Map<string, Set<Handler>> | undefined = undefined;
  private scopes: Set<ArtifactContainer<any>> | undefined = undefined;
  private selecting: Set<Slot> | undefined = undefined;
  private unsubscribeStore: (() => void) | undefined = undefined;
  private depsContext: DependencyContext | undefined = undefined;
  private disposal: Promise<void> | undefined = undefined;
  private retiredRecords: Map<string, ArtifactRecord> | undefined = undefined;
  private seq = 0;
  /** @internal */
  _disposed = false;

  /** Creates an empty container. Cheap: no maps, listeners or subscriptions until needed. */
  constructor(options?: ArtifactContainerOptions<S>) {
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
    this.addRecord(template as ArtifactTemplate<unknown>, options?.override === true, true);
  }

  /**
   * Whether `key` is registered here or, unless `own: true`, in a parent. Never builds.
   * Throws `INVALID_INPUT` for a bad key; `false` after `dispose()`.
   */
  has(key: string, options?: { own?: boolean }): boolean {
    assertKey(key, "has");
    if (this._disposed) return false;
    if (options?.own === true) return this.records?.has(key) === true;
    return this.lookup(key) !== undefined;
  }

  /**
   * Resolves an artifact: a cached singleton, the in-flight build every concurrent caller shares, or
   * a new build. Keys not registered here are looked up in the parents, in `extend()` order.
   * Never rejects: failures (`NOT_FOUND`, `TIMEOUT`, `FACTORY_FAILED`, …) come back as
   * `{ ok: false, error }`.
   */
  resolve<T = unknown>(key: string, param?: string | number): Promise<ResolveResult<T>> {
    if (param === undefined) {
      const record = this.records?.get(key);
      if (record !== undefined) {
        const settled = record.slot.settled;
        if (settled !== undefined) return settled as Promise<ResolveResult<T>>;
      }
    }
    return this._resolveFrom(undefined, key, param) as Promise<ResolveResult<T>>;
  }

  /** Like {@link resolve} but returns the value, or throws the `SystemError`. */
  async require<T = unknown>(key: string, param?: string | number): Promise<T> {
    const result = await this.resolve<T>(key, param);
    if (result.ok) return result.value;
    throw result.error;
  }

  /**
   * The cached value of a built singleton (here or in a parent), or `undefined`. Synchronous; never
   * builds. Throws `INVALID_INPUT` for a bad key and `DISPOSED` after `dispose()`.
   */
  peek<T = unknown>(key: string, param?: string | number): T | undefined {
    if (param === undefined) {
      const record = this.records?.get(key);
      if (record !== undefined && record.slot.settled !== undefined) return record.slot.value as T;
    }
    assertKey(key, "peek");
    this.assertLive("peek");
    assertParam(param, key, "peek");
    const record = this.lookup(key);
    return record === undefined ? undefined : (this._peekRecord(record, param) as T | undefined);
  }

  /**
   * Runs `fn` with `resolve`, `require` and `select` bound to this container (what a pipeline
   * step's `ctx.use` is). Reads here are not tracked. Rejects with `INVALID_INPUT` when `fn` is not
   * a function, with `DISPOSED` after `dispose()`, and with whatever `fn` throws.
   */
  use<R>(fn: (deps: UseDependencyContext<S>) => R | Promise<R>): Promise<R> {
    const notAFunction = useCallbackError(fn, "use");
    if (notAFunction !== undefined) return Promise.reject(notAFunction);
    if (this._disposed) return Promise.reject(this.disposedError("use"));
    const deps = (this.depsContext ??= new DependencyContext(this));
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
    this.assertLive("invalidate");
    const record = this.records?.get(key);
    if (record === undefined) {
      const elsewhere = this.lookup(key);
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
    for (const slot of this.slotsOf(record)) this.invalidateSlot(slot, "manual", collected, touched);
    await this.runCleanupBatch(collected);
    if (options?.rebuild !== true) return;
    // `touched` lists dependents before what they depend on; rebuild dependencies first.
    let named: SystemError | undefined;
    for (let i = touched.length - 1; i >= 0; i--) {
      const slot = touched[i]!;
      const owner = slot.record.owner as ArtifactContainer<any>;
      if (slot.record.scope === "transient" || owner._disposed || slot.record.replaced) continue;
      const result = await owner.resolveRecord(slot.record, slot.param, undefined);
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
      throw new SystemError("INVALID_INPUT", `extend: parent must be an ArtifactContainer`);
    }
    if (parent._disposed) throw parent.disposedError("extend");
    if (parent === this || parent.fallsBackTo(this)) {
      throw new SystemError(
        "CIRCULAR_DEPENDENCY",
        `extend: container "${this.name}" cannot extend "${parent.name}": "${parent.name}" already falls back to "${this.name}"`,
      );
    }
    const parents = (this.parents ??= []);
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
      throw new SystemError("INVALID_INPUT", `scope: name must be a non-empty string`);
    }
    const child = new ScopedContainer<S>(this, name, options);
    (this.scopes ??= new Set()).add(child);
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
    const record = this.lookup(key);
    if (record === undefined) throw this.notFound(key, "watch");
    return new ArtifactWatcher<T>(record, record.owner as ArtifactContainer<any>, param);
  }

  /**
   * Subscribes to a lifecycle event; returns the unsubscribe function. Events of an artifact are
   * emitted by the container that owns it. Handler errors go to `onError`.
   */
  on<E extends ContainerEventName>(event: E, handler: (payload: ContainerEventMap[E]) => void): () => void {
    if (!EVENT_NAMES.has(event)) {
      throw new SystemError(
        "INVALID_INPUT",
        `on: unknown event ${JSON.stringify(event)}; expected one of ${[...EVENT_NAMES].join(", ")}`,
      );
    }
    if (typeof handler !== "function")
      throw new SystemError("INVALID_INPUT", `on("${event}"): handler must be a function`);
    this.assertLive("on");
    const listeners = (this.listeners ??= new Map());
    let set = listeners.get(event);
    if (set === undefined) listeners.set(event, (set = new Set()));
    const entry: Handler = (payload) => handler(payload);
    set.add(entry);
    return () => {
      const current = this.listeners?.get(event);
      if (current === undefined) return;
      current.delete(entry);
      if (current.size === 0) this.listeners?.delete(event);
    };
  }

  /**
   * A JSON-serialisable snapshot of the built singletons registered here whose template opted in
   * with `serialize`. Restore it with {@link ArtifactContainer.from}.
   */
  export(): ArtifactBundle {
    this.assertLive("export");
    const artifacts: ArtifactBundleEntry[] = [];
    if (this.records !== undefined) {
      for (const record of this.records.values()) {
        const serializer = record.serializer;
        if (serializer === undefined) continue;
        for (const slot of this.slotsOf(record)) {
          if (slot.settled === undefined) continue;
          let data: unknown;
          try {
            data = serializer.serialize(slot.value);
          } catch (error) {
            throw SystemError.from(
              error,
              "INVALID_STATE",
              `export: serializing artifact "${slot.label}" failed`,
            );
          }
          artifacts.push(
            slot.param === undefined
              ? { key: record.key, data }
              : { key: record.key, param: slot.param, data },
          );
        }
      }
    }
    return { format: "sluice.artifacts", version: 1, container: this.name, artifacts };
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
      const record = container.addRecord(template as ArtifactTemplate<unknown>, false, false);
      if (!record.lazy) eager.push(record);
    }
    for (const entry of entries) container.restore(entry);
    for (const record of eager) if (record.slot.settled === undefined) container.buildEager(record);
    return container;
  }

  /** A snapshot of every artifact registered here: status, dependencies, dependents, builds, errors. */
  debugInfo(): ContainerDebugInfo {
    const artifacts: ArtifactDebugInfo[] = [];
    let retainedTransients = 0;
    const records = this.records ?? this.retiredRecords;
    if (records !== undefined) {
      for (const record of records.values()) {
        const retained = record.retained?.size ?? 0;
        retainedTransients += retained;
        const instances = record.instances === undefined ? [] : [...record.instances.values()];
        const dependencies = new Set(this.edgeLabels(record.slot.dependencies));
        const dependents = new Set(this.edgeLabels(record.slot.dependents));
        let buildCount = record.slot.buildCount;
        let lastError = record.slot.lastError;
        for (const slot of instances) {
          for (const label of this.edgeLabels(slot.dependencies)) dependencies.add(label);
          for (const label of this.edgeLabels(slot.dependents)) dependents.add(label);
          buildCount += slot.buildCount;
          lastError = slot.lastError ?? lastError;
        }
        artifacts.push({
          key: record.key,
          scope: record.scope,
          lazy: record.lazy,
          parameterised: record.parameterised,
          status: record.parameterised ? summarise(instances) : record.slot.status,
          dependencies: [...dependencies],
          dependents: [...dependents],
          buildCount,
          lastError: debugError(lastError),
          retainedInstances: retained,
          instances: instances.map((slot) => ({
            param: slot.param as string | number,
            status: slot.status,
            buildCount: slot.buildCount,
            dependencies: this.edgeLabels(slot.dependencies),
            dependents: this.edgeLabels(slot.dependents),
            lastError: debugError(slot.lastError),
          })),
          watchers: record.watchers?.size ?? 0,
        });
      }
    }
    return {
      name: this.name,
      disposed: this._disposed,
      parents: (this.parents ?? []).map((p) => p.name),
      artifacts,
      retainedTransients,
      storeSubscribed: this.unsubscribeStore !== undefined,
    };
  }

  /**
   * Disposes the container: child scopes first, then every instance's cleanups (singletons and the
   * transients that registered one) in reverse dependency order, each once. A failing cleanup goes
   * to `onError` and the others still run. Afterwards every operation fails with `DISPOSED`;
   * calling `dispose()` again returns the same promise.
   */
  dispose(): Promise<void> {
    if (this.disposal === undefined) this.disposal = this.runDisposal();
    return this.disposal;
  }

  // ───────────────────────────── internals ─────────────────────────────

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
    if (this._disposed) return failure(this.disposedError(`resolve("${key}")`));
    const record = this.lookup(key);
    if (record === undefined) return failure(this.notFound(key, "resolve"));
    const owner = record.owner as ArtifactContainer<any>;
    return owner.resolveRecord(record, param as string | number | undefined, ctx);
  }

  /** @internal */
  _select(ctx: FactoryContext | undefined, selector: (state: any) => unknown): unknown {
    if (typeof selector !== "function")
      throw new SystemError("INVALID_INPUT", "select: selector must be a function");
    const store = this._store;
    const value = selector(store === undefined ? EMPTY_STATE : store.get());
    // Only factory reads are tracked, and only a store that can change needs a subscription.
    if (ctx === undefined || store === undefined || ctx.abandoned || store.disposed) return value;
    const slot = ctx.slot;
    (slot.selections ??= []).push({ selector, value });
    (this.selecting ??= new Set()).add(slot);
    if (this.unsubscribeStore === undefined) {
      this.unsubscribeStore = store.subscribe((next) => this.onStoreChange(next));
    }
    return value;
  }

  /** @internal */
  _state(): object {
    return this._store === undefined ? EMPTY_STATE : this._store.get();
  }

  /** @internal cleanups of a value that will never be kept (late after timeout, stale, disposed). */
  _releaseLate(record: ArtifactRecord, param: string | number | undefined, cleanups: Cleanup[]): void {
    void this.runCleanups(record, param, cleanups, false);
  }

  /** @internal */
  _peekRecord(record: ArtifactRecord, param: string | number | undefined): unknown {
    if (record.scope === "transient") return undefined;
    if (param === undefined ? record.parameterised : !record.parameterised) return undefined;
    const slot = param === undefined ? record.slot : record.instances?.get(param);
    return slot?.settled === undefined ? undefined : slot.value;
  }

  /** @internal */
  _detachScope(child: ArtifactContainer<any>): void {
    this.scopes?.delete(child);
  }

  /** @internal parents of a scoped container are set at construction. */
  _setParent(parent: ArtifactContainer<any>): void {
    this.parents = [parent];
  }

  private addRecord(
    template: ArtifactTemplate<unknown>,
    override: boolean,
    startEager: boolean,
  ): ArtifactRecord {
    const key = template.key;
    const records = (this.records ??= new Map());
    const existing = records.get(key);
    if (existing !== undefined && !override) {
      throw new SystemError(
        "DUPLICATE_KEY",
        `register: artifact "${key}" is already registered in container "${this.name}"; pass { override: true } to replace it`,
        { details: { key, container: this.name } },
      );
    }
    const record = new ArtifactRecord(this, template);
    records.set(key, record);
    if (existing !== undefined) this.retire(existing, record);
    if (this.listeners !== undefined) {
      this.emit("artifact:registered", {
        container: this.name,
        key,
        param: undefined,
        scope: record.scope,
        override: existing !== undefined,
      });
    }
    if (startEager && !record.lazy) this.buildEager(record);
    return record;
  }

  /** Replaces `old` by `next`: old instances are disposed, their dependents invalidated. */
  private retire(old: ArtifactRecord, next: ArtifactRecord): void {
    old.replaced = true;
    const collected: PendingCleanup[] = [];
    for (const slot of this.slotsOf(old)) {
      this.invalidateSlot(slot, "override", collected, undefined);
      slot.status = "disposed";
    }
    // Transients handed out under the old template may still be in use: clean them at disposal.
    if (old.retained !== undefined) next.retained = old.retained;
    if (old.watchers !== undefined) {
      next.watchers = old.watchers;
      for (const watcher of old.watchers) watcher.moveTo(next);
      old.watchers = undefined;
    }
    void this.runCleanupBatch(collected);
    if (next.watchers !== undefined && next.lazy) this.rebuildWatched(next, undefined);
  }

  private buildEager(record: ArtifactRecord): void {
    void this.resolveRecord(record, undefined, undefined).then((result) => {
      // The failure was emitted as build:error; make sure it is not silent when nobody listens.
      if (!result.ok && this.listeners?.has("build:error") !== true) this.report(result.error);
    });
  }

  private restore(entry: ArtifactBundleEntry): void {
    const record = this.records?.get(entry.key);
    if (record === undefined || record.serializer === undefined || record.scope !== "singleton") return;
    if ((entry.param === undefined) === record.parameterised) return;
    let value: unknown;
    try {
      value = record.serializer.deserialize(entry.data);
    } catch (error) {
      this.report(
        SystemError.from(
          error,
          "INVALID_INPUT",
          `from: restoring artifact "${labelOf(entry.key, entry.param)}" failed`,
        ),
      );
      return;
    }
    this.settle(record.slotFor(entry.param), value, undefined, false);
  }

  /** Resolves `record` (owned by this container) for `param`, on behalf of `ctx` if given. */
  private resolveRecord(
    record: ArtifactRecord,
    param: string | number | undefined,
    ctx: FactoryContext | undefined,
  ): Promise<ResolveResult<unknown>> {
    if (this._disposed) return failure(this.disposedError(`resolve("${record.key}")`));
    if (record.parameterised && param === undefined) {
      return failure(
        new SystemError(
          "INVALID_INPUT",
          `resolve("${record.key}"): the artifact is parameterised; pass a param`,
          {
            details: { key: record.key },
          },
        ),
      );
    }
    if (!record.parameterised && param !== undefined) {
      return failure(
        new SystemError(
          "INVALID_INPUT",
          `resolve("${record.key}"): the artifact is not parameterised; call it without a param (template "param: true" enables it)`,
          { details: { key: record.key } },
        ),
      );
    }
    if (ctx !== undefined) {
      const cycle = findInChain(ctx.node, record, param);
      if (cycle !== undefined) return failure(circular(cycle));
    }
    if (record.scope === "transient") {
      if (ctx !== undefined) link(ctx.slot, record.slot);
      return this.buildTransient(record, param, ctx);
    }
    const slot = record.slotFor(param);
    if (slot.settled !== undefined) {
      if (ctx !== undefined) link(ctx.slot, slot);
      return slot.settled;
    }
    let pending = slot.pending;
    if (ctx === undefined) return pending ?? (slot.pending = this.buildSingleton(slot, undefined));
    const waiter = ctx.node.waiter;
    if (pending !== undefined && waiter !== undefined) {
      // Joining someone else's build: make sure that build is not (transitively) waiting for us.
      const path = findWait(slot, waiter);
      if (path !== undefined) return failure(circular([waiter.label, ...path.map((s) => s.label)]));
    }
    if (pending === undefined) pending = slot.pending = this.buildSingleton(slot, ctx.node);
    link(ctx.slot, slot);
    if (waiter === undefined) return pending;
    (waiter.waitingOn ??= new Set()).add(slot);
    return pending.then((result) => {
      waiter.waitingOn?.delete(slot);
      return result;
    });
  }

  private async buildSingleton(slot: Slot, parent: ChainNode | undefined): Promise<ResolveResult<unknown>> {
    const record = slot.record;
    for (let restart = 0; ; restart++) {
      slot.status = "building";
      this.unlinkDependencies(slot);
      const generation = slot.generation;
      const node = new ChainNode(record, slot.param, parent, slot);
      const outcome = await this.runFactory(record, slot, node, slot.param);
      const stale =
        slot.generation !== generation || (slot.status as ArtifactStatus) === "disposed" || this._disposed;
      if (!stale) {
        slot.pending = undefined;
        if (outcome.ok) {
          this.settle(slot, outcome.value, outcome.ctx.cleanups, true);
          return slot.settled!;
        }
        slot.status = "failed";
        slot.lastError = outcome.error;
        slot.waitingOn = undefined;
        return { ok: false, error: outcome.error };
      }
      if (outcome.ok && outcome.ctx.cleanups !== undefined)
        this._releaseLate(record, slot.param, outcome.ctx.cleanups);
      if (this._disposed || record.replaced) {
        slot.pending = undefined;
        if (this._disposed) return { ok: false, error: this.disposedError(`resolve("${slot.label}")`) };
        const current = this.records?.get(record.key);
        if (current === undefined) return { ok: false, error: this.notFound(record.key, "resolve") };
        return this.resolveRecord(current, slot.param, undefined);
      }
      if (restart >= MAX_STALE_RESTARTS) {
        slot.pending = undefined;
        slot.status = "failed";
        const error = new SystemError(
          "INVALID_STATE",
          `artifact "${slot.label}" was invalidated ${restart + 1} times while building; make sure its factory does not change the state it selects`,
          { details: { key: record.key } },
        );
        slot.lastError = error;
        return { ok: false, error };
      }
    }
  }

  private async buildTransient(
    record: ArtifactRecord,
    param: string | number | undefined,
    ctx: FactoryContext | undefined,
  ): Promise<ResolveResult<unknown>> {
    const slot = record.slot;
    // Transient selections are those of the latest build only, so they cannot pile up.
    if (slot.selections !== undefined) slot.selections = undefined;
    const node = new ChainNode(record, param, ctx?.node, ctx?.node.waiter);
    const outcome = await this.runFactory(record, slot, node, param);
    if (!outcome.ok) {
      slot.status = "failed";
      slot.lastError = outcome.error;
      return { ok: false, error: outcome.error };
    }
    slot.status = "ready";
    slot.buildCount++;
    const cleanups = outcome.ctx.cleanups;
    if (cleanups !== undefined) {
      if (this._disposed) this._releaseLate(record, param, cleanups);
      else (record.retained ??= new Set()).add(new RetainedInstance(record, param, cleanups));
    }
    return { ok: true, value: outcome.value };
  }

  /** Runs the factory with timeout and retries; reports build events. */
  private async runFactory(
    record: ArtifactRecord,
    slot: Slot,
    node: ChainNode,
    param: string | number | undefined,
  ): Promise<Outcome> {
    const retry = record.retry;
    // A nested build starts on a fresh stack, so a deep (or runaway) dependency chain cannot
    // overflow it: the chain lives in ChainNodes, not in stack frames.
    if (node.prev !== undefined) await undefined;
    for (let attempt = 1; ; attempt++) {
      const ctx = new FactoryContext(this, record, slot, node, param);
      const started = this.listeners === undefined ? 0 : Date.now();
      if (this.listeners !== undefined) {
        this.emit("build:start", { container: this.name, key: record.key, param, attempt });
      }
      if (record.scope === "singleton") slot.abortBuild = () => ctx.abandon();
      let error: SystemError;
      try {
        const value = await this.runAttempt(record, ctx);
        slot.abortBuild = undefined;
        if (this.listeners !== undefined) {
          this.emit("build:complete", {
            container: this.name,
            key: record.key,
            param,
            value,
            durationMs: Date.now() - started,
          });
        }
        return { ok: true, value, ctx };
      } catch (thrown) {
        slot.abortBuild = undefined;
        error = SystemError.from(
          thrown,
          "FACTORY_FAILED",
          `factory of artifact "${labelOf(record.key, param)}" in container "${this.name}" failed`,
        );
        ctx.abandon();
        if (ctx.cleanups !== undefined) {
          const cleanups = ctx.cleanups;
          ctx.cleanups = undefined;
          await this.runCleanups(record, param, cleanups, false);
        }
      }
      if (
        retry === undefined ||
        attempt > retry.attempts ||
        NOT_RETRYABLE.has(error.code) ||
        this._disposed
      ) {
        if (this.listeners !== undefined) {
          this.emit("build:error", {
            container: this.name,
            key: record.key,
            param,
            error,
            attempts: attempt,
          });
        }
        return { ok: false, error };
      }
      await sleep(backoffDelay(retry, attempt));
    }
  }

  private runAttempt(record: ArtifactRecord, ctx: FactoryContext): unknown {
    const out = record.factory(ctx);
    const timeoutMs = record.timeoutMs;
    if (timeoutMs === undefined || !isThenable(out)) return out;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new SystemError(
            "TIMEOUT",
            `factory of artifact "${labelOf(record.key, ctx.param)}" in container "${this.name}" did not finish within ${timeoutMs} ms`,
            { details: { key: record.key, timeoutMs } },
          ),
        );
      }, timeoutMs);
      out.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  /** Stores a built value and tells watchers. */
  private settle(slot: Slot, value: unknown, cleanups: Cleanup[] | undefined, built: boolean): void {
    slot.status = "ready";
    slot.value = value;
    slot.cleanups = cleanups;
    slot.lastError = undefined;
    slot.waitingOn = undefined;
    slot.readySeq = ++this.seq;
    if (built) slot.buildCount++;
    slot.settled = Promise.resolve(Object.freeze({ ok: true as const, value }));
    if (slot.record.watchers !== undefined) this.notifyWatchers(slot, value);
  }

  /**
   * Drops a slot's cached value and, first, those of everything that depends on it (in any
   * container). Cleanups are collected, dependents before dependencies, for the caller to run.
   */
  private invalidateSlot(
    slot: Slot,
    reason: InvalidationReason,
    collected: PendingCleanup[],
    touched: Slot[] | undefined,
  ): void {
    const status = slot.status;
    if (status === "disposed" || status === "invalidated") return;
    const isInstance = slot.record.scope === "singleton";
    const wasReady = slot.settled !== undefined;
    if (status === "building" && isInstance) {
      // The running build is stale: its result will be discarded and the factory run again.
      slot.generation++;
      slot.abortBuild?.();
    } else if (isInstance) {
      if (status === "registered" || status === "failed") {
        if (slot.dependents === undefined && slot.selections === undefined) return;
      }
      slot.status = "invalidated";
    }
    const dependents = slot.dependents;
    slot.dependents = undefined;
    if (dependents !== undefined) {
      for (const dependent of dependents) {
        const owner = dependent.record.owner as ArtifactContainer<any>;
        owner.invalidateSlot(dependent, "dependency", collected, touched);
      }
    }
    if (status !== "building") this.unlinkDependencies(slot);
    if (!isInstance || status === "building") {
      if (this.listeners !== undefined) this.emitInvalidated(slot, reason);
      return;
    }
    slot.value = undefined;
    slot.settled = undefined;
    if (wasReady) touched?.push(slot);
    const cleanups = slot.cleanups;
    slot.cleanups = undefined;
    if (cleanups !== undefined) collected.push({ record: slot.record, param: slot.param, cleanups });
    if (this.listeners !== undefined) this.emitInvalidated(slot, reason);
    if (wasReady && slot.record.watchers !== undefined) {
      this.notifyWatchers(slot, undefined);
      if (reason !== "override") this.rebuildWatched(slot.record, slot.param);
    }
  }

  private emitInvalidated(slot: Slot, reason: InvalidationReason): void {
    this.emit("artifact:invalidated", {
      container: this.name,
      key: slot.record.key,
      param: slot.param,
      reason,
    });
  }

  /** A watched artifact that lost its value is rebuilt at once, so watchers see the new one. */
  private rebuildWatched(record: ArtifactRecord, param: string | number | undefined): void {
    let active = false;
    for (const watcher of record.watchers ?? []) if (watcher.param === param && watcher.active) active = true;
    if (!active) return;
    queueMicrotask(() => {
      if (this._disposed || record.replaced) return;
      void this.resolveRecord(record, param, undefined);
    });
  }

  private notifyWatchers(slot: Slot, value: unknown): void {
    const watchers = slot.record.watchers;
    if (watchers === undefined) return;
    let emitted = false;
    for (const watcher of [...watchers]) {
      if (watcher.param !== slot.param || !watcher.active) continue;
      emitted = true;
      watcher.notify(value, (error) =>
        this.report(SystemError.from(error, "INVALID_STATE", `watch("${slot.label}"): a listener threw`)),
      );
    }
    if (emitted && this.listeners !== undefined) {
      this.emit("stream:emit", { container: this.name, key: slot.record.key, param: slot.param, value });
    }
  }

  /** Forgets what `slot` read: it is about to be rebuilt, invalidated or disposed. */
  private unlinkDependencies(slot: Slot): void {
    const dependencies = slot.dependencies;
    if (dependencies !== undefined) {
      slot.dependencies = undefined;
      for (const dependency of dependencies) {
        const dependents = dependency.dependents;
        if (dependents !== undefined) {
          dependents.delete(slot);
          if (dependents.size === 0) dependency.dependents = undefined;
        }
      }
    }
    if (slot.selections !== undefined) {
      slot.selections = undefined;
      const owner = slot.record.owner as ArtifactContainer<any>;
      owner.selecting?.delete(slot);
      owner.releaseStoreIfIdle();
    }
  }

  private onStoreChange(next: S): void {
    const selecting = this.selecting;
    if (selecting === undefined) return;
    const collected: PendingCleanup[] = [];
    for (const slot of [...selecting]) {
      const selections = slot.selections;
      if (selections === undefined) {
        selecting.delete(slot);
        continue;
      }
      for (const selection of selections) {
        let changed: boolean;
        try {
          changed = !Object.is(selection.selector(next), selection.value);
        } catch {
          changed = true; // a selector that now throws must be re-run by a rebuild
        }
        if (changed) {
          this.invalidateSlot(slot, "state", collected, undefined);
          break;
        }
      }
    }
    this.releaseStoreIfIdle();
    void this.runCleanupBatch(collected);
  }

  private releaseStoreIfIdle(): void {
    if (this.unsubscribeStore === undefined || (this.selecting !== undefined && this.selecting.size > 0))
      return;
    const unsubscribe = this.unsubscribeStore;
    this.unsubscribeStore = undefined;
    this.selecting = undefined;
    unsubscribe();
  }

  private async runCleanupBatch(collected: PendingCleanup[]): Promise<void> {
    for (const item of collected) {
      const owner = item.record.owner as ArtifactContainer<any>;
      await owner.runCleanups(item.record, item.param, item.cleanups, true);
    }
  }

  /** Runs cleanups newest first; a failing one is reported and the rest still run. */
  private async runCleanups(
    record: ArtifactRecord,
    param: string | number | undefined,
    cleanups: Cleanup[],
    announce: boolean,
  ): Promise<void> {
    for (let i = cleanups.length - 1; i >= 0; i--) {
      try {
        await cleanups[i]!();
      } catch (error) {
        this.report(
          new SystemError(
            "FACTORY_FAILED",
            `cleanup of artifact "${labelOf(record.key, param)}" in container "${this.name}" failed: ${error instanceof Error ? error.message : String(error)}`,
            { cause: error, details: { key: record.key, container: this.name, phase: "cleanup" } },
          ),
        );
      }
    }
    if (announce && this.listeners !== undefined) {
      this.emit("artifact:disposed", { container: this.name, key: record.key, param });
    }
  }

  private async runDisposal(): Promise<void> {
    if (this.listeners !== undefined) this.emit("container:dispose", { container: this.name });
    this._disposed = true;
    if (this.scopes !== undefined) {
      const scopes = [...this.scopes].reverse();
      this.scopes = undefined;
      for (const child of scopes) await child.dispose();
    }
    if (this instanceof ScopedContainer) this.parent._detachScope(this);
    const records = this.records === undefined ? [] : [...this.records.values()];
    const order = this.disposalOrder(records);
    const outside: PendingCleanup[] = [];
    for (const record of records) {
      for (const slot of this.slotsOf(record)) {
        slot.abortBuild?.();
        // Dependents in other containers (runs extending this one) lose what they were built on.
        const dependents = slot.dependents;
        slot.dependents = undefined;
        for (const dependent of dependents ?? []) {
          const owner = dependent.record.owner as ArtifactContainer<any>;
          if (owner !== this) owner.invalidateSlot(dependent, "dependency", outside, undefined);
        }
      }
    }
    await this.runCleanupBatch(outside);
    for (const item of order) {
      if (item instanceof RetainedInstance) {
        await this.runCleanups(item.record, item.param, item.cleanups, true);
        continue;
      }
      const cleanups = item.cleanups;
      item.cleanups = undefined;
      if (cleanups !== undefined) await this.runCleanups(item.record, item.param, cleanups, true);
      else if (this.listeners !== undefined) {
        this.emit("artifact:disposed", { container: this.name, key: item.record.key, param: item.param });
      }
    }
    for (const record of records) {
      record.retained = undefined;
      for (const slot of this.slotsOf(record)) {
        const wasReady = slot.settled !== undefined;
        this.unlinkDependencies(slot);
        slot.status = "disposed";
        slot.value = undefined;
        slot.settled = undefined;
        if (wasReady && record.watchers !== undefined) this.notifyWatchers(slot, undefined);
      }
      record.watchers = undefined;
    }
    this.releaseStoreIfIdle();
    if (this.unsubscribeStore !== undefined) {
      this.unsubscribeStore();
      this.unsubscribeStore = undefined;
    }
    this.selecting = undefined;
    this.listeners = undefined;
    this.depsContext = undefined;
    // Kept (outside the lookup path) so debugInfo() still shows what was there.
    this.retiredRecords = this.records;
    this.records = undefined;
  }

  /**
   * Dependents before their dependencies; among independent instances, the most recently built
   * first. Retained transients come right before what they were built from.
   */
  private disposalOrder(records: ArtifactRecord[]): Array<Slot | RetainedInstance> {
    const roots: Slot[] = [];
    for (const record of records) for (const slot of this.slotsOf(record)) roots.push(slot);
    roots.sort((a, b) => b.readySeq - a.readySeq);
    const order: Array<Slot | RetainedInstance> = [];
    const visited = new Set<Slot>();
    const visit = (slot: Slot): void => {
      if (visited.has(slot)) return;
      visited.add(slot);
      for (const dependent of slot.dependents ?? []) if (dependent.record.owner === this) visit(dependent);
      const record = slot.record;
      if (slot === record.slot && record.retained !== undefined) {
        order.push(...[...record.retained].reverse());
      }
      if (record.scope === "singleton" && (slot.settled !== undefined || slot.cleanups !== undefined))
        order.push(slot);
    };
    for (const slot of roots) visit(slot);
    return order;
  }

  private slotsOf(record: ArtifactRecord): Slot[] {
    if (record.instances === undefined) return [record.slot];
    return [record.slot, ...record.instances.values()];
  }

  private lookup(key: string): ArtifactRecord | undefined {
    const own = this.records?.get(key);
    if (own !== undefined) return own;
    const parents = this.parents;
    if (parents === undefined) return undefined;
    for (const parent of parents) {
      if (parent._disposed) continue;
      const found = parent.lookup(key);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  private searchedNames(into: string[]): string[] {
    if (into.includes(this.name)) return into;
    into.push(this.name);
    for (const parent of this.parents ?? []) if (!parent._disposed) parent.searchedNames(into);
    return into;
  }

  private fallsBackTo(target: ArtifactContainer<any>): boolean {
    for (const parent of this.parents ?? []) if (parent === target || parent.fallsBackTo(target)) return true;
    return false;
  }

  private notFound(key: string, operation: string): SystemError {
    const searched = this.searchedNames([]);
    return new SystemError(
      "NOT_FOUND",
      `${operation}: artifact "${key}" is not registered; searched containers ${searched.map((n) => `"${n}"`).join(" → ")}. Register it or extend() a container that has it`,
      { details: { key, searched } },
    );
  }

  private disposedError(operation: string): SystemError {
    return new SystemError("DISPOSED", `${operation}: container "${this.name}" has been disposed`, {
      details: { container: this.name },
    });
  }

  private assertLive(operation: string): void {
    if (this._disposed) throw this.disposedError(operation);
  }

  private edgeLabels(slots: Set<Slot> | undefined): string[] {
    if (slots === undefined) return [];
    const labels: string[] = [];
    for (const slot of slots) {
      const owner = slot.record.owner;
      labels.push(owner === this ? slot.label : `${slot.label}@${owner.name}`);
    }
    return labels;
  }

  private emit<E extends ContainerEventName>(event: E, payload: ContainerEventMap[E]): void {
    const handlers = this.listeners?.get(event);
    if (handlers === undefined) return;
    for (const handler of [...handlers]) {
      try {
        handler(payload);
      } catch (error) {
        this.report(SystemError.from(error, "INVALID_STATE", `on("${event}"): a handler threw`));
      }
    }
  }

  private report(error: SystemError): void {
    try {
      (this._onError ?? defaultOnError)(error);
    } catch {
      // onError itself failed; there is nowhere left to report to.
    }
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
    this._setParent(parent);
  }
}

function link(from: Slot, to: Slot): void {
  (from.dependencies ??= new Set()).add(to);
  (to.dependents ??= new Set()).add(from);
}

/** The chain from the first occurrence of `record[param]` to the current build, if it is there. */
function findInChain(
  node: ChainNode,
  record: ArtifactRecord,
  param: string | number | undefined,
): string[] | undefined {
  const labels: string[] = [];
  for (let n: ChainNode | undefined = node; n !== undefined; n = n.prev) {
    labels.push(labelOf(n.record.key, n.param));
    if (n.record === record && n.param === param) {
      labels.reverse();
      labels.push(labelOf(record.key, param));
      return labels;
    }
  }
  return undefined;
}

/** A path of in-flight builds from `from` that ends at `target`, if `from` is waiting on it. */
function findWait(from: Slot, target: Slot, seen: Set<Slot> = new Set()): Slot[] | undefined {
  if (from === target) return [from];
  if (seen.has(from) || from.waitingOn === undefined) return undefined;
  seen.add(from);
  for (const next of from.waitingOn) {
    const rest = findWait(next, target, seen);
    if (rest !== undefined) return [from, ...rest];
  }
  return undefined;
}

function circular(labels: string[]): SystemError {
  return new SystemError("CIRCULAR_DEPENDENCY", `circular dependency: ${labels.join(" → ")}`, {
    details: { cycle: labels },
  });
}

function debugError(error: SystemError | undefined): ArtifactDebugError | undefined {
  return error === undefined ? undefined : { code: error.code, message: error.message };
}

const STATUS_RANK: Record<ArtifactStatus, number> = {
  ready: 5,
  building: 4,
  failed: 3,
  invalidated: 2,
  registered: 1,
  disposed: 0,
};

function summarise(slots: Slot[]): ArtifactStatus {
  let best: ArtifactStatus = "registered";
  for (const slot of slots) if (STATUS_RANK[slot.status] > STATUS_RANK[best]) best = slot.status;
  return best;
}
