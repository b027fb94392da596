import type { ArtifactContainer } from "@sluice/artifacts";
import { catchRejection, err, ok, SystemError } from "@sluice/errors";
import type { IdMap } from "@sluice/id-map";
import type { RunInfo } from "@sluice/pipeline";
import type { EventWaits } from "./event-waits.js";
import type { HookCalls } from "./hook-calls.js";
import { cleanupsTimedOut } from "./hook-time-limit.js";
import { abortedMetadata, failureMetadata } from "./result-metadata.js";
import { type RunDeadlines, runTimedOut } from "./run-deadlines.js";
import type { RunRecord } from "./run-record.js";
import type { RunsAtRest } from "./runs-at-rest.js";
import { writeRunStarted } from "./timeline-observer.js";
import type { TimelineWriter } from "./timeline-writer.js";
import { reportDispatch } from "./trigger-dispatch.js";
import type { EndedRunResult, RunResult } from "./types.js";
import type { WorkflowRecord } from "./workflow-record.js";

/**
 * How runs end: a decided result (`onComplete`), bookkeeping (registry, execution mode, waits,
 * state store), then the last cleanups (run services, `onCleanup`) while the run is held among the
 * ending runs, and the waiters told. Also the early ends: an abort, a paused run aborted, a queued
 * run that never starts, a run whose deadline passed.
 */
export class RunEnding {
  constructor(
    /** The unfinished runs, by id: a run leaves at its bookkeeping. */
    private readonly runs: IdMap<RunRecord>,
    /** Runs past bookkeeping whose last cleanups are under way (`deregister()` and `stop()` wait for them). */
    private readonly endingRuns: IdMap<RunRecord>,
    private readonly waits: EventWaits,
    private readonly hookCalls: HookCalls,
    private readonly writer: TimelineWriter | undefined,
    private readonly report: (error: SystemError) => void,
    /** Told when a run leaves the unfinished runs or parks (a draining runtime waits on it). */
    readonly atRest: RunsAtRest,
    /** The runs' deadlines: a run leaves them as it leaves the unfinished runs. */
    private readonly deadlines: RunDeadlines,
  ) {}

  /**
   * onComplete, then bookkeeping, then onCleanup — the seed's order. Synchronous when there is
   * nothing to wait for (no hooks, no run services to dispose), so a plain run pays no extra ticks.
   */
  finish(record: RunRecord, result: RunResult, endedAt?: number): RunResult | Promise<RunResult> {
    if (record.finished) return result;
    record.markDecided();
    const status: RunInfo["status"] = result.ok
      ? result.value.status === "aborted"
        ? "aborted"
        : "completed"
      : result.error.code === "ABORTED"
        ? "aborted"
        : "failed";
    record.status = status;
    record.pipelineRun = undefined;
    // A run that ends while its onPause runs ends once the hook is over, unless it was aborted: as
    // during onPrepare and onResume, an abort does not wait (the hook may itself be awaiting the
    // abort, a deregister() or a stop()).
    const pausing = record.pausing;
    if (pausing !== undefined && !record.abortRequested)
      return pausing.then(() => this.complete(record, result, status, endedAt));
    return this.complete(record, result, status, endedAt);
  }

  /** onComplete, then the bookkeeping and last cleanups of a run whose result is decided. */
  private complete(
    record: RunRecord,
    result: RunResult,
    status: RunInfo["status"],
    endedAt: number | undefined,
  ): RunResult | Promise<RunResult> {
    record.finalResult = result;
    const onComplete = record.workflow.options.onComplete;
    if (onComplete === undefined) return this.settleFinished(record, result, status, endedAt);
    return this.hookCalls
      .hook(record, "onComplete", () => onComplete(result))
      .then(() => this.settleFinished(record, result, status, endedAt));
  }

