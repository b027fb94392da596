import { catchRejection, ok, SystemError } from "@sluice/errors";
import type { PauseRequestData } from "@sluice/pause";
import type { PipelineCheckpoint, PipelineRun, RestoreOptions, ResumeCause } from "@sluice/pipeline";
import { deadlineObserver } from "./deadline-observer.js";
import type { EventWaits } from "./event-waits.js";
import type { HookCalls } from "./hook-calls.js";
import { hookContext } from "./hook-context.js";
import { ReleasedCheckpoint } from "./released-checkpoint.js";
import { resultMetadata } from "./result-metadata.js";
import { byEvent, byTimeout, earliestDeadline, firstMatch, type ResumeEvents } from "./resume-events.js";
import { type RunDeadlines, runTimedOut } from "./run-deadlines.js";
import type { RunEnding } from "./run-ending.js";
import { NO_WAITS, type RunRecord } from "./run-record.js";
import type { PauseContext, ResumeContext, RunResult, RunState } from "./types.js";

/** Whether a run that came to a pause has gone on from it (read after calls that may resume it). */
function wentOn(record: RunRecord): boolean {
  return record.status === "running";
}

/** The run-execution operations pausing and resuming drive: a resumed run settles like a started one. */
export interface PauseHost {
  /** Gives a run whose pause window released its live context a new state store holding `state`. */
  buildLiveContext(record: RunRecord, state: RunState): void;
  /** Starts `run` and settles the record with its result. */
  settleWhenDone(record: RunRecord, run: PipelineRun<RunState>): Promise<RunResult>;
  /** Settles the record with how its (executed) pipeline run ended. */
  settle(record: RunRecord, run: PipelineRun<RunState>): Promise<RunResult> | RunResult;
}

/**
 * Runs stopped at a pause: parked on their waits (or resumed at once by an event buffered for
 * them), their live context released when their workflow's pause window ends, resumed by an
 * event, a deadline or `resume()`.
 */
export class RunPauses {
  constructor(
    private readonly execution: PauseHost,
    private readonly ending: RunEnding,
    private readonly waits: EventWaits,
    private readonly resumeEvents: ResumeEvents,
    private readonly hookCalls: HookCalls,
    /** The runtime's deadlines, which hold each parked run's earliest wait deadline. */
    private readonly deadlines: RunDeadlines,
    private readonly report: (error: SystemError) => void,
  ) {}

  // No external AbortSignal (here or in startRun): aborts go through PipelineRun.abort(), which fires
  // the step's lazily created signal. An AbortController per run (and a listener linking two) was a
  // fifth of invoke's cost.
  private runOptions(record: RunRecord, resumedBy: ResumeCause): RestoreOptions<RunState> {
    const options: RestoreOptions<RunState> = {
      runId: record.runId,
      state: record.store!,
      event: record.payload,
      dependencies: record,
      resumedBy,
    };
    const observer =
      record.runDeadline === undefined
        ? record.workflow.observer
        : deadlineObserver(record, record.workflow.observer, this.ending.deadlinePassed);
    if (observer !== undefined) options.observer = observer;
    return options;
  }

