import type { ArtifactContainer } from "@sluice/artifacts";
import { defaultGlobalEnv } from "@sluice/env";
import { err, SystemError } from "@sluice/errors";
import { IdMap } from "@sluice/id-map";
import type { PipelineRegistry, ResumeCause, RunInfo, StatePatch } from "@sluice/pipeline";
import type { StateStore } from "@sluice/store";
import type { TimelineStore } from "@sluice/timeline";
import { batchOfOne } from "./batched-events.js";
import { BusSubscriptions, unsubscribe } from "./bus-subscriptions.js";
import { cancelRuns } from "./cancel-on.js";
import { subscribeControlEvents } from "./control-commands.js";
import { createReporter } from "./error-reporting.js";
import { EventWaits } from "./event-waits.js";
import { HookCalls } from "./hook-calls.js";
import { DEFAULT_HOOK_TIMEOUT_MS, globalCleanupsTimedOut } from "./hook-time-limit.js";
import { createExecutionPolicy } from "./modes/create-policy.js";
import { type DefinitionRead, readDefinition } from "./read-definition.js";
import { resultMetadata } from "./result-metadata.js";
import { BY_CONTROL, BY_RESUME, ResumeEvents } from "./resume-events.js";
import type { RunCheckpoint } from "./run-checkpoint.js";
import { RunContainers } from "./run-containers.js";
import { RunDeadlines } from "./run-deadlines.js";
import { RunEnding } from "./run-ending.js";
import { RunExecution } from "./run-execution.js";
import { currentRegistry, findRun, listAllRuns, watchRun, workflowOfFinished } from "./run-lookup.js";
import type { RunPauses } from "./run-pauses.js";
import type { RunRecord } from "./run-record.js";
import { recoveredPauseSeq, storedExtent, withSeq, writeRecoveredPause } from "./run-recovery.js";
import { RunResults } from "./run-result.js";
import { RunTransfer } from "./run-transfer.js";
import { RunsAtRest, readDrainOptions } from "./runs-at-rest.js";
import {
  closedError,
  detachedRunError,
  idText,
  unknownRunError,
  unknownWorkflowError,
} from "./runtime-errors.js";
import { createGlobalContainer } from "./service-containers.js";
import { createTestTimelineStore, DEFAULT_TEST_DATABASE } from "./test-timeline-store.js";
import { createTimelineObserver } from "./timeline-observer.js";
import { TimelineWriter } from "./timeline-writer.js";
import { TriggerDispatch } from "./trigger-dispatch.js";
import { TriggerIndex } from "./trigger-index.js";
import { duplicateKeyError, triggerKey } from "./trigger-key.js";
import { initialSource, payloadNotPlain } from "./trigger-payload.js";
import type {
  DrainOptions,
  DrainReport,
  EndedRunResult,
  ExecutionMode,
  RegisterOptions,
  RunResult,
  RunResultMetadata,
  RunState,
  Workflow,
  WorkflowRuntimeOptions,
} from "./types.js";
import { copyUntrusted, readsAsPlainObject } from "./untrusted-input.js";
import { validateRuntimeOptions } from "./validate-runtime-options.js";
import { WorkflowDeregistrations } from "./workflow-deregistrations.js";
import type { WorkflowRecord } from "./workflow-record.js";
import { createWorkflowRecord } from "./workflow-setup.js";

const DEFAULT_MODE: ExecutionMode = { type: "transient", concurrency: 10 };

function failedRun(error: SystemError, meta: RunResultMetadata): Promise<RunResult> {
  return Promise.resolve(err(error, meta));
}

/**
 * The workflow runtime: routes bus events to workflow triggers, enforces each workflow's
 * execution mode, runs pipelines, pauses and resumes them, injects services and env, and records
 * every run on the timeline.
 *
 * @example
 * ```ts
 * const runtime = new WorkflowRuntime({ bus: createEventBus(), storeRegistry: new StoreRegistry() });
 * await runtime.register(orders, { mode: { type: "transient", concurrency: 10 } });
 * const result = await runtime.invoke("orders", "placed", { orderId: "o1" });
 * ```
 */
export class WorkflowRuntime {
  /**
   * Creates an IndexedDB-backed timeline store for test harnesses and browser hosts. It uses the
   * `indexedDB` the host has (a browser's, or `fake-indexeddb/auto` in Node). The adapter is
   * loaded on first call (a dynamic `import()`), so hosts that never call this do not run it; a
   * bundler that splits code fetches it only then, esbuild without `splitting` inlines it (about
   * 10 kB minified). The database keeps what was
   * stored in it: a later call with the same name (the next test in the process, a reloaded page)
   * sees the earlier events; give each test its own name, or `delete({ before: Infinity })` first.
   */
  static createTestTimelineStore(database: string = DEFAULT_TEST_DATABASE): Promise<TimelineStore> {
    return createTestTimelineStore(database);
  }