  private settleFinished(
    record: RunRecord,
    result: RunResult,
    status: RunInfo["status"],
    endedAt: number | undefined,
  ): RunResult | Promise<RunResult> {
    const wf = record.workflow;
    if (record.waitDeadline !== undefined) this.deadlines.removeWait(record);
    const onCleanup = wf.options.onCleanup;
    const now = endedAt ?? record.stamp();
    const error = result.ok ? undefined : { code: result.error.code, message: result.error.message };
    const stage = endStage(record, result, status);
    // onCleanup and a kept result each get their own copy, taken before retention may drop the run
    // from the registry (most workflows have neither: two loads and two branches)
    const cleanupInfo = onCleanup === undefined ? undefined : endedRunInfo(record, status, now, error, stage);
    const kept = wf.keptResults;
    const keptInfo = kept === undefined ? undefined : endedRunInfo(record, status, now, error, stage);
    wf.registry.setStatus(record.runId, status, now, error, stage, record.registryHandle);
    if (kept !== undefined) kept.keep(record.runId, result as EndedRunResult, keptInfo!);
    // before the mode hands the slot on: the run it starts runs its onPrepare and a plain first
    // step at once, and an event they emit under this key must not find the ended run holding it
    this.releaseKey(record);
    if (record.managed) wf.policy.runEnded(record.runId);
    wf.pauseWindow.close(record);
    // (most runs never wait on an event)
    if (record.watched !== undefined) this.waits.release(record);
    record.buffer = undefined;
    this.forgetRun(record);
    const releasing = record.releasing;
    record.releasing = undefined;
    const container = record.letGo();
    wf.registry.prune(now);
    if (container === undefined && onCleanup === undefined && releasing === undefined) {
      this.notifyFinished(record, result);
      return result;
    }
    record.endingSlot = this.endingRuns.insert(record.runId, record);
    return this.finishAsync(record, result, container, cleanupInfo, releasing);
  }

  private async finishAsync(
    record: RunRecord,
    result: RunResult,
    container: ArtifactContainer | undefined,
    info: RunInfo | undefined,
    releasing: Promise<void> | undefined,
  ): Promise<RunResult> {
    const wf = record.workflow;
    if (releasing !== undefined) await releasing;
    if (container !== undefined) await this.disposeContainer(record, container);
    const onCleanup = wf.options.onCleanup;
    if (onCleanup !== undefined && info !== undefined)
      await this.hookCalls.hook(record, "onCleanup", () => onCleanup(info));
    this.endingRuns.removeAt(record.endingSlot);
    this.notifyFinished(record, result);
    return result;
  }

  /**
   * Tells whoever waits for the run to be over here (`deregister()`, `stop()`, `abort()`) that it
   * is: it ended with `result`, or it left (`detach()`).
   */
  notifyFinished(record: RunRecord, result: RunResult): void {
    const waiters = record.finishWaiters;
    if (waiters === undefined) return;
    record.finishWaiters = undefined;
    for (const resolve of waiters) resolve(result);
  }

  /**
   * Fails a run that its pipeline did not end (its state store could not be made, or it could not
   * be rebuilt to resume): the runtime writes its `run.failed`, so its timeline still ends with one,
   * and its `run.started` first when it had written nothing yet.
   * `pausedSeq` is the seq of the run's `run.paused` when the checkpoint holding it is already gone.
   */
  failOutsidePipeline(
    record: RunRecord,
    failure: SystemError,
    pausedSeq?: number,
  ): RunResult | Promise<RunResult> {
    const lastSeq =
      record.pipelineRun?.seq ?? pausedSeq ?? record.checkpoint?.seq ?? record.released?.seq ?? 0;
    this.writeEndOutsidePipeline(record, "run.failed", failure, lastSeq);
    return this.finish(record, err(failure, failureMetadata(record)));
  }

  /**
   * Ends as aborted a started run whose pipeline did not execute (it was aborted during its
   * `onPrepare`): the runtime writes its `run.started` and `run.aborted`, so its timeline begins as
   * every run's whose hooks run does, and is not read as a queued run's that never started.
   */
  abortOutsidePipeline(record: RunRecord): RunResult | Promise<RunResult> {
    // read first: a store that throws fails the run (crashed) before anything is written
    const state = record.currentState();
    const aborted = new SystemError(
      "ABORTED",
      `run "${record.runId}" of pipeline "${record.pipeline.id}" was aborted: ${record.abortReason}`,
    );
    // (its pipeline never executed: nothing written yet)
    this.writeEndOutsidePipeline(record, "run.aborted", aborted, record.pipelineRun?.seq ?? 0);
    return this.finish(record, ok({ status: "aborted", state }, abortedMetadata(record)));
  }

  /**
   * Writes the end of a run its pipeline did not end (`type`, with `error`), after its last written
   * `seq`; its `run.started` first when it had written nothing yet (`lastSeq` 0), so its timeline
   * begins as every run's does.
   */
  private writeEndOutsidePipeline(
    record: RunRecord,
    type: "run.failed" | "run.aborted",
    error: SystemError,
    lastSeq: number,
  ): void {
    const writer = this.writer;
    if (record.finished || writer === undefined) return;
    const at = record.stamp();
    if (lastSeq === 0)
      writeRunStarted(record.workflow.observer, record.runId, record.pipeline.id, ++lastSeq, at);
    writer.writeRuntimeEvent(record.runId, record.workflow.id, lastSeq + 1, at, type, error.message, {
      error: error.toJSON(),
    });
  }

