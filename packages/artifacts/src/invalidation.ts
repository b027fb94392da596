import type { PendingCleanup } from "./cleanups.js";
import { forgetReads } from "./dependencies.js";
import { notifyWatchers } from "./observer.js";
import type { ArtifactRecord, Cleanup, Slot } from "./records.js";
import { resolveRecord } from "./resolution.js";
import type { InvalidationReason } from "./types.js";

/**
 * Drops a slot's cached value and, first, those of everything that depends on it (in any
 * container). Cleanups are collected, dependents before dependencies, for the caller to run; the
 * slots that were ready are added to `touched`, dependents first, when the caller wants to rebuild.
 */
export function invalidateSlot(
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
      // Nothing cached to drop; but watchers of a failed build still wait for a value, which what
      // it read may now give: it is rebuilt for them below.
      const watchedFailure = status === "failed" && slot.record.watchers !== undefined;
      if (!watchedFailure && slot.dependents === undefined && slot.selections === undefined) return;
    }
    slot.status = "invalidated";
  }
  const dependents = slot.dependents;
  slot.dependents = undefined;
  // forgetReads lets go of this set without emptying it: the cleanups below still need it.
  const builtFrom = slot.dependencies;
  if (status !== "building") forgetReads(slot);
  const dropsValue = isInstance && status !== "building";
  let cleanups: Cleanup[] | undefined;
  if (dropsValue) {
    // Dropped before the dependents are visited: what they notify (an `artifact:invalidated`
    // handler, a watch listener) may resolve them again at once, and that build must not find
    // this stale value still cached.
    slot.value = undefined;
    slot.settled = undefined;
    cleanups = slot.cleanups;
    slot.cleanups = undefined;
  }
  if (dependents !== undefined) {
    for (const dependent of dependents) invalidateSlot(dependent, "dependency", collected, touched);
  }
  if (!dropsValue) {
    emitInvalidated(slot, reason);
    return;
  }
  if (wasReady) touched?.push(slot);
  if (cleanups !== undefined) collected.push({ record: slot.record, param: slot.param, cleanups, builtFrom });
  emitInvalidated(slot, reason);
  if (slot.record.watchers !== undefined && (wasReady || status === "failed")) {
    if (wasReady) notifyWatchers(slot, undefined);
    if (reason !== "override") rebuildWatched(slot.record, slot.param);
  }
}

/** A watched artifact that lost its value (or failed to build one) is rebuilt at once, so watchers see the new one. */
export function rebuildWatched(record: ArtifactRecord, param: string | number | undefined): void {
  let active = false;
  for (const watcher of record.watchers ?? []) if (watcher.param === param && watcher.active) active = true;
  if (!active) return;
  queueMicrotask(() => {
    if (record.owner._disposed || record.replaced) return;
    void resolveRecord(record, param, undefined);
  });
}

function emitInvalidated(slot: Slot, reason: InvalidationReason): void {
  const owner = slot.record.owner;
  owner._events?.emit("artifact:invalidated", {
    container: owner.name,
    key: slot.record.key,
    param: slot.param,
    reason,
  });
}
