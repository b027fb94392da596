import { ok, quoteName, SystemError } from "@sluice/errors";
import type { IdMap } from "@sluice/id-map";
import { type PauseRequestData, readPauseRequest } from "@sluice/pause";
import type { Pipeline, PipelineCheckpoint, RunInfo } from "@sluice/pipeline";
import { safeAssign } from "@sluice/store";
import { isControlEvent } from "./control-events.js";
import type { EventWaits } from "./event-waits.js";
import { ReleasedCheckpoint } from "./released-checkpoint.js";
import { resultMetadata } from "./result-metadata.js";
import {
  type CheckpointReader,
  type RunCheckpoint,
  type RunCheckpointPlace,
  readCheckpointPlace,
} from "./run-checkpoint.js";
import type { RunEnding } from "./run-ending.js";
import type { RunExecution } from "./run-execution.js";
import { workflowOfFinished } from "./run-lookup.js";
import type { RunPauses } from "./run-pauses.js";
import type { RunRecord } from "./run-record.js";
import { unknownRunError, unknownWorkflowError } from "./runtime-errors.js";
import { holderState } from "./trigger-key.js";
import type { RunState } from "./types.js";
import type { WorkflowRecord } from "./workflow-record.js";

/**
 * Parked runs leaving this runtime as plain data (`detach`) and joining it from such data
 * (`adopt`), so that a run can wait across a restart or move to another worker. An adopted run
 * waits as a released checkpoint, as a run past its pause window does: the first event that meets
 * one of its waits (or `resume()`, or a deadline) rebuilds it and runs its next stage.
 */
export class RunTransfer {
  constructor(
    private readonly workflows: ReadonlyMap<string, WorkflowRecord>,
    /** The unfinished runs, by id. */
    private readonly runs: IdMap<RunRecord>,
    /** Runs whose last cleanups are under way: a detached run's services are disposed among them. */
    private readonly endingRuns: IdMap<RunRecord>,
    private readonly execution: RunExecution,
    private readonly pauses: RunPauses,
    private readonly waits: EventWaits,
    private readonly ending: RunEnding,
    private readonly report: (error: SystemError) => void,
  ) {}

  /**
   * Checks `value` as `adopt` does before it changes anything (the checkpoint is well-formed and
   * fits a registered workflow, its run is not known here and no run here holds its key), and
   * throws what `adopt` would.
   * `recover` calls it before reading the timeline, so a checkpoint that cannot be adopted costs
   * no read of the store and reports nothing about it. Gives the run's id and `seq`, as read.
   * Messages name `reader`, the method the checkpoint was given to.
   */
  check(value: unknown, reader: CheckpointReader): { runId: string; seq: number } {
    const { checkpoint } = this.read(value, reader);
    return { runId: checkpoint.runId, seq: checkpoint.seq };
  }

