import { describeThrown, SystemError } from "@sluice/errors";
import { report } from "./errors.js";
import { type ArtifactRecord, type Cleanup, labelOf } from "./records.js";

// Cleanups always run in the container that owns the record: its `onError` hears of failures and
// its listeners hear `artifact:disposed`.

/** Cleanups taken from an instance that lost its value, to be run once the walk is over. */
export interface PendingCleanup {
  readonly record: ArtifactRecord;
  readonly param: string | number | undefined;
  readonly cleanups: Cleanup[];
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

/** Runs collected cleanups one instance after the other, in the order they were collected. */
export async function runCleanupBatch(collected: PendingCleanup[]): Promise<void> {
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