  /**
   * Settles a run whose pipeline stopped at a pause (`pausedAt`, its `run.paused`'s time): resumed at
   * once by a buffered event, else parked.
   */
  pause(
    record: RunRecord,
    checkpoint: PipelineCheckpoint<RunState>,
    pausedAt: number,
  ): Promise<RunResult> | RunResult {
    const wf = record.workflow;
    record.status = "paused";
    record.pipelineRun = undefined;
    // what the runtime stamps for the run from now on (an abort, a resume) comes after its pause
    record.stampedAt = pausedAt;
    record.checkpoint = checkpoint;
    record.waits = checkpoint.pause as unknown as PauseRequestData[];
    const pauseService = record.pauseService;
    if (pauseService !== undefined) {
      for (const wait of record.waits) {
        const mapper = pauseService.patchMapper(wait.id);
        if (mapper !== undefined) (record.mappers ??= new Map()).set(wait.id, mapper);
      }
      // The waits now live in the checkpoint; the service forgets them so a later stage can reuse
      // an id and a run that pauses often does not accumulate old registrations.
      pauseService.release();
    }
    wf.registry.setStatus(
      record.runId,
      "paused",
      pausedAt,
      undefined,
      checkpoint.nextStageId === null ? undefined : checkpoint.nextStageId,
      record.registryHandle,
    );
    // Its deadline passed as it came to this pause, its timer not fired yet (late under load, or
    // armed after the step's own timer due in the same ms): it fails here, as the timer would fail
    // it, before it parks, its onPause runs (an approval request sent for a run that fails at once)
    // or a buffered event resumes it.
    const deadline = record.runDeadline;
    if (deadline !== undefined && !record.abortRequested && deadline.at <= Date.now())
      record.markDeadlinePassed(deadline, runTimedOut(record, deadline));
    if (record.abortRequested) {
      if (record.managed) wf.policy.runPaused(record.runId);
      // its deadline passed as its last stage ended: it fails, as a paused run does then
      const deadlineFailure = record.deadlineFailure;
      if (deadlineFailure !== undefined) return this.ending.failOutsidePipeline(record, deadlineFailure);
      return this.ending.finishPaused(record, record.abortReason!);
    }
    this.waits.park(record);
    const store = record.store!;
    const buffered = this.resumeEvents.takeBuffered(record);
    // A wait's patch mapper (called by takeBuffered) may have resumed or ended the run itself: it
    // went on from this pause without us, so this call reports the pause and leaves it alone.
    const stillPaused = record.status === "paused";
    let result: Promise<RunResult> | RunResult;
    if (stillPaused && buffered !== undefined) result = this.resume(record, buffered.patch, buffered.cause);
    else {
      result = ok({ status: "paused" as const, state: store.get() as RunState }, resultMetadata(record));
      if (stillPaused) {
        this.park(record);
        if (wf.options.onPause !== undefined) this.callOnPause(record, checkpoint.nextStageId);
        this.ending.atRest.notify();
      }
    }
    // The slot goes back only now: the queued run it starts may run its first steps at once, and
    // an event they emit must find this run parked (before, it was neither buffered nor parked). A
    // run that went on from this pause at once (a buffered event, a wait's mapper resuming it) went
    // on in the slot it still held, and keeps it.
    if (record.managed && !wentOn(record)) wf.policy.runPaused(record.runId);
    return result;
  }

  /**
   * Parks a run adopted as a released checkpoint (its waits set): its events may resume it from
   * now on, and its earliest deadline is armed (one already past times it out at once).
   */
  parkAdopted(record: RunRecord): void {
    this.waits.park(record);
    this.armDeadline(record);
  }

  /**
   * Calls `onPause` for a run that has just parked. The run's next stage and its end wait for the
   * hook (see `pausing`), so that, say, a checkpoint the hook saves is never saved after the run
   * has gone on or ended.
   */
  private callOnPause(record: RunRecord, nextStage: string | null): void {
    const wf = record.workflow;
    const ctx: PauseContext<RunState> = {
      runId: record.runId,
      workflowId: wf.id,
      triggerId: record.triggerId,
      pipelineId: record.pipeline.id,
      nextStage,
      // the run's own waits (its checkpoint's, each frozen all the way down already, timeoutPatch
      // included, by the pause service that made it): the array is frozen in place, no copy, so a
      // hook that sorts or edits them cannot change which wait resumes the run, nor with what
      waits: Object.freeze(record.waits),
      state: () => record.currentState(),
    };
    // in place before the hook is called: a resume the hook itself makes waits for it too
    let settle!: () => void;
    const pausing = new Promise<void>((resolve) => {
      settle = resolve;
    });
    record.pausing = pausing;
    void this.hookCalls
      .hook(record, "onPause", () => wf.options.onPause!(ctx))
      .then(() => {
        if (record.pausing === pausing) record.pausing = undefined;
        settle();
        // a parked run is at rest for a drain only once its onPause is over
        this.ending.atRest.notify();
      });
  }

  private park(record: RunRecord): void {
    const wf = record.workflow;
    const now = Date.now();
    this.armDeadline(record);
    const window = wf.pauseWindow;
    if (window.ms === 0) void this.releaseLiveContext(record);
    else if (window.ms !== Infinity) window.open(record, now);
  }