  private readonly container: ArtifactContainer;
  private readonly globalEnv: Readonly<Record<string, string | undefined>>;
  private readonly report: (error: SystemError) => void;
  /** Calls the hooks and disposes services, each within its workflow's `hookTimeoutMs`. */
  private readonly hookCalls: HookCalls;
  /** The default `hookTimeoutMs` of workflows, and the limit on the global services' cleanups. */
  private readonly hookTimeoutMs: number;
  private readonly writer: TimelineWriter | undefined;
  /** Bus events on their way to resuming runs (buffered, matched, made into patches). */
  private readonly resumeEvents: ResumeEvents;
  private readonly workflows = new Map<string, WorkflowRecord>();
  /** Unfinished runs by id (an IdMap: a run in and out of a `Map` per run is slow, see IdMap). */
  private readonly runs = new IdMap<RunRecord>();
  /**
   * Runs past bookkeeping (out of `runs`) whose run services' cleanups or `onCleanup` are still
   * under way: `deregister()` and `stop()` dispose the services they may use only after them.
   */
  private readonly endingRuns = new IdMap<RunRecord>();
  private readonly subscriptions: BusSubscriptions;
  private readonly triggers: TriggerIndex;
  /** Which runs wait on which bus events, and the subscriptions their waits hold. */
  private readonly waits: EventWaits;
  /** Builds each run's service access (see RunRecord.use). */
  private readonly runContainers: RunContainers;
  /** Ends runs: results decided, bookkeeping, last cleanups. */
  private readonly ending: RunEnding;
  /** The runs' deadlines (`runTimeoutMs`), on one timer: a run past its own fails. */
  private readonly deadlines: RunDeadlines;
  /** Creates runs, executes their pipelines and settles them. */
  private readonly execution: RunExecution;
  /** Parks, releases and resumes paused runs (the execution's). */
  private readonly pauses: RunPauses;
  /** Parked runs leaving (`detach`) and joining (`adopt`) this runtime as plain data. */
  private readonly transfer: RunTransfer;
  /** What `result()` answers. */
  private readonly results: RunResults;
  /** Bus events to triggers, through each workflow's execution policy. */
  private readonly triggerDispatch: TriggerDispatch;
  /** Deregistrations under way, until their runs are over and their services disposed. */
  private readonly deregistrations: WorkflowDeregistrations;
  /** The control events' names and the unsubscribe functions the bus returned for them. */
  private readonly controlSubscriptions: Array<readonly [string, () => void]>;
  /** Set by `drain()`, then `stop()`: the runtime takes no new runs from then on. */
  private closed: "draining" | "stopped" | undefined = undefined;
  /** Whether the runs of a draining runtime have come to rest (see `drain`). */
  private readonly atRest: RunsAtRest;
  private stopping: Promise<void> | undefined;
  /** While stopping: resolves once every run the stop aborted has a decided result. */
  private stopDecided: Promise<void> | undefined;

  constructor(options: WorkflowRuntimeOptions) {
    try {
      validateRuntimeOptions(options);
    } catch (error) {
      throw SystemError.from(
        error,
        "INVALID_INPUT",
        "new WorkflowRuntime(options): the options could not be read",
      );
    }
    const { bus, storeRegistry, timelineStore } = options;

    this.report = createReporter(options.onError);
    this.hookCalls = new HookCalls(this.report);
    this.hookTimeoutMs = options.hookTimeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS;
    this.resumeEvents = new ResumeEvents(options.maxBufferedEventsPerRun ?? 64, this.report);
    this.subscriptions = new BusSubscriptions(
      bus,
      (event, payload) => this.onBusEvent(event, payload),
      this.report,
    );
    this.triggers = new TriggerIndex(this.subscriptions);
    this.waits = new EventWaits(this.subscriptions, this.resumeEvents);
    // a copy: every workflow, registered now or later, layers over the env as it was here
    this.globalEnv = { ...(options.env ?? defaultGlobalEnv()) };
    this.writer =
      timelineStore === undefined
        ? undefined
        : new TimelineWriter(timelineStore, { ...options.timeline, onError: this.report });
    this.container = createGlobalContainer(options.services ?? [], this.globalEnv, this.report);
    this.runContainers = new RunContainers(
      this.runs,
      this.waits.onEventWait,
      this.waits.onEventWaitWithdrawn,
      this.waits.held,
      this.report,
    );
    this.atRest = new RunsAtRest(this.runs, (record, reason) =>
      this.ending.cancelQueuedRun(record.workflow, record.runId, reason, true),
    );
    this.deadlines = new RunDeadlines(
      (record) => this.ending.deadlinePassed(record),
      (record) => this.pauses.waitDeadlinePassed(record),
    );
    this.ending = new RunEnding(
      this.runs,
      this.endingRuns,
      this.waits,
      this.hookCalls,
      this.writer,
      this.report,
      this.atRest,
      this.deadlines,
    );
    this.execution = new RunExecution(
      this.runContainers,
      storeRegistry,
      this.runs,
      this.ending,
      this.hookCalls,
      this.deadlines,
      this.waits,
      this.resumeEvents,
      this.report,
    );
    this.pauses = this.execution.pauses;
    this.transfer = new RunTransfer(
      this.workflows,
      this.runs,
      this.endingRuns,
      this.execution,
      this.pauses,
      this.waits,
      this.ending,
      this.report,
    );
    this.results = new RunResults(
      this.workflows,
      this.runs,
      this.endingRuns,
      () => this.closed === "stopped",
    );
    this.triggerDispatch = new TriggerDispatch(
      this.triggers,
      this.runs,
      this.execution,
      this.ending,
      this.report,
    );
    this.deregistrations = new WorkflowDeregistrations(
      this.workflows,
      this.runs,
      this.endingRuns,
      this.triggers,
      this.subscriptions,
      this.ending,
      this.hookCalls,
      this.deadlines,
      this.triggerDispatch,
    );

    // the control events call what the host would, but a resume through them says so on the timeline
    this.controlSubscriptions = subscribeControlEvents(
      bus,
      {
        abort: (runId) => this.abort(runId),
        signal: (runId, patch) => this.signal(runId, patch),
        resume: (runId, patch) => this.resumeRun(runId, patch, BY_CONTROL),
      },
      this.report,
      options.controlEvents?.onUnknownRun === "ignore",
    );
  }

