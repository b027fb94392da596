import { SystemError } from "@sluice/errors";
import { IdMap } from "@sluice/id-map";
import {
  checkStoreOptions,
  createRegisteredStore,
  type StateStore,
  type StateStoreOptions,
  type StoreDisposeHandler,
  setRegistryHandle,
} from "./state-store.js";

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
   * Creates a store under `id`.
   *
   * @throws SystemError `DUPLICATE_KEY` when `id` is taken; `INVALID_INPUT` when `id` is not a
   * non-empty string or `initial` is not a plain object.
   */
  create<S extends object>(id: string, initial: S): StateStore<S> {
    if (typeof id !== "string" || id.length === 0) {
      throw new SystemError("INVALID_INPUT", "storeRegistry.create: the id must be a non-empty string");
    }
    const store = createRegisteredStore(initial, this.#options, this.#forget);
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
