import type { Result, SystemError } from "@sluice/errors";

/** The default shape of a run's state: a plain object keyed by string. */
export type PipelineState = Record<string, unknown>;

/**
 * True when `S` is the default state {@link PipelineState} itself: a state whose type was not
 * declared (`Record<string, unknown>`).
 */
export type IsDefaultState<S extends object> =
  (<X>() => X extends S ? 1 : 2) extends <X>() => X extends PipelineState ? 1 : 2 ? true : false;

/**
 * A patch of the state `S`, as a step returns one: `Partial<S>`; for the default state (no state
 * type declared) any `object`, so that a value typed with an interface (which has no index
 * signature, so `Partial<Record<string, unknown>>` refuses it) is a patch too. At run time it must
 * be a plain object either way (an array, a `Map`, a class instance fails the step).
 */
export type StatePatch<S extends object> = IsDefaultState<S> extends true ? object : Partial<S>;

/**
 * Read and patch access to a run's state. The engine never keeps its own copy: this object is the
 * source of truth. `@sluice/store`'s `StateStore` satisfies it; so does any `{ get, set }` pair.
 */
export interface StateAccess<S extends object> {
  /** The current state. */
  get(): Readonly<S>;
  /** Merges `patch` shallowly into the state. */
  set(patch: Partial<S>): void;
  /**
   * True when `set` throws a `SystemError` `INVALID_INPUT` for a patch that is not a plain object
   * (as `@sluice/store`'s stores do): the engine then leaves that check to `set` instead of making
   * it twice per step. Leave it out and the engine checks every patch itself.
   */
  readonly validatesPatches?: boolean;
}

/**
 * Dependency keys whose type is known without a type argument: `require(key)` and `resolve(key)` of
 * one of them give its type. Empty here: `@sluice/runtime-core` declares its built-in services in
 * it (`__env__`, `__pause_service__`), so in a step `await d.require("__env__")` is an `EnvService`.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging (module augmentation)
export interface KnownServices {}

/** What `ctx.use(fn)` hands to `fn`: dependency lookup plus a state selector. */
export interface UseDependencyContext<S extends object> {
  /** Resolves one of the {@link KnownServices}, reporting failure as a value. */
  resolve<K extends keyof KnownServices>(
    key: K,
  ): Promise<{ ok: true; value: KnownServices[K] } | { ok: false; error: SystemError }>;
  /** Resolves a dependency by key, reporting failure as a value. */
  resolve<T = unknown>(key: string): Promise<{ ok: true; value: T } | { ok: false; error: SystemError }>;
  /** Resolves one of the {@link KnownServices}, rejecting with a `SystemError` when it cannot. */
  require<K extends keyof KnownServices>(key: K): Promise<KnownServices[K]>;
  /** Resolves a dependency by key, rejecting with a `SystemError` when it cannot. */
  require<T = unknown>(key: string): Promise<T>;
  /** Reads a value out of the run's state. */
  select<R>(selector: (state: S) => R): R;
}

/**
 * Where a step's dependencies come from. `@sluice/artifacts`' `ArtifactContainer` satisfies it; the
 * engine only ever calls `use`.
 */
export interface DependencyScope<S extends object> {
  /**
   * Runs `fn` with a dependency context and returns what it returns. A step's `ctx.use` passes its
   * `attempt`, for a scope whose dependencies act for the run on the attempt's behalf (the
   * runtime's pause service): it can refuse them once the attempt is over and undo what they did
   * if it fails. A scope that has no such dependency ignores it (`ArtifactContainer` does).
   */
  use<R>(fn: (deps: UseDependencyContext<S>) => R | Promise<R>, attempt?: StepAttempt): Promise<R>;
}

/**
 * Where a step attempt is, as {@link StepAttempt.status} tells it: `"running"` while it may still
 * act for its run; `"timed-out"` once it has passed its `timeoutMs` (it may still be running, but
 * the run has moved on without it); `"ended"` once it has returned or thrown, or its run has
 * stopped (aborted, failed, paused, completed) or, for a simple step of a sequential stage,
 * gone on past it.
 */