  /** Ends a parked run's pause window: keep only its released checkpoint (see ReleasedCheckpoint). */
  private async releaseLiveContext(record: RunRecord): Promise<void> {
    const store = record.store;
    const checkpoint = record.checkpoint;
    if (record.status !== "paused" || store === undefined || checkpoint === undefined) return;
    try {
      record.released = ReleasedCheckpoint.of(checkpoint, store.get());
    } catch (cause) {
      this.report(
        new SystemError(
          "INVALID_STATE",
          `run ${record.runId} stays in memory past its pause window: its state or event is not JSON-serialisable`,
          { cause, details: { runId: record.runId } },
        ),
      );
      return;
    }
    record.workflow.pauseWindow.close(record);
    const container = record.dropLiveContext();
    record.payload = undefined;
    // the store leaves the host's StoreRegistry as it is disposed (no lookup by id)
    store.dispose();
    if (container === undefined) return;
    // the run's end (and so abort(), deregister() and stop()) waits for these cleanups too
    const disposing = this.ending.disposeContainer(record, container);
    const earlier = record.releasing;
    const releasing = earlier === undefined ? disposing : Promise.all([earlier, disposing]).then(() => {});
    record.releasing = releasing;
    await releasing;
    if (record.releasing === releasing) record.releasing = undefined;
  }

  /**
   * Holds the earliest wait deadline of a parked run, if it has any, in the runtime's deadlines
   * (one timer for every run: see `RunDeadlines`).
   */
  private armDeadline(record: RunRecord): void {
    const wait = earliestDeadline(record.waits);
    if (wait !== undefined) this.deadlines.addWait(record, wait.deadline!);
  }

  /** Times a parked run out now if its earliest deadline has passed; true when it did. */
  private timeOutIfDue(record: RunRecord): boolean {
    const expired = earliestDeadline(record.waits);
    if (expired === undefined || expired.deadline! > Date.now()) return false;
    void this.timeOut(record, expired);
    return true;
  }

  /** What the runtime's deadlines call once a parked run's earliest wait deadline has passed. */
  readonly waitDeadlinePassed = (record: RunRecord): void => {
    if (record.status !== "paused") return;
    // The earliest deadline decides: with several expired (a stage that outlasted them all), the
    // run resumes with the patch of the wait that timed out first.
    const expired = earliestDeadline(record.waits);
    if (expired === undefined) return;
    // (the waits it was held for are the run's waits while it is parked: this holds for them)
    if (expired.deadline! > Date.now()) {
      this.armDeadline(record);
      return;
    }
    // A fault of the runtime's in timing the run out (failing it at its run deadline, say) is
    // reported, never thrown into the timer: it is every run's deadline timer, and a throw would
    // leave the other deadlines due with it unhandled and the timer unarmed.
    const fault = (error: unknown): void =>
      this.report(
        SystemError.from(
          error,
          "INVALID_STATE",
          `run ${record.runId} passed its wait deadline, and timing it out failed inside the runtime`,
        ),
      );
    try {
      catchRejection(this.timeOut(record, expired), fault);
    } catch (error) {
      fault(error);
    }
  };

  /** Resumes a parked run whose wait `expired` (its earliest deadline) has timed out. */
  private timeOut(record: RunRecord, expired: PauseRequestData): Promise<RunResult> {
    // The wait's timeoutPatch is frozen all the way down (it is handed out: checkpoints, onPause):
    // the state gets a copy of its own, whose nested values are no more frozen than another
    // patch's. Plain JSON by construction, so a JSON round trip copies it exactly (once per timeout).
    const patch: RunState =
      expired.timeoutPatch !== undefined
        ? (JSON.parse(JSON.stringify(expired.timeoutPatch)) as RunState)
        : { pauseTimedOut: true };
    // run.resumed names the wait that timed out: the one whose patch the run resumes with
    return this.resume(record, patch, byTimeout(expired));
  }