  /**
   * Ends a paused run (live or released) as aborted. It has no pipeline run to write its
   * `run.aborted` timeline event, so the runtime writes it.
   */
  finishPaused(record: RunRecord, reason: string): RunResult | Promise<RunResult> {
    const seq = (record.checkpoint?.seq ?? record.released?.seq ?? 0) + 1;
    const state = record.currentState();
    this.writer?.writeRuntimeEvent(
      record.runId,
      record.workflow.id,
      seq,
      record.stamp(),
      "run.aborted",
      reason,
      undefined,
    );
    return this.finish(record, ok({ status: "aborted", state }, abortedMetadata(record)));
  }

  /**
   * Asks a started run to abort (once): a paused one ends here and now, a running one through its
   * pipeline run, which settles it as aborted.
   */
  abortRun(record: RunRecord, reason: string): void {
    if (record.finished || record.abortRequested) return;
    record.markAbortRequested(reason);
    // the pipeline run forgets its stage once aborted: RunInfo names the one it was in
    record.abortedInStage = record.pipelineRun?.currentStage;
    if (record.status === "paused") {
      void this.finishPaused(record, reason);
      return;
    }
    record.controller?.abort(record.hookAbortError());
    record.pipelineRun?.abort(reason);
  }

  /**
   * What the deadlines' timer calls for a run whose deadline has passed: {@link failAtDeadline}. A
   * fault of the runtime's in ending the run is reported, never thrown into the timer (where it
   * would crash a Node process and leave the other runs' deadlines unhandled).
   */
  readonly deadlinePassed = (record: RunRecord): void => {
    const fault = (error: unknown): void =>
      this.report(
        SystemError.from(
          error,
          "INVALID_STATE",
          `run ${record.runId} passed its deadline, and failing it failed inside the runtime`,
        ),
      );
    try {
      catchRejection(this.failAtDeadline(record), fault);
    } catch (error) {
      fault(error);
    }
  };

  /**
   * Fails a run whose deadline (`runTimeoutMs`) has passed, with a `TIMEOUT`, wherever it is: a
   * queued run leaves its mode's queue and fails without starting; a paused one (live or released)
   * fails without resuming; a running one is ended by its pipeline run at once (`fail`), its steps'
   * and hooks' `ctx.signal` firing with the error, without waiting for a hook (`onPrepare`,
   * `onResume`) or a step that ignores it. A run whose end is already decided or requested (an
   * abort) is left to it. Returns the run's result when it ends here and now (paused, queued).
   */
  failAtDeadline(record: RunRecord): RunResult | Promise<RunResult> | undefined {
    const deadline = record.runDeadline;
    if (deadline === undefined || record.abortRequested || record.resultDecided) return undefined;
    const failure = runTimedOut(record, deadline);
    if (record.status === "queued") return this.failQueuedRun(record, failure);
    record.markDeadlinePassed(deadline, failure);
    if (record.status === "paused") return this.failOutsidePipeline(record, failure);
    record.controller?.abort(failure);
    // (in onPrepare or onResume, its pipeline run waits unexecuted: it then ends before it begins)
    record.pipelineRun?.fail(failure);
    return undefined;
  }

  /**
   * Fails a run still queued, as never started: it leaves its mode's queue as a cancelled queued
   * run does, and its timeline is one runtime `run.failed` (seq 1, `data.neverStarted`) with no
   * `run.started`; but it ended as a failure, so `onComplete` and `onCleanup` hear of it as of any
   * failed run (nothing is reported to `onDispatch`: the event was not dropped, its run failed).
   */
  private failQueuedRun(record: RunRecord, failure: SystemError): RunResult | Promise<RunResult> {
    const wf = record.workflow;
    wf.policy.forget(record.runId);
    const metadata = failureMetadata(record);
    this.writer?.writeRuntimeEvent(record.runId, wf.id, 1, record.stamp(), "run.failed", failure.message, {
      error: failure.toJSON(),
      neverStarted: true,
    });
    return this.finish(record, err(failure, metadata));
  }