export type AttemptStatus = "running" | "timed-out" | "ended";

/**
 * How a step attempt ended, as {@link StepAttempt.onEnd} tells it: `"completed"` (it returned and
 * its patch, if any, was applied), `"failed"` (it threw, or returned a patch that was refused),
 * `"timed-out"` (it passed its `timeoutMs`: it may go on running, but the run has moved on without
 * it) or `"stopped"` (its run stopped while it ran: aborted, or failed because a sibling step of
 * its concurrent stage did; it may go on running too).
 */
export type AttemptOutcome = "completed" | "failed" | "timed-out" | "stopped";

/**
 * One attempt of a step (its `when` guard counts as the first attempt), as the engine hands it to
 * {@link DependencyScope.use}: what a dependency that acts for the run needs so that an attempt
 * which fails or is abandoned leaves no trace on the run.
 */
export interface StepAttempt {
  /** The run's id. */
  readonly runId: string;
  /** The id of the step's stage. */
  readonly stage: string;
  /** The step's id. */
  readonly step: string;
  /** 1 for the first try, 2 for the first retry, and so on. */
  readonly attempt: number;
  /** Whether the attempt may still act for its run (see {@link AttemptStatus}). */
  readonly status: AttemptStatus;
  /**
   * Has `undo` called when this attempt fails (it throws, returns a patch that is refused, or times
   * out), whether the step is retried or fails for good, before `step.retried` or `step.failed`.
   * Not called when the attempt completes, nor when its run stops without it (aborted, its
   * concurrent stage stopped by a sibling's failure, or a simple step of a sequential stage failing,
   * which fails the run at once): the run then drops what the stage did anyway. Given once the
   * attempt is over, `undo` is never called. An `undo` that throws is a fault of the scope's: the
   * other undos still run, then the run fails with what it threw (a `SystemError` as it is,
   * anything else as the `cause` of an `INVALID_STATE`).
   */
  onFailure(undo: () => void): void;
  /**
   * Has `callback` called once this attempt is over, with how it ended: after its patch is applied
   * and before `step.completed`; after its `onFailure` undos and before `step.retried` or
   * `step.failed` (a simple step of a sequential stage runs no undos); for an attempt its run
   * stopped without (see {@link AttemptOutcome}), as the run ends, before its terminal event.
   * Callbacks run in the order given. Given once the attempt is over, `callback` is never called.
   * A `callback` that throws is a fault of the scope's, as an `undo` that throws is: the other
   * callbacks still run, then the run fails with what it threw; for a stopped attempt, whose run
   * has ended its own way, what it throws is ignored. An attempt nothing asks this of costs the
   * engine nothing more.
   */
  onEnd(callback: (outcome: AttemptOutcome) => void): void;
  /**
   * Has `callback` called with the step's next attempt when this one has failed (or timed out) and
   * the step retries: after the backoff, as the next attempt starts (after its `step.started`,
   * before its action runs). It lets a scope follow a step's later attempts, which it is handed
   * only if they call `ctx.use` (to end, with that attempt's {@link onEnd}, what it keeps for the
   * retry). Never called when the step is not retried: this attempt completed, was its last, or
   * its run stopped meanwhile. It may be given until the next attempt starts, from an `onFailure`
   * undo or an `onEnd` callback too; after that it is ignored. A `callback` that throws is a fault
   * of the scope's, as an `undo` that throws is: the other callbacks still run, then the run fails
   * with what it threw (the next attempt's action does not run).
   */
  onRetry(callback: (next: StepAttempt) => void): void;
}

/**
 * A step's logger. Every call becomes a `log` lifecycle event carrying level, message and data.
 * Called the pino way from untyped code, an object first (`logger.info({ orderId }, "placed")`,
 * `logger.error(err)`), the object is the data and the string after it the message (an `Error`
 * alone: its message; another object alone: `""`), not a message of `"[object Object]"`.
 */