  /**
   * Resumes a paused run (live or released), `patch` merged first; resolves like `execute`. `cause`
   * (what resumed it) goes into its `run.resumed` event.
   */
  resume(record: RunRecord, patch: RunState | undefined, cause: ResumeCause): Promise<RunResult> {
    // Its deadline has passed, its timer not fired yet (a timer late under load, a run adopted past
    // it, an event in the same turn): it fails instead, as the timer would have failed it.
    const deadline = record.runDeadline;
    if (deadline !== undefined && deadline.at <= Date.now()) {
      const failed = this.ending.failAtDeadline(record);
      if (failed !== undefined) return Promise.resolve(failed);
    }
    const wf = record.workflow;
    let run: PipelineRun<RunState>;
    let checkpoint: PipelineCheckpoint<RunState>;
    let restored: boolean;
    // the seq of its run.paused: the checkpoint that holds it is gone once rebuilding has begun
    const pausedSeq = record.checkpoint?.seq ?? record.released?.seq;
    try {
      if (record.waitDeadline !== undefined) this.deadlines.removeWait(record);
      restored = record.store === undefined;
      if (restored) {
        checkpoint = record.released!.restore(
          record.runId,
          record.pipeline.id,
          record.waits as unknown as PipelineCheckpoint["pause"],
        );
        record.payload = checkpoint.event;
        this.execution.buildLiveContext(record, checkpoint.state);
        // only now: a run whose store cannot be made fails with the state the checkpoint kept
        record.released = undefined;
      } else {
        checkpoint = record.checkpoint!;
        record.controller = undefined;
      }
      wf.pauseWindow.close(record);
      this.waits.unpark(record);
      record.checkpoint = undefined;
      record.waits = NO_WAITS;
      record.mappers = undefined;
      record.status = "running";
      wf.registry.setStatus(
        record.runId,
        "running",
        record.stamp(),
        undefined,
        undefined,
        record.registryHandle,
      );
      // The resume patch goes into the store first, so onResume already sees it.
      if (patch !== undefined) record.store!.set(patch);
      run = record.pipeline.restore(checkpoint, this.runOptions(record, cause));
      // a new pipeline run, whose clock would know nothing of the run's events before the pause
      run.stampNoEarlierThan(record.stampedAt);
      record.pipelineRun = run;
    } catch (error) {
      return Promise.resolve(this.resumeFailed(record, error, pausedSeq));
    }
    // The run goes on once the onPause of the pause it resumes from is over, and once the run
    // services its pause window released are disposed (a service holding a lock or an exclusive
    // connection must not have a second instance built while the first is still closing), or at an
    // abort: as for a parked run, an abort does not wait for the hook (which may be awaiting that
    // abort); the run's end waits for the disposal itself.
    const pausing = record.pausing;
    const releasing = record.releasing;
    if (pausing !== undefined || releasing !== undefined) {
      const before: Promise<unknown> =
        releasing === undefined
          ? pausing!
          : pausing === undefined
            ? releasing
            : Promise.all([pausing, releasing]);
      return record.raceAbort(before).then(() => this.goOnInSlot(record, run, restored, checkpoint, cause));
    }
    return this.goOnInSlot(record, run, restored, checkpoint, cause);
  }

  /**
   * A run its mode started goes on in a slot of that mode, as it started: a `transient` or
   * `serialized` run gave its slot back as it paused (waiting does not count against concurrency,
   * going on does: Inngest's rule), and waits here for one when none is free, or until an abort.
   * Only once its onPause and its released services' disposal are over: waiting for them, it would
   * hold a slot it does not use (and stall, were the hook waiting for a run of its workflow the
   * slot would start).
   */
  private goOnInSlot(
    record: RunRecord,
    run: PipelineRun<RunState>,
    restored: boolean,
    checkpoint: PipelineCheckpoint<RunState>,
    cause: ResumeCause,
  ): Promise<RunResult> {
    const slot = record.managed && !record.abortRequested ? this.slotFor(record) : undefined;
    if (slot === undefined) return this.goOn(record, run, restored, checkpoint, cause);
    return slot.then(() => this.goOn(record, run, restored, checkpoint, cause));
  }

