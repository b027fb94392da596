import type { SystemError } from "@sluice/errors";
import type { ArtifactContainer } from "./container.js";
import type { ResolvedRetry } from "./retry.js";
import { resolveRetry } from "./retry.js";
import type {
  ArtifactScope,
  ArtifactSerializer,
  ArtifactStatus,
  ArtifactTemplate,
  ResolveResult,
} from "./types.js";

/** A cleanup registered through `ctx.onCleanup`. */
export type Cleanup = () => void | Promise<void>;

/** A tracked `select()` read: re-run on every store change and compared with `Object.is`. */
export interface Selection {
  readonly selector: (state: any) => unknown;
  readonly value: unknown;
}

/** Anything that is told when an artifact's value changes (the observers of `watch()`). */
export interface ValueWatcher {
  readonly param: string | number | undefined;
  readonly active: boolean;
  /** Tells its listeners `value`; a listener's fault goes to `report`, with whether it threw or rejected. */
  notify(value: unknown, report: (error: unknown, failed: "threw" | "rejected") => void): void;
  moveTo(record: ArtifactRecord): void;
}

/**
 * `serialize: true`: the value goes into the bundle as a JSON copy, so a bundle is detached from
 * the live instance and always survives `JSON.stringify`; a value JSON cannot hold (a cycle, a
 * BigInt) makes `export()` throw `INVALID_STATE` instead of producing a bundle that fails later.
 */
const AS_JSON: ArtifactSerializer<unknown> = {
  serialize: (value) => {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError(`${typeof value} is not JSON-compatible`);
    return JSON.parse(text);
  },
  deserialize: (data) => data,
};

/** One registered template, normalised once at `register()` so builds read plain fields. */
export class ArtifactRecord {
  readonly key: string;
  readonly factory: ArtifactTemplate<unknown>["factory"];
  readonly scope: ArtifactScope;
  readonly lazy: boolean;
  readonly timeoutMs: number | undefined;
  readonly retry: ResolvedRetry | undefined;
  readonly parameterised: boolean;
  readonly serializer: ArtifactSerializer<unknown> | undefined;
  /** The non-param singleton instance; for transient and parameterised templates it carries the
   * record-level facts (edges, build count, last error) and never a cached value. */
  readonly slot: Slot;
  instances: Map<string | number, Slot> | undefined;
  /** Transient instances that registered a cleanup: the only transients the container keeps. */
  retained: Set<RetainedInstance> | undefined;
  watchers: Set<ValueWatcher> | undefined;
  replaced = false;

  constructor(
    /** The container that registered the template: the only one that builds and caches it. */
    readonly owner: ArtifactContainer<any>,
    template: ArtifactTemplate<unknown>,
  ) {
    this.key = template.key;
    this.factory = template.factory;
    this.scope = template.scope ?? "singleton";
    this.lazy = template.lazy ?? true;
    this.timeoutMs = template.timeoutMs;
    this.retry = resolveRetry(template.retries);
    this.parameterised = template.param === true;
    const s = template.serialize;
    this.serializer = s === true ? AS_JSON : s === false || s === undefined ? undefined : s;
    this.slot = new Slot(this, undefined);
  }

  /** The slot caching the instance for `param`, created on demand (singletons only). */
  slotFor(param: string | number | undefined): Slot {
    if (param === undefined) return this.slot;
    const instances = (this.instances ??= new Map());
    let slot = instances.get(param);
    if (slot === undefined) {
      slot = new Slot(this, param);
      instances.set(param, slot);
    }
    return slot;
  }

  /** The record slot followed by every param instance: all the slots that can hold state. */
  slots(): Slot[] {
    if (this.instances === undefined) return [this.slot];
    return [this.slot, ...this.instances.values()];
  }

  /** Whether `param` is the right kind for this template: a value when parameterised, else none. */
  fits(param: string | number | undefined): boolean {
    return (param !== undefined) === this.parameterised;
  }

  /** The cached value for `param`, or `undefined` when there is none. Never builds. */
  peek(param: string | number | undefined): unknown {
    if (this.scope === "transient" || !this.fits(param)) return undefined;
    const slot = param === undefined ? this.slot : this.instances?.get(param);
    return slot?.settled === undefined ? undefined : slot.value;
  }
}

/** One cacheable instance: a singleton, or one param value of a parameterised singleton. */
export class Slot {
  /**
   * Moved to "building", "ready" and "failed" by resolution.ts, to "invalidated" by
   * invalidation.ts, to "disposed" by disposal.ts and by an override (registration.ts).
   */
  status: ArtifactStatus = "registered";
  value: unknown = undefined;
  /** The shared, already-resolved result while `ready`: the whole cost of a cache hit. */
  settled: Promise<ResolveResult<unknown>> | undefined = undefined;
  /** The in-flight build every concurrent resolver joins. */
  pending: Promise<ResolveResult<unknown>> | undefined = undefined;
  /** Bumped by invalidation; a build that finishes with an older generation is stale. */
  generation = 0;
  buildCount = 0;
  lastError: SystemError | undefined = undefined;
  dependencies: Set<Slot> | undefined = undefined;
  dependents: Set<Slot> | undefined = undefined;
  selections: Selection[] | undefined = undefined;
  cleanups: Cleanup[] | undefined = undefined;
  /** In-flight builds this build is waiting for (for cross-chain cycle detection). */
  waitingOn: Set<Slot> | undefined = undefined;
  /** Aborts the running attempt when the slot is invalidated or disposed mid-build. */
  abortBuild: (() => void) | undefined = undefined;
  /** Order in which instances became ready; ties in disposal order are broken by it. */
  readySeq = 0;

  constructor(
    readonly record: ArtifactRecord,
    readonly param: string | number | undefined,
  ) {}

  /** `key` or `key[param]`, for messages. */
  get label(): string {
    return labelOf(this.record.key, this.param);
  }
}

/** A transient instance kept only so its cleanups run at disposal. */
export class RetainedInstance {
  constructor(
    readonly record: ArtifactRecord,
    readonly param: string | number | undefined,
    readonly cleanups: Cleanup[],
    /**
     * The slots its build resolved. Its own, not the record slot's edges: those are forgotten when
     * the transient is invalidated (a `select` change), while this instance lives on until disposal
     * and must still be cleaned before what it was built from.
     */
    readonly builtFrom: Slot[] | undefined,
  ) {}
}

/**
 * One link of the resolution chain a factory context carries: which artifact is being built and
 * on behalf of whom. Walking it finds cycles across `await`s without any global state.
 */
export class ChainNode {
  constructor(
    readonly record: ArtifactRecord,
    readonly param: string | number | undefined,
    readonly prev: ChainNode | undefined,
    /** The nearest singleton being built in this chain: what waits when this build waits. */
    readonly waiter: Slot | undefined,
  ) {}
}

/** `key` or `key[param]`. */
export function labelOf(key: string, param: string | number | undefined): string {
  return param === undefined ? key : `${key}[${String(param)}]`;
}