  // ───────────────────────── registration ─────────────────────────

  /**
   * Registers a workflow: validates the whole definition (bad ones reject with
   * `INVALID_DEFINITION` or `DUPLICATE_KEY`), wires its triggers into the dispatch index, sets up
   * its execution mode, its scoped service container and its env layer.
   *
   * `workflow` and `options` are read once, here: everything the runtime uses of them (triggers
   * and their conditions, pipelines down to each step's `retry`, services, env, patch mappers, the
   * mode, retention and hooks) is copied, each field read once, and the runtime checks and uses
   * only its copy (functions are kept as given, not copied). Changing those objects afterwards,
   * or a getter that gives another value later, has no effect on the registered workflow: to
   * change a workflow, `deregister()` it and register the new definition. A part that throws when
   * read (a getter, a Proxy trap) is refused with `INVALID_DEFINITION` naming it, the thrown error
   * as `cause`.
   */
  async register<S extends object = RunState>(
    workflow: Workflow<S>,
    options: RegisterOptions<S> = {},
  ): Promise<void> {
    this.assertRunning("register");
    let read: DefinitionRead;
    try {
      // the one read of the host's objects: from here on only the runtime's copy is used
      read = readDefinition(workflow, options);
    } catch (error) {
      // readDefinition names a part whose reading throws (a getter, a Proxy): as malformed as a
      // wrong field; anything else thrown is refused as a definition that could not be read too
      throw SystemError.from(
        error,
        "INVALID_DEFINITION",
        "register(): the workflow or its options could not be read",
      );
    }
    const { id } = read.workflow;
    if (this.workflows.has(id)) {
      throw new SystemError(
        "DUPLICATE_KEY",
        `workflow "${id}" is already registered; deregister it first or use another id`,
        { details: { workflowId: id } },
      );
    }
    const wf = createWorkflowRecord(
      read.workflow,
      read.options,
      this.container,
      this.globalEnv,
      this.hookTimeoutMs,
      this.pauses.onPauseWindowEnd,
      this.report,
    );
    wf.policy = createExecutionPolicy(read.options.mode ?? DEFAULT_MODE, this.triggerDispatch.policyHost(wf));
    if (this.writer !== undefined) wf.observer = createTimelineObserver(wf.id, this.writer);
    try {
      this.triggers.add(wf);
    } catch (error) {
      // the bus refused a subscription: nothing of the workflow stays (its triggers are unwired)
      await this.deregistrations.disposeWorkflowScope(wf);
      throw SystemError.from(error, "INVALID_STATE", `register(): workflow "${wf.id}"`);
    }
    this.workflows.set(wf.id, wf);
  }

  /**
   * Removes a workflow: releases its bus subscriptions, drops its queued runs (reported as
   * dropped), aborts its active runs (paused ones included) and waits for them to finish, then disposes its scoped
   * service container. Resolves `false` when no such workflow is registered.
   *
   * Safe to await from a run's `onComplete`: a run whose result is already decided is not waited
   * for (the workflow's services are disposed once its hooks are done), and a call made while an
   * earlier one is still under way resolves as soon as every run that one aborted has a decided
   * result (the caller may be one of those runs' `onComplete`, which the earlier call waits for).
   */
  deregister(workflowId: string): Promise<boolean> {
    return this.deregistrations.deregister(workflowId);
  }

  /** True when a workflow with this id is registered. */
  hasWorkflow(workflowId: string): boolean {
    return this.workflows.has(workflowId);
  }

  /** Ids of the registered workflows. */
  listWorkflows(): string[] {
    return [...this.workflows.keys()];
  }

  /**
   * The run registry of a workflow (live: the one `watch` and `listAllRuns` read), or `undefined`,
   * its finished runs past `retention.maxAgeMs` dropped first (a reference kept and read later may
   * hold such runs until the next run ends or the next read through the runtime). Read it; what
   * is written to it (`set`, `delete`, `prune` …) changes what they and `onCleanup`'s `info`
   * report, and, for a finished run, whether `result()`, `abort()` and `adopt()` still know it (as
   * retention dropping it does); never how the runs go on, nor which hooks they get.
   */
  registry(workflowId: string): PipelineRegistry | undefined {
    const wf = this.workflows.get(workflowId);
    return wf === undefined ? undefined : currentRegistry(wf);
  }

  // ───────────────────────── runs ─────────────────────────