  /**
   * Takes a slot of its workflow's mode for a resumed run: `undefined` when it holds one now (it kept
   * its own, or one was free), else a promise that resolves once it does, or once an abort (or its
   * deadline) is requested; such a run then ends, and its end takes it out of the mode's line
   * (`runEnded`). The one callback serves both, and a grant forgets it as an abort waiter: a run
   * that waits for slots at many pauses leaves nothing behind. While it waits its `RunInfo` says
   * `queued` (its record stays `running`: it has left its pause, and no queued run's path applies).
   */
  private slotFor(record: RunRecord): Promise<void> | undefined {
    let goOn!: () => void;
    // (the mode calls back only from a later release, never before this returns)
    const registry = record.workflow.registry;
    const granted = () => {
      record.forgetAbortWaiter(goOn);
      registry.setStatus(
        record.runId,
        "running",
        record.stamp(),
        undefined,
        undefined,
        record.registryHandle,
      );
      goOn();
    };
    if (record.workflow.policy.runResuming(record.runId, record.concurrencyKey, granted)) return undefined;
    // what watch() and listAllRuns() show until it has one: waiting for a slot, as a run never started
    registry.setStatus(record.runId, "queued", record.stamp(), undefined, undefined, record.registryHandle);
    return new Promise<void>((resolve) => {
      goOn = resolve;
      record.onAbortRequested(resolve);
    });
  }

  /** Runs a resumed run's next stage (after `onResume`, if any). */
  private goOn(
    record: RunRecord,
    run: PipelineRun<RunState>,
    restored: boolean,
    checkpoint: PipelineCheckpoint<RunState>,
    cause: ResumeCause,
  ): Promise<RunResult> {
    if (record.abortRequested) record.endAsRequested(run);
    else if (record.workflow.options.onResume !== undefined)
      return this.resumeWithHook(record, run, restored, checkpoint, cause);
    return this.execution.settleWhenDone(record, run);
  }

  private async resumeWithHook(
    record: RunRecord,
    run: PipelineRun<RunState>,
    restored: boolean,
    checkpoint: PipelineCheckpoint<RunState>,
    cause: ResumeCause,
  ): Promise<RunResult> {
    const wf = record.workflow;
    try {
      const ctx: ResumeContext<RunState> = {
        ...hookContext(record),
        restored,
        nextStage: checkpoint.nextStageId,
        resumedBy: cause,
      };
      // An abort during onResume goes on without waiting for the hook, as during onPrepare.
      await record.raceAbort(this.hookCalls.hook(record, "onResume", () => wf.options.onResume!(ctx)));
      await run.execute();
      return this.execution.settle(record, run);
    } catch (error) {
      return this.resumeFailed(record, error);
    }
  }

  private resumeFailed(
    record: RunRecord,
    error: unknown,
    pausedSeq?: number,
  ): RunResult | Promise<RunResult> {
    const failure = SystemError.from(error, "INVALID_STATE", `run ${record.runId} failed to resume`);
    return this.ending.failOutsidePipeline(record, failure, pausedSeq);
  }

  /** A parked run's pause window has ended: it keeps only its released checkpoint. */
  readonly onPauseWindowEnd = (record: RunRecord): void => {
    if (record.status === "paused") void this.releaseLiveContext(record);
  };

  /** Resumes the parked runs that `event` satisfies a wait of, each with its patch. */
  resumeWaiting(event: string, payload: unknown): void {
    const index = this.waits.parkedOn(event);
    if (index === undefined) return;
    const candidates = index.candidates(payload);
    for (let i = 0; i < candidates.length; i++) {
      const record = candidates[i]!;
      if (record.status !== "paused" || record.abortRequested) continue;
      // A deadline already passed (a stage that outlasted it, a run adopted late) whose timer has
      // not fired yet: the timeout comes first, as it does for an event held during the stage.
      if (this.timeOutIfDue(record)) continue;
      const wait = firstMatch(record.waits, event, payload);
      if (wait === undefined) continue;
      const patch = this.resumeEvents.patchFor(record, wait, payload);
      // the wait's mapper may have resumed or ended the run itself (resume(), abort(), deregister())
      if (patch !== undefined && record.status === "paused" && !record.abortRequested)
        void this.resume(record, patch, byEvent(event, wait));
    }
  }
}