export interface StepLogger {
  /** Logs at level `debug`. */
  debug(message: string, data?: unknown): void;
  /** Logs at level `info`. */
  info(message: string, data?: unknown): void;
  /** Logs at level `warn`. */
  warn(message: string, data?: unknown): void;
  /** Logs at level `error`. */
  error(message: string, data?: unknown): void;
}

/** What a step's `action` (and its `when` guard) receives. One context per step attempt. */
export interface StepContext<S extends object = PipelineState> {
  /** The run's id. */
  readonly runId: string;
  /** The pipeline's id. */
  readonly pipelineId: string;
  /** The id of the stage this step belongs to. */
  readonly stage: string;
  /** The step's id. */
  readonly step: string;
  /** 1 for the first try, 2 for the first retry, and so on. */
  readonly attempt: number;
  /** The event that started the run (the trigger payload), as given in `RunOptions.event`. */
  readonly event: unknown;
  /**
   * Fires when the run is aborted, when this attempt times out, or (in a concurrent stage) when a
   * sibling step fails. A long step should watch it and stop. It speaks for the attempt while it
   * runs: once the attempt has ended, it may still fire (a later abort of the run, for a step
   * without `timeoutMs` in a sequential stage) or never (a step with `timeoutMs`, a concurrent
   * stage that has ended), so work a step leaves running after it returns must not count on it to
   * stop; tie such work to the run's end instead (the runtime's run-scoped services' cleanups).
   */
  readonly signal: AbortSignal;
  /** Logs become `log` lifecycle events. */
  readonly logger: StepLogger;
  /** The run's current state. */
  state(): Readonly<S>;
  /**
   * Runs `fn` against the run's dependency scope, which is told this attempt (see
   * {@link DependencyScope.use}). Rejects with `INVALID_STATE` when the run was started without
   * `RunOptions.dependencies`.
   */
  use<R>(fn: (deps: UseDependencyContext<S>) => R | Promise<R>): Promise<R>;
}

/**
 * How often a step is tried, and how long to wait between tries. The wait before try `n + 1` is
 * `backoffMs * factor ** (n - 1)`, capped by `maxBackoffMs` and always by 2147483647 ms (about
 * 24.8 days, the longest timer `setTimeout` supports; a longer one would fire at once). A wait of 0
 * still yields one macrotask (`setTimeout(0)`) before the next try, so a step that fails
 * synchronously cannot retry in one synchronous loop that an abort from a timer or I/O never
 * interrupts.
 */
export interface RetryPolicy {
  /** Total tries, including the first; an integer ≥ 1. */
  attempts: number;
  /** Wait before the first retry, in ms (default 0: one macrotask; at most 2147483647). */
  backoffMs?: number;
  /** Multiplier applied to the wait after each retry (default 2; ≥ 1). */
  factor?: number;
  /**
   * Upper bound of any single wait, in ms (at most 2147483647). Default: none beyond the engine's
   * own cap of 2147483647 ms.
   */
  maxBackoffMs?: number;
}

/** One unit of work in a stage. */
export interface StepDefinition<S extends object = PipelineState> {
  /** Unique within the whole pipeline. */
  id: string;
  /**
   * The work. A plain object returned (or resolved) is a patch merged shallowly into the state;
   * `undefined` or `null` changes nothing; anything else fails the step.
   */
  action: (ctx: StepContext<S>) => StatePatch<S> | void | Promise<StatePatch<S> | void>;
  /** Retries on failure or timeout (never on abort). */
  retry?: RetryPolicy;
  /**
   * Per-attempt time limit in ms (> 0, at most 2147483647, about 24.8 days); past it the attempt
   * fails with `TIMEOUT` and its signal fires. It covers each attempt's `action`, not `when`.
   */
  timeoutMs?: number;
  /**
   * Evaluated once before the first attempt; `false` skips the step (`step.skipped`), a throw fails
   * it. No time limit applies (`timeoutMs` is per attempt of the action): a guard that never settles
   * holds the step until the run is aborted, so a guard that waits on I/O should bound the wait
   * itself or watch `ctx.signal`.
   */
  when?: (ctx: StepContext<S>) => boolean | Promise<boolean>;
}