  /** The checks of {@link check}, giving what they read. */
  private read(value: unknown, reader: CheckpointReader): AdoptableCheckpoint {
    const caller = `${reader}(checkpoint)`;
    let place: RunCheckpointPlace;
    let checkpoint: PipelineCheckpoint<RunState>;
    let waits: PauseRequestData[];
    let wf: WorkflowRecord | undefined;
    let pipeline: Pipeline<RunState> | undefined;
    try {
      place = readCheckpointPlace(value, reader);
      wf = this.workflows.get(place.workflowId);
      if (wf === undefined) throw unknownWorkflowError(place.workflowId, [...this.workflows.keys()]);
      const pipelineId = place.pipelineId;
      pipeline = wf.pipelines.get(pipelineId);
      if (pipeline === undefined) {
        throw new SystemError(
          "INVALID_INPUT",
          `${caller}: workflow "${wf.id}" has no pipeline ${quoteName(pipelineId)} (pipelines: ${[...wf.pipelines.keys()].join(", ")}); the checkpoint was made by another definition of it. A run continues in the pipeline its checkpoint names: if the pipeline was renamed, set checkpoint.pipelineId to its new id`,
          { details: { workflowId: wf.id, pipelineId } },
        );
      }
      // The trigger is not looked up: it only started the run, which goes on in its pipeline. A
      // version that renamed or removed it takes the run, which keeps the id as its history
      // (RunInfo.triggerId). The pipeline finds the next stage by its id, wherever this version
      // put it.
      checkpoint = pipeline.readCheckpoint(value);
      const adopting = wf;
      // a run pauses only when a wait took effect: one with none could only ever be resume()d
      if (checkpoint.pause.length === 0) {
        throw new SystemError(
          "INVALID_INPUT",
          `${caller}: checkpoint.pause is empty, but a paused run waits on at least one wait; pass the checkpoint a paused run made`,
          { details: { field: "pause" } },
        );
      }
      waits = checkpoint.pause.map((wait, i) => {
        const read = readPauseRequest(wait, `${caller}: checkpoint.pause[${i}]`);
        // as a step's registration is refused: a wait on a control event would turn one run's
        // abort into another's resume
        if (read.event !== undefined && isControlEvent(read.event)) {
          throw new SystemError(
            "INVALID_INPUT",
            `${caller}: checkpoint.pause[${i}].event: "${read.event}" is a runtime control event, which no wait may name`,
            { details: { field: `pause[${i}].event` } },
          );
        }
        // a wait resumes through its named mapper: one this definition lacks would change the patch
        if (read.patch !== undefined && !adopting.patches.has(read.patch)) {
          const declared = [...adopting.patches.keys()];
          throw new SystemError(
            "INVALID_INPUT",
            `${caller}: checkpoint.pause[${i}].patch names patch mapper ${quoteName(read.patch)}, which workflow "${adopting.id}" does not declare (patches: ${declared.length > 0 ? declared.join(", ") : "none"}); the checkpoint was made by another definition of it`,
            { details: { field: `pause[${i}].patch`, workflowId: adopting.id } },
          );
        }
        return read;
      });
    } catch (error) {
      // a checkpoint whose reading throws (a getter, a Proxy) is as malformed as a wrong field
      throw SystemError.from(error, "INVALID_INPUT", `${caller}: the checkpoint could not be read`);
    }
    const runId = checkpoint.runId;
    checkUniqueWaitIds(caller, runId, waits);
    if (this.runs.get(runId) !== undefined || workflowOfFinished(this.workflows, runId) !== undefined) {
      throw new SystemError(
        "DUPLICATE_KEY",
        `${caller}: run ${runId} is already known to this runtime; a checkpoint continues once, in one runtime (detach() it where it waits first)`,
        { details: { runId } },
      );
    }
    const key = place.key;
    const holder = key === undefined ? undefined : wf.keys.holder(key);
    if (holder !== undefined) {
      // refused, not taken over: the caller keeps the checkpoint, and no run is lost
      throw new SystemError(
        "DUPLICATE_KEY",
        `${caller}: run ${runId} has idempotency key ${quoteName(key!)}, which run ${holder}${holderState(this.runs.get(holder))} of workflow "${wf.id}" holds here; a key has one unfinished run at a time: ${KEY_HELD_FIX[reader]}`,
        { details: { runId, workflowId: wf.id, key, holderRunId: holder } },
      );
    }
    return { place, checkpoint, waits, wf, pipeline };
  }

  /** See `WorkflowRuntime.adopt` (and `recover`, as `reader`, which its messages name). */
  adopt(value: unknown, reader: CheckpointReader): RunInfo {
    const caller = `${reader}(checkpoint)`;
    const { place, checkpoint, waits, wf, pipeline } = this.read(value, reader);
    const runId = checkpoint.runId;
    let released: ReleasedCheckpoint;
    try {
      // as a run's state store takes a state: without keys that could reach a prototype (JSON.parse
      // makes "__proto__" an own key), so the run reports the same state before it is rebuilt as after
      const state = safeAssign({}, { ...checkpoint.state });
      released = ReleasedCheckpoint.of(checkpoint, state);
    } catch (cause) {
      throw new SystemError(
        "INVALID_INPUT",
        `${caller}: checkpoint.state and checkpoint.event must be JSON-serialisable (no BigInt, no cycles)`,
        { cause, details: { runId } },
      );
    }
    if (place.dispatched) {
      const refused = wf.policy.adoptPaused(runId);
      if (refused !== undefined) {
        throw new SystemError(
          "INVALID_STATE",
          `${caller}: workflow "${wf.id}" cannot take run ${runId} now: ${refused} (its execution mode holds one run at a time, paused ones included)`,
          { details: { runId, workflowId: wf.id } },
        );
      }
    }
    const record = this.execution.createAdoptedRun(
      wf,
      runId,
      place.triggerId,
      place.key,
      pipeline,
      place.startedAt,
      checkpoint.nextStageId ?? undefined,
      place.runDeadline,
    );
    record.managed = place.dispatched;
    if (place.dispatched) record.concurrencyKey = place.concurrencyKey;
    wf.cancels?.add(record, checkpoint.event);
    record.released = released;
    record.waits = waits;
    try {
      this.pauses.parkAdopted(record);
    } catch (error) {
      // the bus refused a wait's subscription: the run was never adopted, so nothing of it stays
      // (a host retrying elsewhere must not find it waiting here too, nor its slot taken)
      this.takeOut(record);
      throw error;
    }
    return wf.registry.get(runId)!;
  }

