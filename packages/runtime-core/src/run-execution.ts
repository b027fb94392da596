import { describeThrown, err, ok, SystemError } from "@sluice/errors";
import type { IdMap } from "@sluice/id-map";
import type { Pipeline, PipelineRun } from "@sluice/pipeline";
import type { StateStore, StoreCreateOptions, StoreRegistry } from "@sluice/store";
import { deadlineObserver } from "./deadline-observer.js";
import type { EventWaits } from "./event-waits.js";
import type { HookCalls } from "./hook-calls.js";
import { abortedMetadata, failureMetadata, resultMetadata } from "./result-metadata.js";
import type { ResumeEvents } from "./resume-events.js";
import type { RunDeadlines } from "./run-deadlines.js";
import type { RunEnding } from "./run-ending.js";
import { runIdHead } from "./run-id.js";
import { RunPauses } from "./run-pauses.js";
import { type RunContainerFactory, RunRecord } from "./run-record.js";
import type { RunResult, RunState, TriggerDefinition } from "./types.js";
import type { WorkflowRecord } from "./workflow-record.js";

/** The store takes a run's own state over instead of copying it (see `buildLiveContext`). */
const HAND_OVER: StoreCreateOptions = Object.freeze({ copy: false });

// A run's result promise is made with this shared executor, which hands the resolver over through
// the slot below (executors run synchronously): making the promise allocates no closure.
let capturedResolve: ((result: RunResult | Promise<RunResult>) => void) | undefined;
function captureResolve(resolve: (result: RunResult | Promise<RunResult>) => void): void {
  capturedResolve = resolve;
}

/**
 * Runs from creation to the end of their pipeline: a run record in the table of unfinished runs, its
 * state store, its pipeline run started (after `onPrepare`, if any) and settled, as ended (see
 * RunEnding) or paused (see RunPauses, which hands resumed runs back to be settled here).
 */
export class RunExecution {
  /** Pauses and resumes the runs this executes (each calls the other: a resumed run is settled here). */
  readonly pauses: RunPauses;
  private readonly runIdHead = runIdHead();
  private runCounter = 0;

  constructor(
    /** Given to each run record, which asks it for its services on its first `ctx.use`. */
    private readonly containers: RunContainerFactory,
    private readonly storeRegistry: StoreRegistry,
    /** The unfinished runs, by id: a run enters when it is created. */
    private readonly runs: IdMap<RunRecord>,
    private readonly ending: RunEnding,
    private readonly hookCalls: HookCalls,
    /** Where a run whose workflow has a `runTimeoutMs`, or whose checkpoint a `runDeadline`, gets its deadline. */
    private readonly deadlines: RunDeadlines,
    waits: EventWaits,
    resumeEvents: ResumeEvents,
    report: (error: SystemError) => void,
  ) {
    this.pauses = new RunPauses(this, ending, waits, resumeEvents, hookCalls, deadlines, report);
  }

  /** A new run id: this runtime's random head and a counter (no random draw per run). */
  nextRunId(): string {
    return this.runIdHead + (++this.runCounter).toString(36);
  }

  /**
   * A run record, in the table of unfinished runs and in its workflow's registry; not started. A
   * `key` (checked free by the caller) is held by the run from now on.
   */
  createRun(
    wf: WorkflowRecord,
    triggerId: string,
    trigger: TriggerDefinition<any, RunState>,
    initialState: RunState | undefined,
    payload: unknown,
    status: "queued" | "running" = "queued",
    runId = this.nextRunId(),
    key: string | undefined = undefined,
  ): RunRecord {
    const now = Date.now();
    const pipeline = wf.pipelines.get(trigger.pipeline)!;
    const record = new RunRecord(this.containers, runId, wf, triggerId, pipeline, now, initialState, payload);
    record.status = status;
    record.slot = this.runs.insert(runId, record);
    wf.cancels?.add(record, payload);
    // (a run without a key, most, passes the registry none: no arguments more per run)
    if (key === undefined) {
      record.registryHandle = wf.registry.adoptRun(
        runId,
        wf.id,
        trigger.pipeline,
        triggerId,
        status,
        now,
        now,
      );
    } else {
      record.key = key;
      wf.keys.hold(key, runId);
      record.registryHandle = wf.registry.adoptRun(
        runId,
        wf.id,
        trigger.pipeline,
        triggerId,
        status,
        now,
        now,
        undefined,
        undefined,
        key,
      );
    }
    // counted from its creation, as its durationMs is: a queued run's wait counts
    const runTimeoutMs = wf.options.runTimeoutMs;
    if (runTimeoutMs !== undefined) this.deadlines.add(record, now + runTimeoutMs);
    return record;
  }

