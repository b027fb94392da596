import type { ErrorCode, SystemError } from "@sluice/errors";
import type { StateStore } from "@sluice/store";

/**
 * How long an artifact instance lives. `"singleton"`: built once per container (per param value
 * for parameterised templates) and cached until invalidated or disposed. `"transient"`: built
 * anew on every resolution and never cached.
 */
export type ArtifactScope = "singleton" | "transient";

/**
 * Retry rule for a failing factory. `attempts` is the number of retries after the first failure
 * (so `{ attempts: 2 }` runs the factory at most three times). The wait before retry `n` (from 1)
 * is `min(backoffMs * factor^(n-1), maxBackoffMs)`.
 */
export interface RetryPolicy {
  /** Retries after the first failure; a non-negative integer. */
  attempts: number;
  /** Wait before the first retry, in ms (default 25). */
  backoffMs?: number;
  /** Multiplier applied to the wait after each retry (default 2, at least 1). */
  factor?: number;
  /** Upper bound of a single wait, in ms (default 1000). */
  maxBackoffMs?: number;
}

/** A value that can be persisted by {@link ArtifactContainer.export} and restored by `from()`. */
export interface ArtifactSerializer<T> {
  /** Turns the built value into JSON-serialisable data. */
  serialize(value: T): unknown;
  /** Turns data produced by `serialize` back into a value. */
  deserialize(data: unknown): T;
}

/**
 * The description of an artifact: its key, how to build it and how the container treats it.
 *
 * @example
 * ```ts
 * container.register({ key: "db", factory: async (ctx) => {
 *   const db = await connect();
 *   ctx.onCleanup(() => db.close());
 *   return db;
 * }, timeoutMs: 5_000, retries: 2 });
 * ```
 */
export interface ArtifactTemplate<T = unknown, S extends object = any> {
  /** The key the artifact is resolved by; a non-empty string, unique within a container. */
  key: string;
  /** Builds the value; may be async. Dependencies read through `ctx` are tracked. */
  factory: (ctx: ArtifactFactoryContext<S>) => T | Promise<T>;
  /** `"singleton"` (default) or `"transient"`. */
  scope?: ArtifactScope;
  /**
   * `true` (default): built on first resolution. `false` (eager): built at `register()`; a failure
   * is reported through the `build:error` event (or `onError` when nobody listens), never thrown.
   */
  lazy?: boolean;
  /** A factory (one attempt) that runs longer fails with `SystemError` code `TIMEOUT`. */
  timeoutMs?: number;
  /** Retries on factory failure: a count, or a {@link RetryPolicy} with backoff. */
  retries?: number | RetryPolicy;
  /**
   * Parameterised artifact: `resolve(key, param)` builds (and, for singletons, caches) one instance
   * per param value (`string | number`; `1` and `"1"` are different values).
   */
  param?: true;
  /**
   * Opt-in for {@link ArtifactContainer.export}: `true` exports the built value as it is (it must be
   * JSON-serialisable); an {@link ArtifactSerializer} converts it both ways.
   */
  serialize?: boolean | ArtifactSerializer<T>;
}

/**
 * Artifact keys whose type is known without a type argument: `require(key)` and `resolve(key)` of
 * one of them give its type. Empty here: `@sluice/runtime-core` declares its built-in services in
 * it (`__env__`, `__pause_service__`), so `await d.require("__env__")` is an `EnvService`.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging (module augmentation)
export interface KnownServices {}

/** What `use(fn)` hands to `fn`: resolve other artifacts and read state. */
export interface UseDependencyContext<S extends object = any> {
  /** Resolves one of the {@link KnownServices}; never rejects (failures come back as `{ ok: false, error }`). */
  resolve<K extends keyof KnownServices>(
    key: K,
    param?: string | number,
  ): Promise<ResolveResult<KnownServices[K]>>;
  /** Resolves an artifact; never rejects (failures come back as `{ ok: false, error }`). */
  resolve<T = unknown>(key: string, param?: string | number): Promise<ResolveResult<T>>;
  /** Resolves one of the {@link KnownServices} or throws its `SystemError`. */
  require<K extends keyof KnownServices>(key: K, param?: string | number): Promise<KnownServices[K]>;
  /** Resolves an artifact or throws its `SystemError`. */
  require<T = unknown>(key: string, param?: string | number): Promise<T>;
  /**
   * Reads a slice of the owning container's store. Inside a factory the read is tracked: when the
   * selected value changes (`Object.is`), the artifact is invalidated. Throws `DISPOSED` once the
   * container is disposed (a factory still running then fails with it).
   */
  select<R>(selector: (state: S) => R): R;
}

