import { catchRejection, describeThrown, SystemError } from "@sluice/errors";
import { matchPauseRequest, type PauseRequestData } from "@sluice/pause";
import type { ResumeCause } from "@sluice/pipeline";
import { isPlainObject } from "@sluice/store";
import { snapshotPayload } from "./buffered-payload.js";
import type { HeldWaits } from "./held-waits.js";
import type { BufferedEvent, RunRecord } from "./run-record.js";
import type { RunState } from "./types.js";
import { ignoreRejection } from "./unawaited-result.js";
import { copyUntrusted } from "./untrusted-input.js";
import type { WaitIndex } from "./wait-index.js";

/** The first of `waits` that the event satisfies, if any. */
export function firstMatch(
  waits: readonly PauseRequestData[],
  event: string,
  payload: unknown,
): PauseRequestData | undefined {
  for (let i = 0; i < waits.length; i++) if (matchPauseRequest(waits[i]!, event, payload)) return waits[i];
  return undefined;
}

/** The wait with the earliest deadline (the first registered among equals), if any has one. */
export function earliestDeadline(waits: readonly PauseRequestData[]): PauseRequestData | undefined {
  let earliest: PauseRequestData | undefined;
  for (const wait of waits) {
    if (wait.deadline !== undefined && (earliest === undefined || wait.deadline < earliest.deadline!))
      earliest = wait;
  }
  return earliest;
}

/** A buffered event a pausing run resumes with at once: its patch, and what resumed the run. */
export interface BufferedResume {
  readonly patch: RunState;
  readonly cause: ResumeCause;
}

/** What resumed a run that `resume()` resumed (its `run.resumed` data). */
export const BY_RESUME: ResumeCause = Object.freeze({ by: "resume" });

/** What resumed a run that the `sluice.run.resume` control event resumed (its `run.resumed` data). */
export const BY_CONTROL: ResumeCause = Object.freeze({ by: "control" });

/** What resumed a run that `event` resumed by meeting `wait` (its `run.resumed` data). */
export function byEvent(event: string, wait: PauseRequestData): ResumeCause {
  return { by: "event", event, wait: wait.id };
}

/**
 * What resumed a run whose `wait` timed out (its `run.resumed` data): that wait, and the event it
 * waited for, if any ("escalated: no reply to ticket.replied came").
 */
export function byTimeout(wait: PauseRequestData): ResumeCause {
  return wait.event === undefined
    ? { by: "timeout", wait: wait.id }
    : { by: "timeout", event: wait.event, wait: wait.id };
}

/**
 * Bus events on their way to resuming runs: kept in a running run's buffer when they satisfy a
 * wait it registered (the run has not parked yet), taken from the buffer when it pauses, and made
 * into the patch the run resumes with.
 */
export class ResumeEvents {
  /** Bus deliveries checked against running runs' buffers so far (see `bufferMatching`). */
  private deliveries = 0;

  constructor(
    private readonly maxPerRun: number,
    private readonly report: (error: SystemError) => void,
  ) {}

  /**
   * Buffers the event for each running run in `index` whose buffer waits it satisfies, or only
   * one of its `held` waits (then it is marked as kept for them only).
   */
  bufferMatching(index: WaitIndex, event: string, payload: unknown, held: HeldWaits): void {
    const candidates = index.candidates(payload);
    // A run with two waits in the index is a candidate twice for one delivery: buffer it once.
    // (Comparing with the last buffered payload instead lost a host's second emit of one object.)
    const delivery = ++this.deliveries;
    // One copy per delivery, shared by the runs that hold it (as the live payload is), made once
    // the event is held at all.
    let copy: { payload: unknown } | undefined;
    for (let i = 0; i < candidates.length; i++) {
      const record = candidates[i]!;
      if (record.status !== "running" || record.bufferedDelivery === delivery) continue;
      let heldOnly = false;
      if (firstMatch(record.bufferWaits, event, payload) === undefined) {
        if (!held.holdsFor(record, event, payload)) continue;
        heldOnly = true;
      }
      record.bufferedDelivery = delivery;
      copy ??= { payload: snapshotPayload(payload) };
      this.buffer(record, event, copy.payload, heldOnly);
    }
  }

  /**
   * Takes the oldest buffered event that satisfies one of the run's current waits: the patch it
   * resumes the run with, and what resumed it (that event, and the wait it met).
   */
  takeBuffered(record: RunRecord): BufferedResume | undefined {
    const buffer = record.buffer;
    if (buffer === undefined || buffer.length === 0) return undefined;
    // An event held while the run finished its stage, at or after the earliest deadline of its
    // waits, came too late: a parked run would have timed out first (on that wait, whichever wait
    // the event meets).
    const deadline = earliestDeadline(record.waits)?.deadline;
    for (let i = 0; i < buffer.length; i++) {
      const item = buffer[i]!;
      if (deadline !== undefined && item.at >= deadline) continue;
      const wait = firstMatch(record.waits, item.event, item.payload);
      if (wait === undefined) continue;
      buffer.splice(i, 1);
      const patch = this.patchFor(record, wait, item.payload);
      if (patch !== undefined) return { patch, cause: byEvent(item.event, wait) };
      i--;
    }
    return undefined;
  }

  /**
   * The patch a run resumes with when `payload` satisfies `wait`: what the wait's mapper makes of
   * it (the function it was registered with, kept in memory, or the workflow's mapper it names),
   * else the payload's own copy. `undefined` (reported) when neither can be read.
   */
  patchFor(record: RunRecord, wait: PauseRequestData, payload: unknown): RunState | undefined {
    const mapper =
      record.mappers?.get(wait.id) ??
      (wait.patch === undefined ? undefined : record.workflow.patches.get(wait.patch));
    try {
      if (mapper === undefined)
        return isPlainObject(payload) ? copyUntrusted(payload, "the event payload") : {};
      const mapped = mapper(payload);
      if (catchRejection(mapped, ignoreRejection)) {
        throw new SystemError(
          "INVALID_INPUT",
          "the wait's patch mapper returned a promise; a patch mapper must be synchronous (do async work in the stage after the wait)",
        );
      }
      return copyUntrusted(mapped, "the wait's patch mapper result");
    } catch (error) {
      const reason = describeThrown(error);
      this.report(
        new SystemError("INVALID_INPUT", `run ${record.runId}: the resuming event was ignored: ${reason}`, {
          cause: error,
        }),
      );
      return undefined;
    }
  }

  private buffer(record: RunRecord, event: string, payload: unknown, heldOnly: boolean): void {
    const buffer = (record.buffer ??= []);
    buffer.push({ event, payload, at: Date.now(), heldOnly });
    if (buffer.length > this.maxPerRun) {
      // One kept for held waits only goes first (the oldest such, maybe this one): no registered
      // wait counts it (a retry may never take its wait over), so its events must not push out the
      // ones the run's waits are there for.
      const heldOnlyAt = buffer.findIndex(isHeldOnly);
      if (heldOnlyAt === -1) buffer.shift();
      else buffer.splice(heldOnlyAt, 1);
      if (!record.bufferOverflowReported) {
        record.bufferOverflowReported = true;
        this.report(
          new SystemError(
            "CAPACITY_EXCEEDED",
            `run ${record.runId}: more than ${this.maxPerRun} events arrived while it was running; the oldest were dropped (raise maxBufferedEventsPerRun)`,
          ),
        );
      }
    }
  }
}

function isHeldOnly(item: BufferedEvent): boolean {
  return item.heldOnly;
}