  /**
   * A paused run another runtime made (`adopt()`), in the table of unfinished runs and in its
   * workflow's registry as `paused` at `stage`, holding `key` (checked free by the caller), with
   * the deadline its checkpoint gives (`runDeadline`, whatever the workflow's `runTimeoutMs` here:
   * the run was made with it); the caller gives it its released checkpoint and parks it.
   */
  createAdoptedRun(
    wf: WorkflowRecord,
    runId: string,
    triggerId: string,
    key: string | undefined,
    pipeline: Pipeline<RunState>,
    startedAt: number,
    stage: string | undefined,
    runDeadline: number | undefined,
  ): RunRecord {
    const record = new RunRecord(
      this.containers,
      runId,
      wf,
      triggerId,
      pipeline,
      startedAt,
      undefined,
      undefined,
    );
    record.status = "paused";
    record.slot = this.runs.insert(runId, record);
    if (key !== undefined) {
      record.key = key;
      wf.keys.hold(key, runId);
    }
    record.registryHandle = wf.registry.adoptRun(
      runId,
      wf.id,
      pipeline.id,
      triggerId,
      "paused",
      startedAt,
      // (not before its start: the clock of the runtime that made the checkpoint may be ahead)
      record.stamp(),
      stage,
      undefined,
      key,
    );
    // one already past fails the run once the caller has parked it (the timer fires at once)
    if (runDeadline !== undefined) this.deadlines.add(record, runDeadline);
    return record;
  }

  /**
   * Gives `record` a new state store (its services are built again on use) that takes `state` over
   * without copying it: `state` is the run's own (parsed from its released checkpoint's JSON, or a
   * queued run's copy of its payload), which nothing else holds or touches again.
   */
  buildLiveContext(record: RunRecord, state: RunState): void {
    record.store = this.createStore(record.runId, state, `run ${record.runId}: the state`, HAND_OVER);
    record.container = undefined;
    record.controller = undefined;
  }

  /**
   * A run's state store, holding a copy of `source` (or, with `HAND_OVER`, `source` itself: see
   * `StoreCreateOptions.copy`), in the host's StoreRegistry under the run id itself (a prefixed id
   * would be one more string to build and hash per run). A source whose getters or proxy traps
   * throw fails here as `INVALID_INPUT` naming `what`.
   */
  createStore(
    runId: string,
    source: RunState,
    what: string,
    options?: StoreCreateOptions,
  ): StateStore<RunState> {
    try {
      // (a registry that takes no options, of an older @sluice/store or a subclass whose create
      // does not pass them on, copies: handing over is only ever a saving)
      return this.storeRegistry.create<RunState>(runId, source, options);
    } catch (cause) {
      if (SystemError.is(cause)) throw cause;
      const reason = describeThrown(cause);
      throw new SystemError("INVALID_INPUT", `${what} could not be read: ${reason}`, { cause });
    }
  }

  /** Starts a created run and resolves with its result (when it ends or parks); never rejects. */
  execute(record: RunRecord): Promise<RunResult> {
    if (record.workflow.options.onPrepare !== undefined) return this.executePrepared(record);
    let run: PipelineRun<RunState>;
    try {
      run = this.startPipeline(record);
    } catch (error) {
      return Promise.resolve(this.crashed(record, error));
    }
    return this.settleWhenDone(record, run);
  }

  /** Starts `run` and settles the record with its result. */
  settleWhenDone(record: RunRecord, run: PipelineRun<RunState>): Promise<RunResult> {
    // The pipeline hands its result straight to this promise (no promise of its own, no extra
    // tick), through one callback shared by every run (no closures per run).
    const done = new Promise<RunResult>(captureResolve);
    record.resolveRun = capturedResolve;
    capturedResolve = undefined;
    run.executeThen(this.onPipelineSettled, record);
    return done;
  }