  /** See `WorkflowRuntime.detach`. */
  async detach(runId: string): Promise<RunCheckpoint> {
    const record = this.runs.get(runId);
    if (record === undefined) {
      if (workflowOfFinished(this.workflows, runId) === undefined) throw unknownRunError(runId);
      throw notPaused(runId, "finished");
    }
    if (record.finished || record.abortRequested || record.status !== "paused") {
      throw notPaused(runId, record.finished || record.abortRequested ? "ending" : record.status);
    }
    // first, so that a state JSON cannot hold leaves the run waiting here, untouched
    const checkpoint = record.exportCheckpoint()!;
    if (record.mappers !== undefined && record.mappers.size > 0)
      this.report(mappersLeftBehind(runId, record.mappers));
    this.takeOut(record);
    const releasing = record.releasing;
    record.releasing = undefined;
    const container = record.letGo();
    if (container !== undefined || releasing !== undefined) {
      // deregister() and stop() wait for these cleanups, as for an ending run's
      const slot = this.endingRuns.insert(runId, record);
      try {
        if (releasing !== undefined) await releasing;
        if (container !== undefined) await this.ending.disposeContainer(record, container);
      } finally {
        this.endingRuns.removeAt(slot);
        this.left(record, checkpoint);
      }
    } else this.left(record, checkpoint);
    return checkpoint;
  }

  /**
   * Takes a parked run out of this runtime without ending it: its pause window, waits and bus
   * subscriptions, its place in the table of runs and its deadlines (its own and its wait's), the
   * registry and the execution mode. It reads as ended from then on: code already on its way to it (a wait's patch mapper that
   * detached it while an event was resuming it, a timer) finds it neither paused nor undecided, and
   * leaves it alone.
   */
  private takeOut(record: RunRecord): void {
    const wf = record.workflow;
    wf.pauseWindow.close(record);
    if (record.watched !== undefined) this.waits.release(record);
    record.markDecided();
    record.status = "aborted";
    // (a draining runtime is told: it may have been the last busy run, detached by a wait's patch
    // mapper as it paused)
    this.ending.forgetRun(record);
    wf.registry.delete(record.runId);
    if (record.managed) wf.policy.runEnded(record.runId);
  }

  /**
   * The run is over here: a deregister() or stop() that met it waiting (it was detached from a hook
   * they ran) or among the ending runs (disposing its services) waits for it to be over, and goes
   * on only once it is told.
   */
  private left(record: RunRecord, checkpoint: RunCheckpoint): void {
    if (record.finishWaiters === undefined) return;
    this.ending.notifyFinished(
      record,
      ok({ status: "paused", state: checkpoint.state }, resultMetadata(record)),
    );
  }
}

/**
 * What to do about a checkpoint whose key a run here holds. At a restart (`recover`) the holder
 * is a run an event started before the checkpoints were recovered, maybe for the same work.
 */
const KEY_HELD_FIX: Readonly<Record<CheckpointReader, string>> = {
  adopt: "adopt the checkpoint once that run has ended, or in another runtime",
  recover:
    "recover checkpoints before the host's event sources start (an event that came first started that run, maybe for the same work), or recover this one once that run has ended",
};

/** A checkpoint `adopt` can take, as read: where it belongs, its waits, its workflow and pipeline. */
interface AdoptableCheckpoint {
  readonly place: RunCheckpointPlace;
  readonly checkpoint: PipelineCheckpoint<RunState>;
  readonly waits: PauseRequestData[];
  readonly wf: WorkflowRecord;
  readonly pipeline: Pipeline<RunState>;
}

function notPaused(runId: string, status: string): SystemError {
  return new SystemError(
    "INVALID_STATE",
    `detach(${runId}): the run is ${status}, not paused; only a paused run can be detached`,
    { details: { runId, status } },
  );
}

function checkUniqueWaitIds(caller: string, runId: string, waits: readonly PauseRequestData[]): void {
  const seen = new Set<string>();
  for (const wait of waits) {
    if (seen.has(wait.id)) {
      throw new SystemError(
        "INVALID_INPUT",
        `${caller}: run ${runId} has two waits with id "${wait.id}"; a run's waits have distinct ids`,
        { details: { runId, id: wait.id } },
      );
    }
    seen.add(wait.id);
  }
}

/**
 * What `detach()` reports for waits registered with a `patch` function: the checkpoint cannot carry
 * a function, so where the run is adopted the resuming payload itself becomes the patch. The
 * checkpoint is still returned (the run may not depend on the mapper's shape); the report says how
 * to keep the mapper.
 */
function mappersLeftBehind(runId: string, mappers: ReadonlyMap<string, unknown>): SystemError {
  const waits = [...mappers.keys()];
  const which = waits.map((id) => quoteName(id)).join(", ");
  return new SystemError(
    "INVALID_STATE",
    `detach(${runId}): the patch mapper of wait${waits.length > 1 ? "s" : ""} ${which} is a function, which a checkpoint cannot carry: where the run is adopted, the resuming payload itself will be the patch. Declare the mapper in the workflow's patches and register the wait with patch: "<name>" to keep it`,
    { details: { runId, waits } },
  );
}
