import { describeThrown, SystemError } from "@sluice/errors";
import type { HookCalls } from "./hook-calls.js";
import { TIMED_OUT } from "./hook-time-limit.js";
import type { RunCheckpoint } from "./run-checkpoint.js";
import type { TimelineWriter } from "./timeline-writer.js";

/**
 * `checkpoint`, or a copy whose `seq` is past the last event the timeline holds for its run: the
 * events of a run that went on from the checkpoint before a crash (a resume, a stage) are stored
 * under `runId:seq` ids that its rerun would number again, and a store keeps the first event of an
 * id, so the rerun's would be dropped. A timeline that cannot answer within `timeoutMs` (down,
 * hung) does not stop the recovery: it is reported and the checkpoint's own `seq` is used.
 */
export async function continueAfterTimeline<S extends object>(
  checkpoint: RunCheckpoint<S>,
  writer: TimelineWriter,
  /** Times the read, on the runtime's one watchdog (a limit past the longest timer is none). */
  hookCalls: HookCalls,
  timeoutMs: number,
  report: (error: SystemError) => void,
): Promise<RunCheckpoint<S>> {
  // a malformed checkpoint is left to adopt(), which names what is wrong with it
  if (typeof checkpoint !== "object" || checkpoint === null) return checkpoint;
  const { runId, seq } = checkpoint;
  if (typeof runId !== "string" || typeof seq !== "number") return checkpoint;
  try {
    const last = await hookCalls.within(writer.lastStoredSeq(runId), timeoutMs);
    if (last === TIMED_OUT) {
      report(
        new SystemError(
          "TIMEOUT",
          `recover(${runId}): the timeline store did not answer within ${timeoutMs} ms; the run goes on from its checkpoint's seq ${seq}, so events it writes again under ids already stored are dropped`,
          { details: { runId } },
        ),
      );
      return checkpoint;
    }
    return last > seq ? { ...checkpoint, seq: last } : checkpoint;
  } catch (error) {
    report(
      new SystemError(
        SystemError.is(error) ? error.code : "STORAGE_FAILED",
        `recover(${runId}): reading the run's last timeline event failed (${describeThrown(error)}); the run goes on from its checkpoint's seq ${seq}, so events it writes again under ids already stored are dropped`,
        { cause: error, details: { runId } },
      ),
    );
    return checkpoint;
  }
}
