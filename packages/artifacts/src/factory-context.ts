import { SystemError } from "@sluice/errors";
import { releaseLate } from "./cleanups.js";
import { valueOrThrow } from "./errors.js";
import { type ArtifactRecord, type ChainNode, type Cleanup, RetainedInstance, type Slot } from "./records.js";
import type { ArtifactFactoryContext, ResolveResult, UseDependencyContext } from "./types.js";
import { useCallbackError } from "./validate.js";

/** What a context needs from its container; implemented by `ArtifactContainer`. */
export interface ContextHost {
  readonly runId: string | undefined;
  /** @internal */
  _resolveFrom(ctx: FactoryContext | undefined, key: string, param: unknown): Promise<ResolveResult<unknown>>;
  /** @internal */
  _select(ctx: FactoryContext | undefined, selector: (state: any) => unknown): unknown;
  /** @internal */
  _state(): object;
}

// Methods are exposed through getters that bind on first access, so `({ require }) => require("x")`
// works without allocating a closure per build for code that never destructures.

/**
 * The context handed to one factory attempt. Every resolution, `use` and `select` through it is
 * recorded as a dependency of `slot`.
 */
export class FactoryContext implements ArtifactFactoryContext {
  cleanups: Cleanup[] | undefined = undefined;
  /**
   * What a transient's build resolved: the instance, if kept for its cleanups, remembers it so
   * disposal cleans it before those, even after the record slot's edges are forgotten.
   */
  reads: Slot[] | undefined = undefined;
  abandoned = false;
  /**
   * Set once the attempt returned or threw. A context kept past that (a lazy getter in the value,
   * `() => ctx.require("orders")`) reads untracked, as `container.use()` does: its reads are no
   * longer the build's, so they neither pile up as edges and selections nor extend its chain
   * (where resolving something built from this artifact would be taken for a cycle).
   */
  finished = false;
  /** The `readySeq` of the singleton instance this attempt's value became; 0 until then. */
  keptAs = 0;
  /** Set once this attempt's value, a transient, was handed out. */
  keptTransient = false;
  /** That transient instance, once it is kept for its cleanups. */
  retained: RetainedInstance | undefined = undefined;
  private controller: AbortController | undefined = undefined;
  private bound: BoundMethods | undefined = undefined;

  constructor(
    readonly host: ContextHost,
    readonly record: ArtifactRecord,
    /** Where dependencies are recorded: the instance slot, or the record slot of a transient. */
    readonly slot: Slot,
    readonly node: ChainNode,
    readonly param: string | number | undefined,
  ) {}

  get key(): string {
    return this.record.key;
  }

  get runId(): string | undefined {
    return this.host.runId;
  }

  get signal(): AbortSignal {
    const controller = (this.controller ??= new AbortController());
    if (this.abandoned && !controller.signal.aborted) controller.abort();
    return controller.signal;
  }

  get resolve(): <T = unknown>(key: string, param?: string | number) => Promise<ResolveResult<T>> {
    return this.methods().resolve as never;
  }

  get require(): <T = unknown>(key: string, param?: string | number) => Promise<T> {
    return this.methods().require as never;
  }

  get select(): <R>(selector: (state: any) => R) => R {
    return this.methods().select as never;
  }

  get state(): () => Readonly<any> {
    return this.methods().state;
  }

  get use(): <R>(fn: (deps: UseDependencyContext<any>) => R | Promise<R>) => Promise<R> {
    return this.methods().use as never;
  }

  get onCleanup(): (fn: Cleanup) => void {
    return this.methods().onCleanup;
  }

  /** Marks the attempt as given up (timeout, invalidation, disposal) and aborts its signal. */
  abandon(): void {
    this.abandoned = true;
    this.controller?.abort();
  }

  private methods(): BoundMethods {
    if (this.bound !== undefined) return this.bound;
    const resolve = (key: string, param?: string | number) =>
      this.host._resolveFrom(this.finished ? undefined : this, key, param);
    return (this.bound = {
      resolve,
      require: async (key: string, param?: string | number) => valueOrThrow(await resolve(key, param)),
      select: (selector) => this.host._select(this.finished ? undefined : this, selector),
      state: () => this.host._state(),
      use: async (fn) => {
        const notAFunction = useCallbackError(fn, `ctx.use in the factory of "${this.record.key}"`);
        if (notAFunction !== undefined) throw notAFunction;
        return fn(this);
      },
      onCleanup: (fn) => this.addCleanup(fn),
    });
  }

  private addCleanup(fn: Cleanup): void {
    if (typeof fn !== "function") {
      throw new SystemError("INVALID_INPUT", `onCleanup("${this.record.key}"): expected a function`);
    }
    // A cleanup registered after the attempt was given up belongs to a value nobody will keep.
    if (this.abandoned) releaseLate(this.record, this.param, [fn]);
    else if (this.keptAs === 0 && !this.keptTransient) (this.cleanups ??= []).push(fn);
    else this.addLateCleanup(fn);
  }

  /**
   * A cleanup registered after the value was kept (a pool that opens a connection later): it joins
   * the instance's cleanups while the instance lives, and runs at once when it is already gone.
   */
  private addLateCleanup(fn: Cleanup): void {
    const record = this.record;
    if (!record.owner._disposed) {
      if (record.scope === "singleton") {
        const slot = this.slot;
        if (slot.settled !== undefined && slot.readySeq === this.keptAs) {
          (slot.cleanups ??= []).push(fn);
          return;
        }
      } else {
        if (this.retained === undefined) {
          this.retained = new RetainedInstance(record, this.param, [], this.reads);
          (record.retained ??= new Set()).add(this.retained);
        }
        this.retained.cleanups.push(fn);
        return;
      }
    }
    releaseLate(record, this.param, [fn]);
  }
}

interface BoundMethods {
  resolve(key: string, param?: string | number): Promise<ResolveResult<unknown>>;
  require(key: string, param?: string | number): Promise<unknown>;
  select(selector: (state: any) => unknown): unknown;
  state(): object;
  use(fn: (deps: UseDependencyContext<any>) => unknown): Promise<unknown>;
  onCleanup(fn: Cleanup): void;
}

/** The untracked dependency context `container.use(fn)` hands to `fn` (one per container). */
export class DependencyContext implements UseDependencyContext {
  readonly resolve: <T = unknown>(key: string, param?: string | number) => Promise<ResolveResult<T>>;
  readonly require: <T = unknown>(key: string, param?: string | number) => Promise<T>;
  readonly select: <R>(selector: (state: any) => R) => R;

  constructor(
    host: ContextHost & { resolve(key: string, param?: string | number): Promise<ResolveResult<unknown>> },
  ) {
    this.resolve = ((key: string, param?: string | number) => host.resolve(key, param)) as never;
    this.require = (async (key: string, param?: string | number) =>
      valueOrThrow(await host.resolve(key, param))) as never;
    this.select = ((selector: (state: any) => unknown) => host._select(undefined, selector)) as never;
  }
}