/**
 * The context a factory receives. Everything read through it while the factory runs becomes a
 * tracked dependency; a context kept past that (a lazy getter) reads untracked, like `use()`.
 */
export interface ArtifactFactoryContext<S extends object = any> extends UseDependencyContext<S> {
  /** Key of the artifact being built. */
  readonly key: string;
  /** The param value for parameterised artifacts; `undefined` otherwise. */
  readonly param: string | number | undefined;
  /** The `runId` of the container that owns the artifact, if it has one. */
  readonly runId: string | undefined;
  /**
   * Aborts when this build is abandoned: its attempt timed out, it was invalidated while building,
   * or the container was disposed. Created on first access.
   */
  readonly signal: AbortSignal;
  /** The owning container's current state (an untracked snapshot; use `select` to react to changes). */
  state(): Readonly<S>;
  /**
   * Runs `fn` with a dependency context whose reads are tracked for this artifact. Rejects with
   * `INVALID_INPUT` when `fn` is not a function.
   */
  use<R>(fn: (deps: UseDependencyContext<S>) => R | Promise<R>): Promise<R>;
  /**
   * Registers a cleanup for this instance. Cleanups run once, in reverse order of registration,
   * when the instance is invalidated, replaced or its container disposed. May be called after the
   * factory returned (a pool opening a connection later): the cleanup joins the instance's while it
   * lives, and runs at once when the instance is already gone.
   */
  onCleanup(fn: () => void | Promise<void>): void;
}

/** The outcome of a resolution: the value, or the `SystemError` that prevented it. */
export type ResolveResult<T> = { ok: true; value: T } | { ok: false; error: SystemError };

/** Options of the {@link ArtifactContainer} constructor. */
export interface ArtifactContainerOptions<S extends object = any> {
  /** The state store factories read with `state()` / `select()`. Without one, state is `{}`. */
  store?: StateStore<S>;
  /** A name used in messages, events and `debugInfo()`; default `"container"`. */
  name?: string;
  /** Passed to factories as `ctx.runId`. */
  runId?: string;
  /**
   * Receives errors nobody else sees (failing cleanups, listener errors); default `console.error`.
   * Not awaited: what it throws, or a promise it returns rejects with, is dropped.
   */
  onError?: (error: SystemError) => void;
}

/** Options of {@link ArtifactContainer.dispose}. */
export interface DisposeOptions {
  /**
   * How long disposal may wait for cleanups. Until it aborts, each cleanup is awaited before the
   * next starts (dependents before dependencies). Once it aborts, the cleanup still running is
   * reported to `onError` (`ABORTED`) and left to finish on its own, every cleanup not yet run is
   * started in the same order without waiting for any, and `dispose()` resolves. For example
   * `AbortSignal.timeout(5_000)`: a cleanup that never settles cannot keep the others from running.
   */
  signal?: AbortSignal;
}

/** Options of {@link ArtifactContainer.scope}. */
export interface ScopeOptions<S extends object = any> {
  /** The scoped container's own store; default: the parent's store. */
  store?: StateStore<S>;
  /** Its `runId`; default: the parent's. */
  runId?: string;
}

/** Observes one artifact's value. Created by {@link ArtifactContainer.watch}. */
export interface ArtifactObserver<T> {
  /** The current value, or `undefined` when it is not built. Never builds. */
  get(): T | undefined;
  /**
   * Calls `listener` whenever the value changes: with the new value after a (re)build, with
   * `undefined` after invalidation or disposal. While subscribed, an invalidated artifact is
   * rebuilt at once. Returns an unsubscribe function.
   */
  subscribe(listener: (value: T | undefined) => void): () => void;
  /** Drops every listener of this observer. */
  dispose(): void;
}

/** Lifecycle status of an artifact in {@link ContainerDebugInfo}. */
export type ArtifactStatus = "registered" | "building" | "ready" | "failed" | "invalidated" | "disposed";

/** Why an artifact was invalidated. */
export type InvalidationReason = "manual" | "dependency" | "state" | "override";

/** Fields every container event carries. */
export interface ArtifactEventBase {
  /** Name of the container that emitted the event (the artifact's owner). */
  readonly container: string;
  /** The artifact's key. */
  readonly key: string;
  /** The param value for parameterised artifacts; `undefined` otherwise. */
  readonly param: string | number | undefined;
}

