import { SystemError } from "@sluice/errors";
import { type PendingCleanup, runCleanupBatch } from "./cleanups.js";
import type { ArtifactContainer } from "./container.js";
import { report } from "./errors.js";
import { invalidateSlot, rebuildWatched } from "./invalidation.js";
import { ArtifactRecord } from "./records.js";
import { resolveRecord } from "./resolution.js";
import type { ArtifactTemplate } from "./types.js";

/**
 * Adds the record of a validated template to `container`. Throws `DUPLICATE_KEY` when the key is
 * taken, unless `override` (then the old record is retired). With `startEager`, an eager template
 * starts building now; `from()` starts them itself, after restoring what the bundle holds.
 */
export function addRecord(
  container: ArtifactContainer<any>,
  template: ArtifactTemplate<unknown>,
  override: boolean,
  startEager: boolean,
): ArtifactRecord {
  const key = template.key;
  const records = (container._records ??= new Map());
  const existing = records.get(key);
  if (existing !== undefined && !override) {
    throw new SystemError(
      "DUPLICATE_KEY",
      `register: artifact "${key}" is already registered in container "${container.name}"; pass { override: true } to replace it`,
      { details: { key, container: container.name } },
    );
  }
  const record = new ArtifactRecord(container, template);
  records.set(key, record);
  if (existing !== undefined) retire(existing, record);
  container._events?.emit("artifact:registered", {
    container: container.name,
    key,
    param: undefined,
    scope: record.scope,
    override: existing !== undefined,
  });
  if (startEager && !record.lazy) buildEager(record);
  return record;
}

/** Starts building an eager singleton; nobody awaits it, so a failure must still be heard. */
export function buildEager(record: ArtifactRecord): void {
  void resolveRecord(record, undefined, undefined).then((result) => {
    // The failure was emitted as build:error; make sure it is not silent when nobody listens.
    const owner = record.owner;
    if (!result.ok && owner._events?.has("build:error") !== true) report(owner._onError, result.error);
  });
}

/** Replaces `old` by `next`: old instances are disposed, their dependents invalidated. */
function retire(old: ArtifactRecord, next: ArtifactRecord): void {
  old.replaced = true;
  const collected: PendingCleanup[] = [];
  for (const slot of old.slots()) {
    invalidateSlot(slot, "override", collected, undefined);
    slot.status = "disposed";
  }
  // Transients handed out under the old template may still be in use: clean them at disposal.
  if (old.retained !== undefined) next.retained = old.retained;
  if (old.watchers !== undefined) {
    next.watchers = old.watchers;
    for (const watcher of old.watchers) watcher.moveTo(next);
    old.watchers = undefined;
  }
  void runCleanupBatch(collected);
  if (next.watchers !== undefined && next.lazy) rebuildWatched(next, undefined);
}
