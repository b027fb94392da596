import { describeKind, refuseUnknownKeys, SystemError } from "@sluice/errors";
import { IdMap } from "@sluice/id-map";
import {
  checkStoreOptions,
  createRegisteredStore,
  type StateStore,
  type StateStoreOptions,
  type StoreDisposeHandler,
  setRegistryHandle,
} from "./state-store.js";

/** Options of {@link StoreRegistry.create}. A key it does not have is refused. */
export interface StoreCreateOptions {
  /**
   * `false`: the store's first snapshot is `initial` itself, not a copy. For a state the caller has
   * just made and hands over, such as `JSON.parse` output, whose copy would only cost time (over a
   * second for a 1M-key object, BENCHMARKS.md tenth session). From then on the object is the
   * store's: the caller must not keep it, nor read or write it again (the store writes into it
   * until it first hands it out, then freezes it). It must be plain data: a plain object whose own enumerable properties are data
   * properties (as `JSON.parse` makes). Its own keys `__proto__`, `constructor` and `prototype`, if
   * any, are deleted, as a copy would skip them. A frozen, sealed or otherwise non-extensible object
   * is copied all the same. Default `true`: a copy.
   */
  copy?: boolean;
}

const CREATE_OPTIONS: ReadonlySet<string> = new Set(["copy"]);

/**
 * Whether `copy` is the only own key of `options`; false when it cannot be enumerated. A runtime
 * passes options when it restores a run, per resume: a comparison, no lookup or allocation.
 */
function hasOnlyCreateOptions(options: object): boolean {
  try {
    for (const key in options) if (key !== "copy" && Object.hasOwn(options, key)) return false;
    return true;
  } catch {
    return false;
  }
}

/** Whether `options` asks for `initial` itself rather than a copy (`copy: false`). */
function takesInitial(options: StoreCreateOptions): boolean {
  if (typeof options !== "object" || options === null) {
    throw new SystemError(
      "INVALID_INPUT",
      `storeRegistry.create: options must be an object { copy? } (got ${describeKind(options)})`,
    );
  }
  if (!hasOnlyCreateOptions(options)) {
    refuseUnknownKeys(options, CREATE_OPTIONS, "options", { caller: "storeRegistry.create" });
  }
  const copy = options.copy;
  if (copy !== undefined && typeof copy !== "boolean") {
    throw new SystemError(
      "INVALID_INPUT",
      `storeRegistry.create: options.copy must be a boolean (got ${describeKind(copy)})`,
    );
  }
  return copy === false;
}

/**
 * Creates, finds and disposes {@link StateStore}s by id (the runtime keeps one store per run).
 * A store disposed directly (`store.dispose()`) also leaves its registry, so finished runs never
 * accumulate here.
 *
 * @example
 * ```ts
 * const registry = new StoreRegistry();
 * const store = registry.create("run-1", { orderId: "A1" });
 * registry.dispose("run-1"); // true
 * ```
 */
export class StoreRegistry {
  // One store per run comes and goes: an IdMap, because a Map's table rebuilds cost far more (see IdMap).
  readonly #stores = new IdMap<StateStore<any>>();
  readonly #options: StateStoreOptions;
  // A store leaves through the handle it was given, without a lookup by id.
  readonly #forget: StoreDisposeHandler = (store, handle) => {
    if (this.#stores.at(handle) === store) this.#stores.removeAt(handle);
  };

  /**
   * `options` apply to every store this registry creates.
   *
   * @throws SystemError `INVALID_INPUT` for bad or unknown `options`
   * (`new StoreRegistry: options.onErorr is not an option (options: onError)`).
   */
  constructor(options: StateStoreOptions = {}) {
    checkStoreOptions(options, "new StoreRegistry");
    this.#options = options;
  }

  /** The number of live stores. */
  get size(): number {
    return this.#stores.size;
  }

  /**
   * Creates a store under `id` holding a copy of `initial` (its unsafe keys skipped), or, with
   * `{ copy: false }`, `initial` itself (see {@link StoreCreateOptions.copy}).
   *
   * @throws SystemError `DUPLICATE_KEY` when `id` is taken; `INVALID_INPUT` when `id` is not a
   * non-empty string, `initial` is not a plain object, or for bad or unknown `options`
   * (`storeRegistry.create: options.cpy is not an option (options: copy)`).
   * @example
   * ```ts
   * const registry = new StoreRegistry();
   * // a state just parsed, which nothing else holds: the store takes it over without a copy
   * const store = registry.create("run-1", JSON.parse('{"orderId":"A1"}'), { copy: false });
   * store.get().orderId; // "A1"
   * ```
   */
  create<S extends object>(id: string, initial: S, options?: StoreCreateOptions): StateStore<S> {
    if (typeof id !== "string" || id.length === 0) {
      throw new SystemError(
        "INVALID_INPUT",
        `storeRegistry.create: the id must be a non-empty string (got ${describeKind(id)})`,
      );
    }
    const takeInitial = options === undefined ? false : takesInitial(options);
    const store = createRegisteredStore(initial, this.#options, this.#forget, takeInitial);
    const handle = this.#stores.add(id, store);
    if (handle === -1) {
      throw new SystemError(
        "DUPLICATE_KEY",
        `storeRegistry.create: a store with id "${id}" already exists; dispose it first or pick another id`,
        { details: { id } },
      );
    }
    setRegistryHandle(store, handle);
    return store;
  }

  /** The store under `id`, or `undefined`. */
  get<S extends object>(id: string): StateStore<S> | undefined {
    return this.#stores.get(id) as StateStore<S> | undefined;
  }

  /** True when a live store exists under `id`. */
  has(id: string): boolean {
    return this.#stores.has(id);
  }

  /** Disposes and removes the store under `id`. Returns `false` when there was none. */
  dispose(id: string): boolean {
    const store = this.#stores.get(id);
    if (store === undefined) return false;
    // the store's dispose handler removes it from #stores
    store.dispose();
    return true;
  }

  /** Disposes and removes every store. */
  disposeAll(): void {
    const stores = this.#stores.values();
    this.#stores.clear();
    for (const store of stores) store.dispose();
  }
}