/** An ordered group of steps. A run pauses only at stage boundaries. */
export interface StageDefinition<S extends object = PipelineState> {
  /** Unique within the pipeline. */
  id: string;
  /** At least one step. */
  steps: StepDefinition<S>[];
  /**
   * Run all steps at once instead of in order. Patches merge in completion order; the first failure
   * fires the siblings' signal as soon as it is decided and fails the stage: a sibling's later
   * result is dropped, and a step not yet started (after one that failed synchronously) never starts.
   */
  concurrent?: boolean;
}

/** A pipeline: ordered stages, at least one. */
export interface PipelineDefinition<S extends object = PipelineState> {
  /** The stages, run in order. */
  stages: StageDefinition<S>[];
}

/**
 * An opaque, JSON-serialisable request to pause, handed over by the pause service: plain data, to
 * be treated as immutable once handed over. The checkpoint keeps a shallow copy of it (or the request
 * itself when it is frozen), so nested values are shared with the requester.
 */
export type PauseRequest = { readonly [key: string]: unknown };

/**
 * Everything needed to continue a paused run in a fresh process: a plain JSON value.
 * `JSON.parse(JSON.stringify(checkpoint))` restores to the same run.
 *
 * What is copied and what is shared with the live run: the top level of `state` and of each `pause`
 * entry is copied (nested values are shared), except where it is frozen and so cannot change (a
 * `@sluice/store` snapshot, the pause service's requests): that object is kept as is. `event` is the
 * trigger event itself, not a copy. Treat the trigger event as immutable; to keep a checkpoint that
 * later edits cannot reach, serialise it (`JSON.stringify`).
 */
export interface PipelineCheckpoint<S extends object = PipelineState> {
  /** Format version; always `1` for now. */
  version: 1;
  /** The paused run's id. */
  runId: string;
  /** The pipeline the run belongs to. */
  pipelineId: string;
  /**
   * Index of the stage to run next when the run paused; equals the number of stages when it paused
   * in its last stage. Where the run continues is `nextStageId`'s (or, when that is `null`,
   * `pausedAfterStageId`'s): restoring into a version of the pipeline whose stages moved uses that
   * stage's index there.
   */
  nextStage: number;
  /**
   * Id of the stage to run next, or `null` when none was left. `restore` continues the run at the
   * stage of this id, wherever it now sits, and refuses a checkpoint whose stage the pipeline no
   * longer has. `null`: the run paused in its last stage, and continues at the stage that follows
   * `pausedAfterStageId` in the pipeline restoring it (one a new version appended), or completes
   * when none does or the checkpoint has no `pausedAfterStageId`.
   */
  nextStageId: string | null;
  /**
   * Id of the stage the run paused in (at whose end it paused). Only read when `nextStageId` is
   * `null`: `restore` then continues the run at the stage that follows this one in the pipeline
   * restoring it, so a new version's appended stages run, and refuses a checkpoint whose stage the
   * pipeline no longer has (it cannot know what follows a renamed stage). Absent from checkpoints
   * made before it existed: those complete as they always did. When present, a non-empty string.
   */
  pausedAfterStageId?: string;
  /**
   * The state when the run paused: the state object itself when it is frozen (a `@sluice/store`
   * snapshot, which never changes; then this is read-only too), else a shallow copy. Nested values
   * are shared with the state either way.
   */
  state: S;
  /** The event that started the run: the same object as `RunOptions.event`, not a copy. */
  event: unknown;
  /**
   * Every pause request made during the stage that paused, in request order: a new array of shallow
   * copies (a frozen request is kept as is, since it cannot change).
   */
  pause: PauseRequest[];
  /**
   * The last lifecycle sequence number used, so a resumed run continues the numbering. `restore`
   * takes at most 2^52, leaving the resumed run's events room below `Number.MAX_SAFE_INTEGER`.
   */
  seq: number;
}

