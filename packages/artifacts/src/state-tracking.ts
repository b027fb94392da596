import { SystemError } from "@sluice/errors";
import { type PendingCleanup, runCleanupBatch } from "./cleanups.js";
import type { ArtifactContainer } from "./container.js";
import { releaseStoreIfIdle } from "./dependencies.js";
import { disposedError } from "./errors.js";
import type { FactoryContext } from "./factory-context.js";
import { invalidateSlot } from "./invalidation.js";

// A factory's select() reads are kept on its slot; while any slot of a container holds one, the
// container is subscribed to its store and re-runs those selectors on every change, invalidating
// the builds whose reads changed. Forgetting the last read ends the subscription (dependencies.ts).

const EMPTY_STATE: object = Object.freeze({});

/** The state of `container`'s store, or a frozen `{}` when it has none. Untracked. */
export function readState(container: ArtifactContainer<any>): object {
  const store = container._store;
  return store === undefined ? EMPTY_STATE : store.get();
}

/**
 * Runs `selector` on the state of `container`; on behalf of a factory `ctx`, the read is tracked.
 * Throws `DISPOSED` once the container is disposed: a disposed container never subscribes again.
 */
export function select(
  container: ArtifactContainer<any>,
  ctx: FactoryContext | undefined,
  selector: (state: any) => unknown,
): unknown {
  if (typeof selector !== "function")
    throw new SystemError("INVALID_INPUT", "select: selector must be a function");
  if (container._disposed) throw disposedError(container.name, "select");
  const value = selector(readState(container));
  const store = container._store;
  // Only factory reads are tracked, and only a store that can change needs a subscription.
  if (ctx === undefined || store === undefined || ctx.abandoned || store.disposed) return value;
  const slot = ctx.slot;
  (slot.selections ??= []).push({ selector, value });
  (container._selecting ??= new Set()).add(slot);
  if (container._unsubscribeStore === undefined) {
    container._unsubscribeStore = store.subscribe((next) => recheckSelections(container, next));
  }
  return value;
}

/** Ends `container`'s store subscription, whatever still reads it: the container is being disposed. */
export function closeStoreSubscription(container: ArtifactContainer<any>): void {
  releaseStoreIfIdle(container);
  if (container._unsubscribeStore !== undefined) {
    container._unsubscribeStore();
    container._unsubscribeStore = undefined;
  }
  container._selecting = undefined;
}

function recheckSelections(container: ArtifactContainer<any>, next: object): void {
  const selecting = container._selecting;
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
        invalidateSlot(slot, "state", collected, undefined);
        break;
      }
    }
  }
  releaseStoreIfIdle(container);
  void runCleanupBatch(collected);
}