  /**
   * Runs a trigger's pipeline directly, bypassing the bus and the execution mode. Resolves when
   * the run completes, fails, is aborted or parks paused; never rejects. Unknown ids and bad
   * payloads resolve `{ ok: false }` with `NOT_FOUND` / `INVALID_INPUT` (also for a trigger `key`
   * that throws or gives no non-empty string). Through a trigger with a `key`, the run holds the
   * payload's key until it ends, as a bus-started one does, and a payload whose key an unfinished
   * run of the workflow holds starts no run: `{ ok: false }` with `DUPLICATE_KEY`,
   * `details: { workflowId, triggerId, key, runId }`, `runId` the run holding it (`findRun`,
   * `result`).
   */
  invoke<S extends object = RunState>(
    workflowId: string,
    triggerId: string,
    event: unknown,
  ): Promise<RunResult<S>> {
    return this.startInvoke(workflowId, triggerId, event) as Promise<RunResult<S>>;
  }

  private startInvoke(workflowId: string, triggerId: string, event: unknown): Promise<RunResult> {
    if (this.closed !== undefined)
      return failedRun(closedError(this.closed, "invoke"), { workflowId, triggerId });
    const wf = this.workflows.get(workflowId);
    if (wf === undefined)
      return failedRun(unknownWorkflowError(workflowId, this.listWorkflows()), { workflowId, triggerId });
    const trigger = wf.triggers.get(triggerId);
    if (trigger === undefined) {
      return failedRun(
        new SystemError(
          "NOT_FOUND",
          `workflow "${workflowId}" has no trigger ${idText(triggerId)} (triggers: ${[...wf.triggers.keys()].join(", ")})`,
          { details: { workflowId, triggerId } },
        ),
        { workflowId, triggerId },
      );
    }
    if (trigger.batch !== undefined) {
      // a batched trigger's map and key read a batch: what its bus events go on as
      try {
        event = batchOfOne(wf.id, triggerId, trigger.batch, event);
      } catch (error) {
        return failedRun(error as SystemError, { workflowId, triggerId });
      }
    }
    let key: string | undefined;
    if (trigger.key !== undefined) {
      try {
        key = triggerKey(wf.id, triggerId, trigger, event);
      } catch (error) {
        return failedRun(error as SystemError, { workflowId, triggerId });
      }
      const holder = wf.keys.holder(key);
      if (holder !== undefined) {
        return failedRun(duplicateKeyError(wf.id, triggerId, key, holder, this.runs.get(holder)), {
          workflowId,
          triggerId,
        });
      }
    }
    // The run starts now, so its state store is made at once from the payload: the store's copy
    // is the only one (a queued run keeps a copy of its own until it starts).
    const runId = this.execution.nextRunId();
    let store: StateStore<RunState>;
    try {
      // Without `map` the payload goes to the store as it is: the store checks it is a plain object.
      const source = trigger.map === undefined ? event : initialSource(wf.id, triggerId, trigger, event);
      store = this.execution.createStore(runId, source as RunState, wf.stateNames.get(triggerId)!);
    } catch (error) {
      const refused =
        trigger.map === undefined && !readsAsPlainObject(event) ? payloadNotPlain(wf.id, triggerId) : error;
      return failedRun(SystemError.from(refused, "INVALID_INPUT", `trigger "${triggerId}"`), {
        workflowId,
        triggerId,
      });
    }
    // The trigger's map and key (host code) may have drained or stopped the runtime, deregistered the
    // workflow, or started a run under the key: the run would start after them, unseen by them.
    if (
      this.closed !== undefined ||
      this.workflows.get(workflowId) !== wf ||
      (key !== undefined && wf.keys.holder(key) !== undefined)
    ) {
      store.dispose();
      return failedRun(this.refusedAfterMap(wf, triggerId, key), { workflowId, triggerId });
    }
    const record = this.execution.createRun(wf, triggerId, trigger, undefined, event, "running", runId, key);
    record.store = store;
    return this.execution.execute(record);
  }

  /** Why an `invoke` whose `map` or `key` changed what it was checked against is refused after all. */
  private refusedAfterMap(wf: WorkflowRecord, triggerId: string, key: string | undefined): SystemError {
    if (this.closed !== undefined) return closedError(this.closed, "invoke");
    const holder = key === undefined ? undefined : wf.keys.holder(key);
    if (this.workflows.get(wf.id) !== wf || holder === undefined)
      return unknownWorkflowError(wf.id, this.listWorkflows());
    return duplicateKeyError(wf.id, triggerId, key!, holder, this.runs.get(holder));
  }

  /**
   * Resumes a paused run, merging `patch` into its state first. Rebuilds the run's context from
   * its checkpoint when the pause window has released it. Resolves like `invoke`. Its `run.resumed`
   * event says `by: "resume"`. `patch` is typed as a patch of `S` (`Partial<S>`; without `S`, any
   * `object`, so that a value typed with an interface fits).
   */
  resume<S extends object = RunState>(runId: string, patch?: StatePatch<NoInfer<S>>): Promise<RunResult<S>> {
    return this.resumeRun(runId, patch, BY_RESUME) as Promise<RunResult<S>>;
  }