  /**
   * Ends a run still queued as never started: aborted in the registry, no hooks, and on the
   * timeline one runtime `run.aborted` (seq 1, `data.neverStarted`) and no `run.started`, so a host
   * told of the run (`onDispatch` `queued`) finds it there. `reportDropped` tells `onDispatch` it
   * was dropped.
   */
  cancelQueuedRun(wf: WorkflowRecord, runId: string, reason: string, reportDropped: boolean): void {
    const record = this.runs.get(runId);
    if (record === undefined || record.status !== "queued") return;
    wf.policy.forget(runId);
    record.markDecided();
    record.status = "aborted";
    this.forgetRun(record);
    const message = `never started: ${reason}`;
    const now = record.stamp();
    const error = { code: "ABORTED", message };
    const keptInfo =
      wf.keptResults === undefined ? undefined : endedRunInfo(record, "aborted", now, error, undefined);
    wf.registry.setStatus(runId, "aborted", now, error, undefined, record.registryHandle);
    // written before the waiters and onDispatch hear of the end, as a started run's last event is
    this.writer?.writeRuntimeEvent(runId, wf.id, 1, now, "run.aborted", message, { neverStarted: true });
    const metadata = failureMetadata(record);
    // as a started run's abort says why: a queued run cancelled by an event, aborted by the host or
    // dropped has its reason in metadata.abortReason too, not only in the error's message
    metadata.abortReason = reason;
    const result: RunResult = err(
      new SystemError("ABORTED", `run ${runId} never started: ${reason}`),
      metadata,
    );
    if (keptInfo !== undefined) wf.keptResults!.keep(runId, result as EndedRunResult, keptInfo);
    if (record.finishWaiters !== undefined) for (const resolve of record.finishWaiters) resolve(result);
    if (reportDropped) {
      reportDispatch(
        wf,
        {
          outcome: "dropped",
          workflowId: wf.id,
          triggerId: record.triggerId,
          event: wf.triggers.get(record.triggerId)!.event,
          payload: record.payload,
          runId,
          reason,
        },
        this.report,
      );
    }
    wf.registry.prune();
  }

  /** Disposes a run's service container, waiting for its cleanups at most its workflow's `hookTimeoutMs`. */
  disposeContainer(record: RunRecord, container: ArtifactContainer): Promise<void> {
    const wf = record.workflow;
    return this.hookCalls.dispose(
      container,
      wf.hookTimeoutMs,
      (error) => SystemError.from(error, "FACTORY_FAILED", `disposing run ${record.runId} services failed`),
      () => cleanupsTimedOut(wf.id, wf.hookTimeoutMs, record.runId),
    );
  }

  /**
   * Takes a run out of the unfinished runs, through its slot (no id hashing), frees its idempotency
   * key, takes it out of its workflow's cancel index and its deadlines (its own and its wait's), and
   * tells a draining runtime: the one way a run leaves the table, ending or detached.
   */
  forgetRun(record: RunRecord): void {
    if (this.runs.at(record.slot) === record) this.runs.removeAt(record.slot);
    this.releaseKey(record);
    // (most workflows declare no cancelOn)
    record.workflow.cancels?.remove(record);
    // (most runs have no deadline)
    if (record.runDeadline !== undefined) this.deadlines.remove(record.runDeadline);
    if (record.waitDeadline !== undefined) this.deadlines.removeWait(record);
    this.atRest.notify();
  }

  /** Frees the run's idempotency key, if it has one and still holds it (a second call does nothing). */
  private releaseKey(record: RunRecord): void {
    if (record.key !== undefined) record.workflow.keys.release(record.key, record.runId);
  }
}

/**
 * The `RunInfo` of a run that ends now with `status` (a new object, its `error` too): its registry's,
 * as it ends (the stage the registry has kept when `stage` is `undefined`). The registry is the
 * host's to write too, through `registry(id)`: a run it no longer holds gets one made of what the
 * runtime knows of it.
 */
function endedRunInfo(
  record: RunRecord,
  status: RunInfo["status"],
  now: number,
  error: RunInfo["error"],
  stage: string | undefined,
): RunInfo {
  const info = record.workflow.registry.get(record.runId) ?? {
    runId: record.runId,
    workflowId: record.workflow.id,
    pipelineId: record.pipeline.id,
    triggerId: record.triggerId,
    status,
    startedAt: record.startedAt,
    updatedAt: now,
  };
  if (record.key !== undefined) info.key = record.key;
  info.status = status;
  info.updatedAt = now;
  if (error !== undefined) info.error = { code: error.code, message: error.message };
  if (stage !== undefined) info.stage = stage;
  return info;
}

/**
 * The `stage` a finished run's `RunInfo` names, as its "current (or last) stage": the last stage
 * of a completed run (which ran them all), the stage a failed run failed in, the one an aborted
 * run was running. `undefined` keeps what the registry has: for a run aborted while paused, the
 * stage it would have gone on at. So it does not depend on whether the run paused on the way.
 */
function endStage(record: RunRecord, result: RunResult, status: RunInfo["status"]): string | undefined {
  if (status === "completed") {
    const stageIds = record.pipeline.stageIds;
    return stageIds[stageIds.length - 1];
  }
  if (!result.ok && typeof result.metadata.stage === "string") return result.metadata.stage;
  return status === "aborted" ? record.abortedInStage : undefined;
}