/** Where a run is. `paused` is final for the engine: a paused run continues as a new `PipelineRun`. */
export type PipelineStatus = "idle" | "running" | "paused" | "completed" | "failed" | "aborted";

/** What a run that did not fail came to. */
export interface PipelineOutcome<S extends object> {
  /** How it ended. */
  status: "completed" | "paused" | "aborted";
  /** The state at the end. */
  state: S;
  /** Present when `status` is `"paused"`. */
  checkpoint?: PipelineCheckpoint<S>;
}

/** Facts attached to every run result. */
export interface PipelineResultMetadata {
  /** The run's id. */
  runId: string;
  /** The pipeline's id. */
  pipelineId: string;
  /** The stage the run ended in (failed, paused or was aborted in), where there is one. */
  stage?: string;
  /** The step that failed or was running when the run was aborted, where there is one. */
  step?: string;
  /** Wall time of this execution, in ms. */
  durationMs: number;
  /** Epoch ms when this execution ended (`startedAt` + `durationMs`). */
  finishedAt: number;
  /** Further facts (`attempts` of a failed step, `observerFailures`). */
  [key: string]: unknown;
}

/** What `PipelineRun.execute()` resolves to. It never rejects. */
export type PipelineResult<S extends object> = Result<PipelineOutcome<S>, PipelineResultMetadata>;

/** Every kind of lifecycle event a run reports. */
export type PipelineEventType =
  | "run.started"
  | "run.completed"
  | "run.failed"
  | "run.aborted"
  | "run.paused"
  | "run.resumed"
  | "stage.started"
  | "stage.completed"
  | "stage.failed"
  | "step.started"
  | "step.completed"
  | "step.failed"
  | "step.skipped"
  | "step.retried"
  | "log";

/** Severity of a `log` event. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/**
 * One thing that happened in a run, in order: `seq` increases by one per event within a run.
 * Every event object carries every field, those that do not apply set to `undefined`: one object
 * shape for all events keeps an observer's reads fast.
 */
export interface PipelineLifecycleEvent {
  /** Per-run sequence number, starting at 1 and continuing across pause/resume. */
  seq: number;
  /**
   * Epoch ms (`Date.now()`), never earlier than the run's event before it, nor than
   * `RunOptions.startedAt`: a wall clock set back mid-run does not make time go back in a run.
   */
  at: number;
  /** What happened. */
  type: PipelineEventType;
  /** The run's id. */
  runId: string;
  /** The pipeline's id. */
  pipelineId: string;
  /** The stage, for stage, step and log events. */
  stage?: string | undefined;
  /** The step, for step and log events. */
  step?: string | undefined;
  /** The attempt, for step and log events. */
  attempt?: number | undefined;
  /** The level, for `log` events. */
  level?: LogLevel | undefined;
  /** The message, for `log` events. */
  message?: string | undefined;
  /**
   * Extra facts: a log's data, a retry's `{ delayMs }`, a pause's `{ nextStage, pause }`, a resume's
   * `{ nextStage, by, event?, wait? }` (what resumed the run: see {@link ResumeCause}).
   */
  data?: unknown;
  /** Why, for failed, retried and aborted events. */
  error?: SystemError | undefined;
  /** How long the step, stage or run took, on completed / failed / paused events. */
  durationMs?: number | undefined;
}

/** Receives a run's lifecycle events synchronously, in order. A throwing observer never breaks the run. */
export interface PipelineObserver {
  /** Called once per event (unless `onFields` is given). */
  onEvent(event: PipelineLifecycleEvent): void;
  /**
   * Optional: the same event as arguments instead of an object (absent fields `undefined`). When
   * present the engine calls it instead of `onEvent`, so no object is made per event: for an
   * observer that copies the fields elsewhere anyway (the runtime's timeline writer).
   */
  onFields?(
    type: PipelineEventType,
    runId: string,
    pipelineId: string,
    seq: number,
    at: number,
    stage: string | undefined,
    step: string | undefined,
    attempt: number | undefined,
    level: LogLevel | undefined,
    message: string | undefined,
    data: unknown,
    error: SystemError | undefined,
    durationMs: number | undefined,
  ): void;
}