  /** `resume()`, by `cause` (the host's call, or the control event). */
  private async resumeRun(runId: string, patch: object | undefined, cause: ResumeCause): Promise<RunResult> {
    const record = this.runs.get(runId);
    if (record === undefined) {
      const workflowId = workflowOfFinished(this.workflows, runId);
      return err(unknownRunError(runId), workflowId === undefined ? { runId } : { runId, workflowId });
    }
    let copy: RunState | undefined;
    try {
      copy = patch === undefined ? undefined : copyUntrusted(patch, `resume(${runId}, patch): patch`);
    } catch (error) {
      return err(error as SystemError, resultMetadata(record));
    }
    if (record.status !== "paused") {
      return err(
        new SystemError(
          "INVALID_STATE",
          `run ${runId} is ${record.status}, not paused; only a paused run can be resumed`,
          {
            details: { runId, status: record.status },
          },
        ),
        resultMetadata(record),
      );
    }
    return this.pauses.resume(record, copy, cause);
  }

  /**
   * Merges `patch` into a run's state: a running or paused run's live state, a parked run's
   * checkpoint, or a queued run's initial state. Throws `NOT_FOUND` for an unknown or finished
   * run, `INVALID_STATE` for a run whose result is decided (its pipeline has ended: it is in its
   * `onComplete` or about to be, and the patch would be lost), and
   * `INVALID_INPUT` for a patch that is not a plain object (or, for a run released past its pause
   * window, not JSON-serialisable). `patch` is typed as `resume`'s is: a patch of `S`, or without
   * `S` any `object`.
   */
  signal<S extends object = RunState>(runId: string, patch: StatePatch<NoInfer<S>>): void {
    const copy = copyUntrusted(
      patch,
      `signal(${typeof runId === "string" ? runId : idText(runId)}, patch): patch`,
    );
    const record = this.runs.get(runId);
    if (record === undefined) throw unknownRunError(runId);
    if (record.resultDecided) {
      throw new SystemError(
        "INVALID_STATE",
        `run ${runId} has ended (its result is decided, its onComplete runs now or next): its state takes no more signals`,
        { details: { runId } },
      );
    }
    record.mergeSignal(copy);
  }

  /**
   * Aborts a queued, running or paused run and resolves once it has finished (`onComplete` and
   * `onCleanup` have run; a queued run, which never started, gets no hooks: it leaves its mode's
   * queue, aborted as `never started: aborted by the host`). Resolves at once for a run that already finished or whose result is
   * decided (it is in `onComplete` or `onCleanup`), while its workflow's registry still lists it
   * or its last cleanups run; rejects with `NOT_FOUND` for a run id it does not hold: never known,
   * or finished and since dropped (its workflow deregistered, or past the registry's retention of
   * finished runs), or detached (`details.detached` while `detach()` still disposes its services:
   * the run has not ended, so abort it where it is adopted).
   */
  async abort(runId: string): Promise<void> {
    const record = this.runs.get(runId);
    if (record === undefined) {
      const leaving = this.endingRuns.get(runId);
      if (leaving !== undefined) {
        // detach() waiting for its services' cleanups: the run has not ended, it goes on where it
        // is adopted, so taking the abort as done would lose it (a cancelled order shipped there)
        if (leaving.finalResult === undefined) throw detachedRunError(runId);
        // in its last cleanups (onCleanup): also when deregister() or stop() ended it, whose
        // workflow's registry, which would otherwise tell of it, is gone already
        return;
      }
      if (workflowOfFinished(this.workflows, runId) !== undefined) return;
      throw unknownRunError(runId);
    }
    // its result is decided (it is in onComplete): nothing left to abort, and a hook
    // awaiting the abort of its own run must not wait for itself
    if (record.finished) return;
    if (record.status === "queued") {
      this.ending.cancelQueuedRun(record.workflow, runId, "aborted by the host", false);
      return;
    }
    const done = record.whenFinished();
    this.ending.abortRun(record, "aborted by the host");
    await done;
  }

  /**
   * Resolves with the result a run ends with, `completed`, `failed` or `aborted` (never `paused`):
   * the result `invoke` would give and `onComplete` gets, whichever way the run was started (a bus
   * event, `invoke`, `adopt`) and however often it pauses meanwhile. Like `invoke` it resolves
   * after `onCleanup` has run, except for a run already in its `onComplete` or `onCleanup`, whose
   * result it gives at once (so those hooks may ask for their own run's; asked from the run's own
   * step or other hooks, it waits for the run, hence for itself). Asked again, it gives the same
   * promise. Never rejects. Await it once rather than race it per poll: each
   * `Promise.race([result(id), timer])` leaves a reaction on that promise until the run ends (poll a
   * run that may wait for weeks with `watch`).
   *
   * Once a run is over its result is kept only when its workflow was registered with
   * `keepResults` (the results of its last `keepResults` ended runs): `result()` then resolves at
   * once with it. Otherwise ask while the run is queued, running or paused, where it cannot have
   * ended yet (from `onDispatch` for a bus-started run; from `onPrepare` or a step, by
   * `ctx.runId`); right after `invoke` resolves `paused` works unless something can resume and end
   * the run first. A run this runtime does not hold resolves `{ ok: false }` with `NOT_FOUND`: one
   * it never knew, one that has ended and whose result is not (or no longer) kept (`details.status`
   * while its workflow's registry keeps its `RunInfo`), one detached from it (`details.detached` for
   * calls waiting when it left), or any after `stop()` (which drops kept results, as `deregister()`
   * drops its workflow's).
   */
  result<S extends object = RunState>(runId: string): Promise<EndedRunResult<S>> {
    return this.results.result(runId) as Promise<EndedRunResult<S>>;
  }