  private readonly onPipelineSettled = (run: PipelineRun<RunState>, record: RunRecord): void => {
    const resolve = record.resolveRun!;
    record.resolveRun = undefined;
    try {
      resolve(this.settle(record, run));
    } catch (error) {
      resolve(this.crashed(record, error));
    }
  };

  private async executePrepared(record: RunRecord): Promise<RunResult> {
    try {
      const run = this.startPipeline(record);
      if (!record.abortRequested) {
        // An abort during onPrepare ends the run without waiting for the hook: a hook that awaits
        // the abort (or deregister, or stop) of its own run would otherwise wait for itself.
        const failure = await record.raceAbort(this.hookCalls.prepare(record));
        if (failure !== undefined && !record.abortRequested) {
          // its pipeline never executed: the timeline gets run.started, then run.failed
          return this.ending.failOutsidePipeline(record, failure);
        }
      }
      // aborted during onPrepare (or before it): its pipeline never executed, and executing it
      // now would write a lone run.aborted, no run.started, for a run whose hooks ran; likewise
      // a run whose deadline passed then fails
      if (record.abortRequested) {
        const deadlineFailure = record.deadlineFailure;
        return deadlineFailure === undefined
          ? this.ending.abortOutsidePipeline(record)
          : this.ending.failOutsidePipeline(record, deadlineFailure);
      }
      await run.execute();
      return this.settle(record, run);
    } catch (error) {
      return this.crashed(record, error);
    }
  }

  /** Moves a queued run to running, builds its live context and pipeline run (not started yet). */
  private startPipeline(record: RunRecord): PipelineRun<RunState> {
    // A run created and started in one go counts its time from its creation (one clock read fewer).
    let startedAt: number | undefined = record.startedAt;
    if (record.status === "queued") {
      record.status = "running";
      startedAt = undefined;
      record.workflow.registry.setStatus(
        record.runId,
        "running",
        record.stamp(),
        undefined,
        undefined,
        record.registryHandle,
      );
    }
    if (record.store === undefined) this.buildLiveContext(record, record.initialState!);
    record.initialState = undefined;
    const run = record.pipeline.startRun(
      record.runId,
      record.store!,
      record.payload,
      record,
      record.runDeadline === undefined
        ? record.workflow.observer
        : deadlineObserver(record, record.workflow.observer, this.ending.deadlinePassed),
      startedAt,
    );
    record.pipelineRun = run;
    // a queued run's pipeline reads the clock when it starts: never before the run was created
    if (startedAt === undefined) run.stampNoEarlierThan(record.stampedAt);
    if (record.abortRequested) record.endAsRequested(run);
    return run;
  }

  private crashed(record: RunRecord, error: unknown): RunResult | Promise<RunResult> {
    const failure = SystemError.from(error, "INVALID_STATE", `run ${record.runId} failed inside the runtime`);
    return this.ending.failOutsidePipeline(record, failure);
  }

  /** Settles the record with how its pipeline run ended (read from the run: no result object). */
  settle(record: RunRecord, run: PipelineRun<RunState>): Promise<RunResult> | RunResult {
    const status = run.status;
    if (status === "failed") {
      const failure = run.failure!;
      const stage = failure.details?.stage;
      return this.ending.finish(
        record,
        err(
          failure,
          failureMetadata(
            record,
            run.finishedAt - record.startedAt,
            typeof stage === "string" ? stage : undefined,
          ),
        ),
        run.finishedAt,
      );
    }
    if (status === "paused") {
      const checkpoint = run.checkpoint;
      if (checkpoint !== undefined) return this.pauses.pause(record, checkpoint, run.finishedAt);
    }
    // since the run started, not since this execution did: the same measure for every result
    const durationMs = run.finishedAt - record.startedAt;
    return this.ending.finish(
      record,
      status === "aborted"
        ? ok({ status: "aborted", state: run.finalState! }, abortedMetadata(record, durationMs))
        : ok({ status: "completed", state: run.finalState! }, resultMetadata(record, durationMs)),
      run.finishedAt,
    );
  }
}