/** Payload of every event, by event name. */
export interface ContainerEventMap {
  /** A factory attempt is about to run. */
  "build:start": ArtifactEventBase & { readonly attempt: number };
  /** A factory produced a value; `durationMs` is that attempt's, from its start. */
  "build:complete": ArtifactEventBase & { readonly value: unknown; readonly durationMs: number };
  /** A build failed for good (after its retries). */
  "build:error": ArtifactEventBase & { readonly error: SystemError; readonly attempts: number };
  /** A cached value was dropped. */
  "artifact:invalidated": ArtifactEventBase & { readonly reason: InvalidationReason };
  /** An instance's cleanups ran because it was invalidated, replaced or its container disposed. */
  "artifact:disposed": ArtifactEventBase;
  /** A template was registered (`override` tells whether it replaced one). */
  "artifact:registered": ArtifactEventBase & { readonly scope: ArtifactScope; readonly override: boolean };
  /**
   * A watched artifact's value changed: a new value after a build or rebuild, or `undefined` after
   * invalidation or disposal. Emitted only while the artifact has at least one watcher.
   */
  "stream:emit": ArtifactEventBase & { readonly value: unknown };
  /** The container is being disposed (emitted before its cleanups run). */
  "container:dispose": { readonly container: string };
}

/** Every event name accepted by {@link ArtifactContainer.on}. */
export type ContainerEventName = keyof ContainerEventMap;

/** A failure as shown by `debugInfo()`. */
export interface ArtifactDebugError {
  /** The failure's `SystemError` code: a stable one (a `switch` completes them), or any string. */
  readonly code: ErrorCode | (string & {});
  /** The failure's message. */
  readonly message: string;
}

/** One instance of a parameterised artifact in `debugInfo()`. */
export interface ArtifactInstanceDebugInfo {
  /** The parameter this instance was resolved with. */
  readonly param: string | number;
  /** Where this instance is in its lifecycle. */
  readonly status: ArtifactStatus;
  /** Factory runs that produced a value for this instance. */
  readonly buildCount: number;
  /** Artifacts this instance read in its last build (`key`, `key[param]`, `@container` when owned elsewhere). */
  readonly dependencies: string[];
  /** Artifacts that read this instance. */
  readonly dependents: string[];
  /** Why its last build failed, if it did; `undefined` once a build succeeds. */
  readonly lastError: ArtifactDebugError | undefined;
}

/** One registered artifact in `debugInfo()`. */
export interface ArtifactDebugInfo {
  /** The key it is registered under. */
  readonly key: string;
  /** `singleton` (one value, kept) or `transient` (a new value per resolve). */
  readonly scope: ArtifactScope;
  /** False when it was registered with `lazy: false` (built at registration, not on first resolve). */
  readonly lazy: boolean;
  /** True when its factory takes a parameter (one instance per `param`, see `instances`). */
  readonly parameterised: boolean;
  /** For a parameterised artifact: `ready` when any instance is, else the most advanced state. */
  readonly status: ArtifactStatus;
  /** Artifacts it read in its last build, as `key`, `key[param]`, with `@container` when owned elsewhere. */
  readonly dependencies: string[];
  /** Artifacts that read it. */
  readonly dependents: string[];
  /** Factory runs that produced a value (all instances, all attempts that succeeded). */
  readonly buildCount: number;
  /** Why its (or an instance's) last build failed, if it did. */
  readonly lastError: ArtifactDebugError | undefined;
  /** Transient instances kept alive only because they registered a cleanup. */
  readonly retainedInstances: number;
  /** Per-param instances of a parameterised singleton. */
  readonly instances: ArtifactInstanceDebugInfo[];
  /** Watchers attached. */
  readonly watchers: number;
}

/** A snapshot of a container: every artifact's status, dependencies and dependents. */
export interface ContainerDebugInfo {
  /** The container's name. */
  readonly name: string;
  /** True once `dispose()` has run. */
  readonly disposed: boolean;
  /** Names of the containers it resolves through when a key is not its own (a child's parents). */
  readonly parents: string[];
  /** Every artifact registered on this container (not its parents'). */
  readonly artifacts: ArtifactDebugInfo[];
  /** Transient instances kept for their cleanups (the only transients ever retained). */
  readonly retainedTransients: number;
  /** Whether the container currently listens to its store (only while artifacts select state). */
  readonly storeSubscribed: boolean;
}

/** One exported value in an {@link ArtifactBundle}. */
export interface ArtifactBundleEntry {
  /** The artifact's key. */
  readonly key: string;
  /** Present for an instance of a parameterised artifact. */
  readonly param?: string | number;
  /** The serialised value. */
  readonly data: unknown;
}

/** Plain, JSON-serialisable snapshot of the built singletons whose template opted in to `serialize`. */
export interface ArtifactBundle {
  /** Always `"sluice.artifacts"`: what `ArtifactContainer.from` checks before reading the rest. */
  readonly format: "sluice.artifacts";
  /** The bundle format's version. */
  readonly version: 1;
  /** Name of the exporting container. */
  readonly container: string;
  /** One entry per exported value. */
  readonly artifacts: ArtifactBundleEntry[];
}