  /**
   * The `RunInfo` of a run of a workflow, or `undefined`. A run that has ended is answered while
   * the workflow's registry holds it (its `retention`), and after that while its result is kept
   * (`keepResults`), with the `RunInfo` it ended with. A copy each time.
   */
  watch(workflowId: string, runId: string): RunInfo | undefined {
    return watchRun(this.workflows, this.runs, workflowId, runId);
  }

  /**
   * The `RunInfo` of a run by its id alone, whichever workflow it belongs to, or `undefined`: what
   * `watch(workflowId, runId)` gives, for a host that has only the run id (from a URL, a message).
   * A queued, running or paused run is found at once, however many workflows and runs there are;
   * a finished one is looked for in each workflow's registry (while its retention keeps it), then
   * among the kept results (`keepResults`: the `RunInfo` it ended with). Never throws: an id that
   * is not a string is `undefined` too.
   */
  findRun(runId: string): RunInfo | undefined {
    return findRun(this.workflows, this.runs, runId);
  }

  /** Every run the registries know, across all registered workflows. */
  listAllRuns(): RunInfo[] {
    return listAllRuns(this.workflows, this.runs);
  }

  /**
   * A paused run's checkpoint as plain JSON data (workflow, trigger, pipeline, next stage, state,
   * waits, timeline sequence, and the run's deadline, `runDeadline`, if it has one), or `undefined`
   * when the run is not paused. The run goes on waiting
   * here; {@link WorkflowRuntime.detach} takes it out as well.
   *
   * @throws SystemError `INVALID_STATE` when the run's state or trigger payload is not
   * JSON-serialisable.
   */
  checkpoint(runId: string): RunCheckpoint | undefined {
    const record = this.runs.get(runId);
    if (record === undefined || record.status !== "paused") return undefined;
    return record.exportCheckpoint();
  }

  /**
   * Takes a paused run out of this runtime without ending it, and resolves with its checkpoint,
   * for {@link WorkflowRuntime.adopt} in another runtime (another worker, or this program after a
   * restart). The run stops waiting here: it leaves its workflow's registry and execution mode,
   * its state store and run services are disposed (the promise resolves once they are), and no
   * hook runs and no timeline event is written: the run has not ended, it continues where it is
   * adopted. A later `resume`, `signal` or `abort` of it here is `NOT_FOUND`.
   *
   * Rejects with a SystemError: `NOT_FOUND` for a run this runtime does not know;
   * `INVALID_STATE` for one that is not paused (queued, running, ending or finished) or whose state
   * is not JSON-serialisable (it then goes on waiting here).
   */
  detach(runId: string): Promise<RunCheckpoint> {
    return this.transfer.detach(runId);
  }

  /**
   * Makes a run from another runtime's checkpoint (`detach()`, or `checkpoint()` of a runtime
   * that has since gone) wait here, as a run past its pause window waits: the first bus event
   * that meets one of its waits, a `resume()` or a wait's deadline (one already past fires at
   * once) rebuilds it, calls `onResume` with `restored: true` and runs its next stage. Its
   * timeline continues from the checkpoint's `seq`, its events stamped no earlier than the
   * checkpoint's `startedAt` (this machine's clock may be behind the one that made it). It goes on at the stage the checkpoint names
   * by id (`nextStageId`), wherever the definition registered here puts it: a new version that
   * inserted, removed or reordered stages takes the run. A run that paused in its last stage
   * (`nextStageId` `null`) goes on at the stage that follows the one it paused in
   * (`pausedAfterStageId`) here, so stages a new version appended after it run; it completes when
   * none does, or when its checkpoint has no `pausedAfterStageId` (made before it existed). The
   * trigger that started the run is not looked up (the run keeps its id in `RunInfo.triggerId`); the
   * run holds its checkpoint's idempotency `key` here, as it did where it paused. A
   * wait's `patch` mapper travels by name (one of the workflow's `patches`), a function does not:
   * such a wait resumes with the payload itself as its patch. A run whose checkpoint has a
   * `runDeadline` keeps that deadline, whatever `runTimeoutMs` the workflow has here, and fails with
   * `TIMEOUT` when it passes: at once (on the next turn of the event loop, and before anything can
   * resume it) when it has passed already. Returns the run's `RunInfo` (`paused`).
   *
   * @throws SystemError `NOT_FOUND` when the checkpoint's workflow is not registered;
   * `INVALID_INPUT` for a malformed checkpoint (naming the field; a field a checkpoint does not
   * have is refused too, and a `runDeadline` that is not an epoch time; one without waits; one
   * whose `seq` is past 2^52, which would leave the
   * run's events no room below `Number.MAX_SAFE_INTEGER`), one of a pipeline the workflow no longer
   * has, or whose next stage its pipeline no longer has (`checkpoint.nextStageId: pipeline "fulfil"
   * has no stage "ship" …`; set `nextStageId` to migrate it), or that paused in its last stage and
   * whose pipeline no longer has that stage (`checkpoint.pausedAfterStageId: …`), one whose wait
   * names a patch mapper the workflow does not declare; `DUPLICATE_KEY` when this runtime already
   * knows the run id, or when the checkpoint's `key` is held by an unfinished run of the workflow
   * here (`details: { runId, workflowId, key, holderRunId }`; the adopted run would hold it
   * too); `INVALID_STATE` after `stop()`, when the workflow runs in `singleton_loop` or
   * `exclusive` mode, the run was dispatched through it, and another run holds the slot, or when
   * the bus refuses to subscribe to a wait's event (the run is then not adopted).
   */
  adopt<S extends object = RunState>(checkpoint: RunCheckpoint<S>): RunInfo {
    this.assertRunning("adopt");
    return this.transfer.adopt(checkpoint, "adopt");
  }

