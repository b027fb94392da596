import { describeThrown, SystemError } from "@sluice/errors";
import type { ArtifactContainer } from "./container.js";
import { report } from "./errors.js";
import { type ArtifactRecord, type Cleanup, labelOf, type Slot } from "./records.js";

// Cleanups always run in the container that owns the record: its `onError` hears of failures and
// its listeners hear `artifact:disposed`.

/** Cleanups taken from an instance that lost its value, to be run once the walk is over. */
export interface PendingCleanup {
  readonly record: ArtifactRecord;
  readonly param: string | number | undefined;
  readonly cleanups: Cleanup[];
  /** What the instance was built from (its edges are forgotten by then): cleaned only after it. */
  readonly builtFrom: ReadonlySet<Slot> | undefined;
}

/**
 * Runs cleanups newest first; a failing one is reported and the rest still run. With `announce`,
 * emits `artifact:disposed` afterwards.
 */
export async function runCleanups(
  record: ArtifactRecord,
  param: string | number | undefined,
  cleanups: Cleanup[],
  announce: boolean,
): Promise<void> {
  const owner = record.owner;
  for (let i = cleanups.length - 1; i >= 0; i--) {
    try {
      await cleanups[i]!();
    } catch (error) {
      report(
        owner._onError,
        new SystemError(
          "FACTORY_FAILED",
          `cleanup of artifact "${labelOf(record.key, param)}" in container "${owner.name}" failed: ${describeThrown(error)}`,
          { cause: error, details: { key: record.key, container: owner.name, phase: "cleanup" } },
        ),
      );
    }
  }
  if (announce) announceDisposed(record, param);
}

/**
 * Runs collected cleanups one instance after the other, in the order they were collected. Until
 * they are done, each container owning something their instances were built from knows of them
 * (`_cleaning`): its disposal waits for them before cleaning that up from under them.
 */
export function runCleanupBatch(collected: PendingCleanup[]): Promise<void> {
  const running = runInOrder(collected);
  let waiting: Set<ArtifactContainer<any>> | undefined;
  for (const item of collected) {
    for (const dependency of item.builtFrom ?? []) {
      const owner = dependency.record.owner;
      if (!owner._disposed) (waiting ??= new Set()).add(owner);
    }
  }
  if (waiting === undefined) return running;
  for (const owner of waiting) (owner._cleaning ??= new Set()).add(running);
  const forget = (): void => {
    for (const owner of waiting) {
      owner._cleaning?.delete(running);
      if (owner._cleaning?.size === 0) owner._cleaning = undefined;
    }
  };
  return running.then(forget);
}

async function runInOrder(collected: PendingCleanup[]): Promise<void> {
  for (const item of collected) await runCleanups(item.record, item.param, item.cleanups, true);
}

/** Cleanups of a value that will never be kept (late after a timeout, stale, or disposed). */
export function releaseLate(
  record: ArtifactRecord,
  param: string | number | undefined,
  cleanups: Cleanup[],
): void {
  void runCleanups(record, param, cleanups, false);
}

/** Emits `artifact:disposed` for `record[param]` from its owner. */
export function announceDisposed(record: ArtifactRecord, param: string | number | undefined): void {
  const owner = record.owner;
  owner._events?.emit("artifact:disposed", { container: owner.name, key: record.key, param });
}
