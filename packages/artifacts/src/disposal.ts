import {
  announceDisposed,
  type PendingCleanup,
  runCleanupBatch,
  runCleanups,
  untilAborted,
} from "./cleanups.js";
import type { ArtifactContainer } from "./container.js";
import { forgetReads } from "./dependencies.js";
import { invalidateSlot } from "./invalidation.js";
import { notifyWatchers } from "./observer.js";
import { type ArtifactRecord, RetainedInstance, type Slot } from "./records.js";
import { closeStoreSubscription } from "./state-tracking.js";

/**
 * Disposes `container`: child scopes first, then every instance's cleanups (singletons and the
 * transients that registered one) in reverse dependency order, each once; then it lets go of its
 * store, listeners and lookups. `scopeParent` is the container it is a scope of, which forgets it.
 * Once `signal` aborts nothing is waited for any more: the cleanups left are started in order.
 */
export async function disposeContainer(
  container: ArtifactContainer<any>,
  scopeParent: ArtifactContainer<any> | undefined,
  signal: AbortSignal | undefined,
): Promise<void> {
  container._events?.emit("container:dispose", { container: container.name });
  container._disposed = true;
  if (container._scopes !== undefined) {
    const scopes = [...container._scopes].reverse();
    container._scopes = undefined;
    const options = signal === undefined ? undefined : { signal };
    // Raced with the signal as well: a child's disposal may have begun earlier, without it.
    for (const child of scopes) await untilAborted(child.dispose(options), signal);
  }
  scopeParent?._detachScope(container);
  const records = container._records === undefined ? [] : [...container._records.values()];
  const order = disposalOrder(container, records);
  const outside: PendingCleanup[] = [];
  for (const record of records) {
    for (const slot of record.slots()) {
      slot.abortBuild?.();
      // Dependents in other containers (runs extending this one) lose what they were built on.
      const dependents = slot.dependents;
      slot.dependents = undefined;
      for (const dependent of dependents ?? []) {
        if (dependent.record.owner !== container) invalidateSlot(dependent, "dependency", outside, undefined);
      }
    }
  }
  await runCleanupBatch(outside, signal);
  // Instances an invalidation dropped may still be letting go of what they were built from here:
  // that is cleaned only after them.
  const cleaning = container._cleaning;
  if (cleaning !== undefined) {
    container._cleaning = undefined;
    await untilAborted(Promise.all(cleaning), signal);
  }
  for (const item of order) {
    if (item instanceof RetainedInstance) {
      await runCleanups(item.record, item.param, item.cleanups, true, signal);
      continue;
    }
    const cleanups = item.cleanups;
    item.cleanups = undefined;
    if (cleanups !== undefined) await runCleanups(item.record, item.param, cleanups, true, signal);
    // Tested here, not only inside: even an empty call in this loop costs every disposal about
    // 120 bytes of garbage, and most containers have no listeners.
    else if (container._events !== undefined) announceDisposed(item.record, item.param);
  }
  for (const record of records) {
    record.retained = undefined;
    for (const slot of record.slots()) {
      const wasReady = slot.settled !== undefined;
      forgetReads(slot);
      slot.status = "disposed";
      slot.value = undefined;
      slot.settled = undefined;
      if (wasReady && record.watchers !== undefined) notifyWatchers(slot, undefined);
    }
    record.watchers = undefined;
  }
  closeStoreSubscription(container);
  container._events = undefined;
  container._depsContext = undefined;
  // Kept (outside the lookup path) so debugInfo() still shows what was there.
  container._retiredRecords = container._records;
  container._records = undefined;
}

/**
 * Dependents before their dependencies; among independent instances, the most recently built
 * first. Retained transients come right before what they were built from.
 */
function disposalOrder(
  container: ArtifactContainer<any>,
  records: ArtifactRecord[],
): Array<Slot | RetainedInstance> {
  const roots: Slot[] = [];
  for (const record of records) for (const slot of record.slots()) roots.push(slot);
  roots.sort((a, b) => b.readySeq - a.readySeq);
  // A retained transient remembers what it was built from: the record slot's edges to those are
  // gone once a `select` change invalidated the transient, but the instance is cleaned only now.
  let builtFrom: Map<Slot, Slot[]> | undefined;
  for (const record of records) {
    for (const instance of record.retained ?? []) {
      for (const dependency of instance.builtFrom ?? []) {
        if (dependency.record.owner !== container) continue;
        const transients = (builtFrom ??= new Map()).get(dependency);
        if (transients === undefined) builtFrom.set(dependency, [record.slot]);
        else transients.push(record.slot);
      }
    }
  }
  const order: Array<Slot | RetainedInstance> = [];
  const visited = new Set<Slot>();
  const visit = (slot: Slot): void => {
    if (visited.has(slot)) return;
    visited.add(slot);
    for (const dependent of slot.dependents ?? []) if (dependent.record.owner === container) visit(dependent);
    if (builtFrom !== undefined) for (const transient of builtFrom.get(slot) ?? []) visit(transient);
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