  /**
   * `adopt()` for a checkpoint its run may have outrun: one saved in `onPause` by a process that
   * then crashed after the run resumed from it. The crashed process may have written the run's
   * `run.resumed` and next stage's events to the timeline, under ids (`runId:seq`) the rerun would
   * number again, and a timeline store keeps the first event of an id: the rerun's would be
   * dropped, and the timeline would show the crashed attempt alone. `recover` first reads the
   * run's last event from this runtime's timeline store and, when it is past the checkpoint's
   * `seq`, adopts the run with its `seq` there, so both attempts show, the rerun after the
   * crashed one. When the stored timeline does not end at the checkpoint's own `run.paused` (the
   * run went on before the crash, or the crash lost that event), it writes a `run.paused`
   * (`source: "runtime"`, `data.recovered: { checkpointSeq, storedSeq }`) after the stored events,
   * or at the checkpoint's `seq` when they stop short of it, so the timeline shows the run parked
   * again rather than running. That event and the run's later ones are stamped no earlier than the
   * stored events' latest `at` (this machine's clock may be behind the crashed one's). Without a timeline store it is `adopt`. A store that fails or does not answer
   * within the runtime's `hookTimeoutMs` is reported (`onError`) and the checkpoint's `seq` used.
   * Events that arrive while it reads are not the run's yet: recover before the host's event
   * sources start. The run keeps its checkpoint's `runDeadline` as with `adopt`: one that has
   * passed fails it with `TIMEOUT` on the next turn of the event loop, after the `run.paused` written
   * here. Resolves with the run's `RunInfo`; rejects as `adopt` throws (the messages
   * beginning `recover(checkpoint):` where adopt's begin `adopt(checkpoint):`), and with
   * `INVALID_STATE` when the timeline shows the run ended (`run.completed`, `run.failed` or
   * `run.aborted`): its checkpoint was left over by a process that stopped before the run's
   * `onCleanup` could delete it, and the run must not run again.
   */
  async recover<S extends object = RunState>(checkpoint: RunCheckpoint<S>): Promise<RunInfo> {
    this.assertRunning("recover");
    // refused as adopt() would refuse it, before the store is read: nothing to report about a
    // checkpoint that cannot be adopted, and a run already here is a duplicate, not a crash's
    const read = this.transfer.check(checkpoint, "recover");
    const writer = this.writer;
    const stored =
      writer === undefined
        ? undefined
        : await storedExtent(read, writer, this.hookCalls, this.hookTimeoutMs, this.report);
    this.assertRunning("recover");
    const pausedSeq = recoveredPauseSeq(read.seq, stored?.lastSeq);
    // past the events the crashed attempt wrote, so that the rerun's are not dropped as repeats
    const seq = pausedSeq ?? Math.max(read.seq, stored?.lastSeq ?? 0);
    const info = this.transfer.adopt(seq === read.seq ? checkpoint : withSeq(checkpoint, seq), "recover");
    const record = this.runs.get(read.runId);
    if (stored !== undefined && record !== undefined) {
      // what the run writes from now on comes after the stored events, even on a clock behind the
      // one that wrote them (stores order a run's events by time first)
      if (stored.lastAt > record.stampedAt) record.stampedAt = stored.lastAt;
      if (pausedSeq !== undefined)
        writeRecoveredPause(
          writer!,
          record,
          this.checkpoint(read.runId),
          pausedSeq,
          read.seq,
          stored.lastSeq,
        );
    }
    return info;
  }

  /** Resolves once every timeline event written so far has been handed to the store. */
  async flushTimeline(): Promise<void> {
    await this.writer?.flush();
  }

