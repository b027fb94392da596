import { describeThrown, SystemError } from "@sluice/errors";
import { MAX_CHECKPOINT_SEQ } from "@sluice/pipeline";
import type { HookCalls } from "./hook-calls.js";
import { TIMED_OUT } from "./hook-time-limit.js";
import type { RunCheckpoint } from "./run-checkpoint.js";
import type { RunRecord } from "./run-record.js";
import type { StoredRun, TimelineWriter } from "./timeline-writer.js";

/**
 * How far the timeline holds the run a checkpoint is recovered for: its last `seq` (0: none) and
 * latest `at`, or `undefined` when it could not be read. The crashed process may have written
 * events of the run past the checkpoint (a resume, a stage) under `runId:seq` ids that its rerun
 * would number again, and a store keeps the first event of an id, so the rerun goes on after them
 * (see {@link recoveredPauseSeq}), and no earlier in time. A timeline that cannot answer within
 * `timeoutMs` (down, hung) does not stop the recovery: it is reported and `undefined` returned.
 *
 * @throws SystemError `INVALID_STATE` when the timeline shows the run ended (`run.completed`,
 * `run.failed`, `run.aborted`): a process that stopped between a run's end and its `onCleanup`
 * leaves the checkpoint saved in `onPause` behind, and adopting it would run an ended run (an
 * aborted order, say) again.
 */
export async function storedExtent(
  /** The checkpoint's run id and `seq`, read once by the check adopt() makes. */
  read: { runId: string; seq: number },
  writer: TimelineWriter,
  /** Times the read, on the runtime's one watchdog (a limit past the longest timer is none). */
  hookCalls: HookCalls,
  timeoutMs: number,
  report: (error: SystemError) => void,
): Promise<StoredExtent | undefined> {
  const { runId, seq } = read;
  let stored: StoredRun | typeof TIMED_OUT;
  let abandoned = false;
  try {
    stored = await hookCalls.within(
      writer.storedRun(runId, () => abandoned),
      timeoutMs,
    );
  } catch (error) {
    report(
      new SystemError(
        SystemError.is(error) ? error.code : "STORAGE_FAILED",
        `recover(${runId}): reading the run's last timeline event failed (${describeThrown(error)}); the run goes on from its checkpoint's seq ${seq}, so events it writes again under ids already stored are dropped`,
        { cause: error, details: { runId } },
      ),
    );
    return undefined;
  }
  if (stored === TIMED_OUT) {
    // a store still paging stops at its next page instead of being read on for nobody
    abandoned = true;
    report(
      new SystemError(
        "TIMEOUT",
        `recover(${runId}): the timeline store did not answer within ${timeoutMs} ms; the run goes on from its checkpoint's seq ${seq}, so events it writes again under ids already stored are dropped`,
        { details: { runId } },
      ),
    );
    return undefined;
  }
  const { end } = stored;
  if (end !== undefined) {
    throw new SystemError(
      "INVALID_STATE",
      `recover(${runId}): the timeline shows the run ended (${end.type} at seq ${end.seq}), so it is not adopted: the checkpoint was left over by a process that stopped before the run's onCleanup; delete it (to run the run again from it anyway, adopt({ ...checkpoint, seq: ${stored.lastSeq} }))`,
      { details: { runId, ended: end.type, seq: end.seq, lastSeq: stored.lastSeq } },
    );
  }
  return { lastSeq: stored.lastSeq, lastAt: stored.lastAt };
}

/** What `recover` needs of the run's stored timeline: how far it goes, in `seq` and in time. */
export type StoredExtent = Pick<StoredRun, "lastSeq" | "lastAt">;

/**
 * The `seq` of the `run.paused` a recovered run's timeline gets, or `undefined` when its stored
 * timeline ends at the checkpoint's own `run.paused` (`storedSeq` equal to `checkpointSeq`) or
 * could not be read. Past the stored events when the run went on from the checkpoint before the
 * crash (its timeline would otherwise end running: a `run.resumed`, a stage begun); at the
 * checkpoint's `seq` when the crash lost the pause's own event (the writer batches). Either way
 * the timeline then says what the run is: parked at the checkpoint's pause. `undefined` too when
 * one more event would pass a checkpoint's largest `seq`.
 */
export function recoveredPauseSeq(checkpointSeq: number, storedSeq: number | undefined): number | undefined {
  if (storedSeq === undefined || storedSeq === checkpointSeq) return undefined;
  if (storedSeq < checkpointSeq) return checkpointSeq;
  return storedSeq < MAX_CHECKPOINT_SEQ ? storedSeq + 1 : undefined;
}

/**
 * Writes the `run.paused` of a run `recover()` adopted whose stored timeline did not end at its
 * checkpoint's pause (see {@link recoveredPauseSeq}): stage, `nextStage` and `pause` as the
 * pipeline's own `run.paused` has them, and `recovered` saying from which checkpoint.
 */
export function writeRecoveredPause(
  writer: TimelineWriter,
  record: RunRecord,
  checkpoint: RunCheckpoint | undefined,
  seq: number,
  checkpointSeq: number,
  storedSeq: number,
): void {
  const message =
    storedSeq > checkpointSeq
      ? `recovered from its checkpoint (seq ${checkpointSeq}): parked again at that pause; the events from seq ${checkpointSeq + 1} to ${storedSeq} are of the run going on from it before its process stopped`
      : `recovered from its checkpoint (seq ${checkpointSeq}): parked at that pause, whose run.paused this timeline did not hold`;
  writer.write(
    record.runId,
    record.workflow.id,
    seq,
    record.stamp(),
    "runtime",
    "run.paused",
    checkpoint?.pausedAfterStageId,
    undefined,
    undefined,
    message,
    {
      nextStage: checkpoint?.nextStageId,
      pause: checkpoint?.pause,
      recovered: { checkpointSeq, storedSeq },
    },
  );
}

/** `checkpoint` going on from `seq`; itself when it cannot be copied (adopt() then says why). */
export function withSeq<S extends object>(checkpoint: RunCheckpoint<S>, seq: number): RunCheckpoint<S> {
  try {
    return { ...checkpoint, seq };
  } catch {
    return checkpoint;
  }
}
