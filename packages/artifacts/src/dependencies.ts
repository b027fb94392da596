import type { ArtifactContainer } from "./container.js";
import type { Slot } from "./records.js";

// What a build read, recorded on its slot: the slots it resolved (edges kept in both directions,
// so invalidation can walk to dependents) and the store slices it selected (which keep the owning
// container subscribed to its store).

/** Records that `from` read `to`. */
export function link(from: Slot, to: Slot): void {
  (from.dependencies ??= new Set()).add(to);
  (to.dependents ??= new Set()).add(from);
}

/** Forgets what `slot` read: it is about to be rebuilt, invalidated or disposed. */
export function forgetReads(slot: Slot): void {
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
    const owner = slot.record.owner;
    owner._selecting?.delete(slot);
    releaseStoreIfIdle(owner);
  }
}

/** Unsubscribes `container` from its store once none of its slots holds a selection. */
export function releaseStoreIfIdle(container: ArtifactContainer<any>): void {
  const unsubscribe = container._unsubscribeStore;
  if (unsubscribe === undefined || (container._selecting !== undefined && container._selecting.size > 0))
    return;
  container._unsubscribeStore = undefined;
  container._selecting = undefined;
  unsubscribe();
}