  /**
   * The first half of a graceful shutdown: the runtime takes no new runs, and the promise resolves
   * once the runs it has come to rest: each one ended or parked at a pause (its `onPause` over).
   * Queued runs still start as their mode frees slots, running ones go on to their end or next
   * pause, and parked ones stay resumable by their events, `resume()` or deadlines: while the
   * drain is pending it waits for a resumed run too (once it has resolved, call it again).
   *
   * From the call on, bus events no longer reach triggers: `onDispatch` reports each `dropped`,
   * also an event a run emits to start another workflow, and one a `singleton_loop` would signal
   * its running run with. With `triggers: "start"` they still do, and the drain waits for the runs
   * they start: for workflows that hand work on to each other through the bus, whose events would
   * otherwise be lost (stop the host's own event sources first). Each call sets this anew, so a
   * second `drain()` without it drops again. `invoke()` (a failed `Result`, also from a step), `register()` and
   * `adopt()` are refused with `INVALID_STATE`. `resume`, `signal`, `abort`, `detach`,
   * `checkpoint`, `watch`, `deregister` and the control events work as before. There is no way
   * back: end with `stop()`, after `detach()`ing the parked runs to keep (the report lists them).
   *
   * Once every other run is at rest, a run still queued can only wait for a slot a parked run holds
   * (`exclusive` with `queue_single`): detaching that run would start it, only for `stop()` to abort
   * it. Such runs are dropped as never started (`onDispatch` reports them `dropped`) and listed in
   * `dropped`.
   *
   * Resolves after `timeoutMs` (default 30 000; `Infinity`, or more than 2147483647, for no
   * limit) with `drained: false` and the runs still busy, which `stop()` then aborts. Each call
   * waits with its own limit. Do not await it from a run's own step or hook: it waits for that run
   * too (only its limit, or the hook's `hookTimeoutMs`, ends the wait).
   *
   * Rejects with a SystemError: `INVALID_INPUT` for a `timeoutMs` that is not a non-negative
   * number, a `triggers` other than `"drop"` or `"start"`, or an unknown option; `INVALID_STATE`
   * after `stop()`.
   */
  async drain(options: DrainOptions = {}): Promise<DrainReport> {
    const { timeoutMs, triggers } = readDrainOptions(options);
    if (this.closed === "stopped") throw closedError(this.closed, "drain");
    this.closed = "draining";
    if (triggers === "start") this.triggerDispatch.accept();
    else {
      this.triggerDispatch.refuse(
        "the runtime is draining (drain() was called): bus events start no new runs",
      );
    }
    // events a debounce holds were taken before the drain began: their runs start now, and are
    // waited for; an event those runs emit meanwhile comes during the drain, refused or let through as above
    this.triggerDispatch.releaseHeld(this.workflows.values());
    return this.atRest.wait(timeoutMs);
  }

  /**
   * Stops gracefully: unsubscribes the control events, deregisters every workflow (queued runs
   * dropped, active runs aborted and awaited, paused ones included: {@link WorkflowRuntime.detach}
   * those to keep first), flushes the timeline and disposes global services. To let running runs
   * end or park instead of aborting them, {@link WorkflowRuntime.drain} first.
   *
   * Safe to await from a run's `onComplete`, as `deregister` is. Runs already in `onComplete`, and
   * deregistrations already under way (whose runs may be the caller), are waited for only until
   * their runs' results are decided: the timeline is flushed before this resolves, and closed with
   * the global services once they are over. A later call while stopping resolves once every run
   * has a decided result, also one made by host code that stopping runs (a dropped queued run's
   * `onDispatch`, a parked run's `onComplete`): the teardown runs once.
   */
  stop(): Promise<void> {
    if (this.stopping !== undefined) return this.stopDecided!;
    this.closed = "stopped";
    // Both promises exist before anything runs host code: deregistering calls some synchronously
    // (a dropped queued run's onDispatch, a parked run's onComplete), and a stop() from there is a
    // later call like any other, not a second teardown (control events unsubscribed again, the
    // timeline closed and the global services disposed twice).
    let decide!: (decided: Promise<void>) => void;
    this.stopDecided = new Promise<void>((resolve) => {
      decide = resolve;
    });
    let complete!: (done: Promise<void>) => void;
    this.stopping = new Promise<void>((resolve) => {
      complete = resolve;
    });
    for (const [event, off] of this.controlSubscriptions) unsubscribe(event, off, this.report);
    // every run is aborted, dropped or already ending now, and none can start: no deadline is left to keep
    this.deadlines.clear();
    const { removals, decided, later } = this.deregistrations.deregisterAll();
    decide(decided);
    complete(this.completeStop(removals, decided, later));
    return this.stopping;
  }

  private async completeStop(
    removals: Promise<boolean>[],
    decided: Promise<void>,
    later: Promise<unknown>[],
  ): Promise<void> {
    await Promise.all(removals);
    await decided;
    this.subscriptions.dropIdle();
    if (later.length === 0) return this.closeGlobals();
    // what was written so far reaches the store before stop() resolves; closing waits for the rest
    await this.writer?.flushWithin();
    void Promise.all(later).then(() => this.closeGlobals());
  }

  private async closeGlobals(): Promise<void> {
    // runs that were in their last hooks released their wait subscriptions since: none may stay
    this.subscriptions.dropIdle();
    await this.writer?.close();
    const limit = this.hookTimeoutMs;
    await this.hookCalls.dispose(
      this.container,
      limit,
      (error) => SystemError.from(error, "FACTORY_FAILED", "disposing global services failed"),
      () => globalCleanupsTimedOut(limit),
    );
    // every run has ended and the global services are disposed, so nothing is timed any more
    this.hookCalls.idle();
  }

  // ───────────────────────── bus events ─────────────────────────

  private onBusEvent(event: string, payload: unknown): void {
    // first: the event that cancels a run must not resume it, nor cancel the runs it starts
    const cancels = this.triggers.cancels(event);
    if (cancels !== undefined) cancelRuns(cancels, event, payload, this.runs, this.ending, this.report);
    this.triggerDispatch.dispatch(event, payload);
    // Buffer for running runs first: a parked run resumed below becomes a running watcher, and must
    // not also buffer the very event that resumed it.
    this.waits.bufferFor(event, payload);
    this.pauses.resumeWaiting(event, payload);
  }

  // ───────────────────────── checks ─────────────────────────

  private assertRunning(operation: string): void {
    if (this.closed !== undefined) throw closedError(this.closed, operation);
  }
}
