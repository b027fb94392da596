import { describeThrown, SystemError } from "@sluice/errors";
import type { HookCalls } from "./hook-calls.js";
import { TIMED_OUT } from "./hook-time-limit.js";
import type { RunCheckpoint } from "./run-checkpoint.js";
import type { StoredRun, TimelineWriter } from "./timeline-writer.js";

/**
 * The `seq` a recovered run goes on from when the timeline holds events of it past its checkpoint's,
 * else `undefined` (the checkpoint's own): the events of a run that went on from the checkpoint
 * before a crash (a resume, a stage) are stored under `runId:seq` ids that its rerun would number
 * again, and a store keeps the first event of an id, so the rerun's would be dropped. A timeline
 * that cannot answer within `timeoutMs` (down, hung) does not stop the recovery: it is reported and
 * the checkpoint's own `seq` is used. Resolves with a number, never with the checkpoint: resolving
 * with an object reads its `then`, which a proxy's trap may throw from.
 *
 * @throws SystemError `INVALID_STATE` when the timeline shows the run ended (`run.completed`,
 * `run.failed`, `run.aborted`): a process that stopped between a run's end and its `onCleanup`
 * leaves the checkpoint saved in `onPause` behind, and adopting it would run an ended run (an
 * aborted order, say) again.
 */
export async function seqAfterTimeline(
  /** The checkpoint's run id and `seq`, read once by the check adopt() makes. */
  read: { runId: string; seq: number },
  writer: TimelineWriter,
  /** Times the read, on the runtime's one watchdog (a limit past the longest timer is none). */
  hookCalls: HookCalls,
  timeoutMs: number,
  report: (error: SystemError) => void,
): Promise<number | undefined> {
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
  return stored.lastSeq > seq ? stored.lastSeq : undefined;
}

/** `checkpoint` going on from `seq`; itself when it cannot be copied (adopt() then says why). */
export function withSeq<S extends object>(checkpoint: RunCheckpoint<S>, seq: number): RunCheckpoint<S> {
  try {
    return { ...checkpoint, seq };
  } catch {
    return checkpoint;
  }
}