/** How to run one pipeline run. */
export interface RunOptions<S extends object> {
  /** The run's id, chosen by the caller. */
  runId: string;
  /** The run's state; the engine reads and patches it, never copies it except into a checkpoint. */
  state: StateAccess<S>;
  /**
   * The event that started the run, exposed as `ctx.event` and kept in a checkpoint by reference
   * (never copied): treat it as immutable.
   */
  event?: unknown;
  /** What `ctx.use` runs against. */
  dependencies?: DependencyScope<S>;
  /** Lifecycle listener. Without one, no event objects are made. */
  observer?: PipelineObserver;
  /** External abort: when it fires the run is aborted as by `PipelineRun.abort`. */
  signal?: AbortSignal;
  /** Told when the observer throws (the run carries on either way). */
  onObserverError?: (error: unknown, event: PipelineLifecycleEvent) => void;
  /**
   * Epoch ms this execution counts its duration from, for a caller that has just read the clock
   * (a runtime stamping the run it creates); default: the clock when `execute()` is called. No
   * event of the run is stamped earlier, even when the clock is set back before it starts.
   */
  startedAt?: number;
}

/**
 * What resumed a paused run, as its `run.resumed` event tells it: the event's `data` is
 * `{ nextStage, by, event?, wait? }`, these fields after `nextStage`. Give it to `Pipeline.restore`
 * as `resumedBy`; without one, the run is taken to be resumed by its host (`by: "resume"`).
 *
 * @example
 * ```ts
 * // the reply a ticket waited for came in
 * pipeline.restore(checkpoint, { runId, state, patch, resumedBy: { by: "event", event: "ticket.replied" } });
 * // nobody replied in time
 * pipeline.restore(checkpoint, { runId, state, patch, resumedBy: { by: "timeout", event: "ticket.replied" } });
 * ```
 */
export interface ResumeCause {
  /**
   * What resumed the run:
   * - `"event"`: an event met one of the run's waits (one that arrived while the run was parked,
   *   or one kept for it while it ran and taken as it paused);
   * - `"timeout"`: a wait's deadline passed before any event met a wait;
   * - `"resume"`: the host resumed it by a call (`WorkflowRuntime.resume`, or `Pipeline.restore`
   *   without `resumedBy`);
   * - `"control"`: the host resumed it through the bus (the runtime's `sluice.run.resume` control
   *   event).
   */
  by: "event" | "timeout" | "resume" | "control";
  /**
   * The name of the event concerned, where there is one: for `"event"`, the event that resumed the
   * run; for `"timeout"`, the event the wait that timed out was waiting for (absent for a wait
   * without one). A non-empty string.
   */
  event?: string;
  /**
   * The id of the wait concerned, where there is one: for `"event"`, the wait the event met; for
   * `"timeout"`, the wait that timed out. A non-empty string.
   */
  wait?: string;
}

/** Options of `Pipeline.restore`: the run options plus a patch applied before continuing. */
export type RestoreOptions<S extends object> = RunOptions<S> & {
  /**
   * Merged into the state (dangerous keys dropped) before the next stage runs. A plain object,
   * copied by `restore` (`INVALID_INPUT` for a `Map`, a `Date`, a class instance, or one that throws
   * when read).
   */
  patch?: StatePatch<S>;
  /**
   * What resumed the run, written into its `run.resumed` event's `data` (read once, by `restore`;
   * `INVALID_INPUT` for an unknown `by`, a field it does not have, or an `event` or `wait` that is
   * not a non-empty string). Default `{ by: "resume" }`: the host resumed it.
   */
  resumedBy?: ResumeCause;
};
