import type { ArtifactFactoryContext, UseDependencyContext } from "@sluice/artifacts";
import type { Err, Ok, SystemError } from "@sluice/errors";
import type { EventBus } from "@sluice/events";
import type { Condition, PauseRequestData } from "@sluice/pause";
import type {
  IsDefaultState,
  PipelineDefinition,
  ResumeCause,
  RetentionPolicy,
  RunInfo,
  StatePatch,
} from "@sluice/pipeline";
import type { StoreRegistry } from "@sluice/store";
import type { TimelineStore } from "@sluice/timeline";

/** A run's state: a plain object, patched shallowly by steps. */
export type RunState = Record<string, unknown>;

/** A global service: always a singleton on the runtime's container (it has no `scope`). */
export interface ServiceDefinition<T = unknown> {
  /** Unique service id; `__pause_service__` and `__env__` are reserved. */
  id: string;
  /** Builds the service. Receives the full artifact factory context. */
  factory: (ctx: ArtifactFactoryContext) => T | Promise<T>;
  /** Fail the build with `TIMEOUT` after this many milliseconds (above 0, at most 2147483647). */
  timeoutMs?: number;
  /** Retry a failing factory this many times (with backoff). */
  retries?: number;
  /**
   * `false`: build at construction (global) or `register()` (`"workflow"` scope) instead of on first
   * use (default `true`; ignored for `"run"` and `"transient"` services).
   */
  lazy?: boolean;
}

/** Lifetime of a workflow-declared service. */
export type WorkflowServiceScope = "workflow" | "run" | "transient";

/**
 * A service a workflow declares. `S` is the state its factory reads (`select`, `state()`, the
 * `select` of `use`): in a workflow's `services`, the workflow's state; `any` (the default) for a
 * definition typed on its own. Only a `"run"` or `"transient"` service has a run's state to read;
 * a `"workflow"` one reads `{}` whatever `S` says.
 */
export interface WorkflowServiceDefinition<T = unknown, S extends object = any> extends ServiceDefinition<T> {
  /**
   * `"workflow"` (default): one instance while the workflow is registered, no access to run state.
   * `"run"`: one instance per run, built on the run's container (can `select` run state).
   * `"transient"`: a new instance on every resolution, on the run's container.
   */
  scope?: WorkflowServiceScope;
  /** Builds the service. Receives the full artifact factory context, its state typed `S`. */
  factory: (ctx: ArtifactFactoryContext<S>) => T | Promise<T>;
}

/**
 * The state type a workflow's service factories get: the workflow's `S`, or `any` for the default
 * state, so that a selector typed by hand there (`d.select((s: { userId: string }) => s.userId)`)
 * still compiles. Every scope gets it: typing the factories by scope (a union on `scope`) would
 * leave one whose `scope` is not a literal (`perRun ? "run" : "workflow"`) with an untyped `ctx`.
 */
type ServiceState<S extends object> = IsDefaultState<S> extends true ? any : S;

/** Maps a bus event to a pipeline. */
export interface TriggerDefinition<P = any, S extends object = RunState> {
  /** Bus event name. */
  event: string;
  /** Id of the pipeline to run. */
  pipeline: string;
  /** Optional conditions on the payload, all of which must hold (AND). */
  when?: Condition[];
  /**
   * Builds the run's initial state from the payload (default: a copy of the payload object).
   * Synchronous: a promise it returns is refused (`INVALID_INPUT`) and its rejection caught.
   */
  map?: (payload: P) => S;
  /**
   * The run's idempotency key, from the payload (before `map`): while an unfinished run (queued,
   * running or paused) of the workflow holds a key, an event with the same key starts no run
   * (`onDispatch` outcome `duplicate`, naming that run; `invoke` resolves `DUPLICATE_KEY`). The
   * triggers of a workflow that declare `key` share one key space. The key is free again once its
   * run has ended (after `onComplete`) or left (`detach()`); ended runs' keys are not remembered.
   * Synchronous, returning a non-empty string: anything else, or a throw, refuses the event as a
   * `map` that fails does (`rejected`; `invoke`: `INVALID_INPUT`). The run's `RunInfo.key` and
   * checkpoint carry it.
   */
  key?: (payload: P) => string;
  /**
   * At most `limit` events of this trigger start runs in any `periodMs` (per `rateLimit.key`, when
   * given): the others are refused, reported `dropped` to `onDispatch`. Bus events only (`invoke`
   * bypasses it, as it bypasses the mode). See {@link TriggerRateLimit}.
   */
  rateLimit?: TriggerRateLimit<P> | undefined;
  /**
   * Holds each bus event until its series has been quiet for `periodMs`, then starts a run with the
   * latest (a search index rebuilt once a burst of edits stops). See {@link TriggerDebounce}.
   */
  debounce?: TriggerDebounce<P> | undefined;
  /**
   * At most `limit` events of this trigger go on in any `periodMs` (per `throttle.key`, when
   * given); the others wait their turn, in order, instead of being dropped (a downstream API's
   * rate limit). Bus events only. See {@link TriggerThrottle}.
   */
  throttle?: TriggerThrottle<P> | undefined;
  /**
   * Bus events that cancel this trigger's unfinished runs (Inngest's `cancelOn`): an order's
   * fulfilment aborted when `order.cancelled` names the same order. See {@link CancelOn}.
   */
  cancelOn?: readonly CancelOn[] | undefined;
  /**
   * Collects the trigger's bus events into batches, one run per batch (Inngest's `batchEvents`):
   * a batch goes on once `maxSize` events have come, or `timeoutMs` after its first. The run's
   * payload (what `map`, `key`, `rateLimit.key` and `throttle.key` read, and `onDispatch` reports)
   * is then a {@link BatchPayload}, `{ events: [...] }`: declare the trigger with
   * `P = BatchPayload<E>` (a `P` that is not one, such as `E` itself, takes no `batch`: its `map`
   * would be typed to read one event). `invoke` starts a batch of one at once. Not with `debounce`
   * or `cancelOn`. See {@link TriggerBatch}.
   */
  batch?: BatchOf<P> | undefined;
}

/**
 * The `batch` a trigger whose payload is typed `P` takes: any for an untyped payload (`any`),
 * `TriggerBatch<E>` for `BatchPayload<E>`, `TriggerBatch<unknown>` for a `P` a batch is one of
 * (`unknown`, `object`), none (`never`) for another `P`, which a batch's payload would not be.
 */
type BatchOf<P> = 0 extends 1 & P
  ? TriggerBatch<any>
  : [P] extends [BatchPayload<infer E>]
    ? TriggerBatch<E>
    : BatchPayload extends P
      ? TriggerBatch<unknown>
      : never;

/**
 * A bus event that cancels runs of the trigger declaring it. When `event` arrives and its payload
 * meets `when`, every unfinished run (queued, running or paused) that the trigger started (from the
 * bus or `invoke`, or adopted) whose trigger payload has, at the dotted path `match`, the value the
 * event's payload has there (`===`: a string, number or boolean; a path missing on either side, or
 * holding an object, never matches) is aborted with the reason `cancelled by event "<event>"`, as
 * `abort(runId)` would: a queued run never starts, a paused one ends at once, a running one through
 * its steps' `ctx.signal`. Without `match`, every unfinished run of the trigger is cancelled.
 * The trigger's events that are not runs yet (held by its `debounce`, waiting for its `throttle`)
 * and match alike are dropped, reported `dropped` to `onDispatch` with the same reason.
 *
 * Checked before the event reaches triggers and waits, so the event that cancels a run never
 * resumes it, and runs it starts are not cancelled by it. Runs already ending (in `onComplete` or
 * `onCleanup`) are left alone. Runs are indexed per rule by their value at `match`: a cancel
 * event costs one lookup, not a look at every unfinished run (plus a look at the trigger's held
 * or waiting events, if any).
 */
export interface CancelOn {
  /** The bus event name (not a control event, not `"*"`). */
  event: string;
  /**
   * A dotted path (`"orderId"`, `"order.id"`) read in the run's trigger payload (before `map`, as
   * `key` reads it; a checkpoint carries it) and in the cancelling event's payload.
   */
  match?: string | undefined;
  /** Conditions on the cancelling event's payload, all of which must hold (AND), as a trigger's `when`. */
  when?: Condition[] | undefined;
}

/**
 * A trigger's debounce (Inngest's `debounce`): events of one series (one `key`, or the trigger's
 * all) are held, each newer one replacing the one held (which is reported `dropped`), until none
 * has come for `periodMs` (or `maxWaitMs` have passed since the series began); the latest then
 * goes on through the trigger (its idempotency `key`, `rateLimit`, `map`) and the mode, and is
 * reported then. Checked right after `when`. Bus events only (`invoke` starts its run at once).
 * Held events live in memory: `deregister()` and `stop()` drop them (reported `dropped`),
 * `drain()` releases them at once (and while it drains, none is held: refused, or with
 * `triggers: "start"` gone on at once); a crash loses them, as it loses events the bus has not delivered.
 */
export interface TriggerDebounce<P = any> {
  /** How long a series must be quiet before its latest event goes on, in ms (above 0, at most 2147483647). */
  periodMs: number;
  /**
   * The longest an event series is held, from its first event, in ms (from `periodMs` to
   * 2147483647); then its latest event goes on though events still come. Default: no bound.
   */
  maxWaitMs?: number | undefined;
  /**
   * A series per key (a document id, say) instead of one for the trigger: from the payload,
   * synchronous, a non-empty string (anything else, or a throw, refuses the event: `rejected`).
   */
  key?: ((payload: P) => string) | undefined;
}

/**
 * A trigger's throttle (Inngest's `throttle`): a sliding window, exact, as `rateLimit`'s, but an
 * event the window has no room for waits instead of being dropped: events of a key go on in
 * arrival order as soon as fewer than `limit` went on in the `periodMs` before, each then through
 * the trigger's idempotency `key`, `rateLimit`, `map` and the mode, and is reported to
 * `onDispatch` then. Checked after `when` and `debounce`. It counts events that go on, not runs
 * started. Waiting events live in memory (one timer per key with events waiting): `deregister()`
 * and `stop()` drop them (reported `dropped`), `drain()` sends them on at once (a drain waits for
 * runs, not for timers; bound the mode's `concurrency` too where a downstream limit must hold
 * through a shutdown); a crash loses them. `invoke` is not throttled.
 */
export interface TriggerThrottle<P = any> {
  /** Most events that go on in any `periodMs` (a positive integer). */
  limit: number;
  /** The window, in ms (a positive number, at most 2147483647). */
  periodMs: number;
  /**
   * A window and a line per key (a tenant id, say) instead of one for the trigger: from the
   * payload, synchronous, a non-empty string (anything else, or a throw, refuses the event: `rejected`).
   */
  key?: ((payload: P) => string) | undefined;
  /** Most events waiting, all keys together (a positive integer; default 10 000); more are `dropped`. */
  capacity?: number | undefined;
}

/**
 * A trigger's batch (Inngest's `batchEvents`): its bus events (each past the trigger's `when`)
 * are collected per `key` (or all together), and a batch goes on as one event once `maxSize`
 * have come (at once, with the event that fills it) or `timeoutMs` after its first event,
 * whichever is first: its payload is a {@link BatchPayload} of the events in arrival order. It
 * then goes through the trigger's `throttle`, idempotency `key`, `rateLimit`, `map` and the mode
 * as any event does, each counting batches, and is reported to `onDispatch` once (outcome and
 * run for the whole batch; an event is not reported on its own unless it is refused before it
 * joins a batch: its `batch.key` could not be read, its workflow was deregistered). Bus events
 * only: `invoke` starts a batch of one at once. Collecting batches live in memory: `deregister()`
 * and `stop()` drop them (each reported `dropped` once), `drain()` sends them on at once (and
 * while it drains, none collects: each event is refused or, with `triggers: "start"`, goes on at
 * once as a batch of one, behind the batches that came before it); a crash loses them, as it
 * loses events the bus has not delivered. `register` refuses it beside `debounce` (both hold
 * events back) and `cancelOn` (a batch holds events of many payloads).
 */
export interface TriggerBatch<E = any> {
  /** Most events in one batch (a positive integer): the event that fills a batch sends it on at once. */
  maxSize: number;
  /**
   * The longest a batch collects, from its first event, in ms (above 0, at most 2147483647): then
   * it goes on with the events it has.
   */
  timeoutMs: number;
  /**
   * A batch per key (a customer id, say) instead of one for the trigger: from each event's payload,
   * synchronous, a non-empty string (anything else, or a throw, refuses the event: `rejected`).
   * The batch's payload carries it (`BatchPayload.key`).
   */
  key?: ((payload: E) => string) | undefined;
}

/** The payload a batched trigger's run is made from: the batch's events, oldest first. */
export interface BatchPayload<E = any> {
  /** The key the batch was collected under (only when the trigger's `batch` has a `key`). */
  key?: string;
  /** The payloads of the batch's events, in arrival order (at least one, at most `maxSize`). */
  events: E[];
}

/**
 * A trigger's rate limit (Inngest's `rateLimit`): a sliding window, exact. An event is admitted
 * when fewer than `limit` events of its key were admitted in the `periodMs` before it; a refused
 * event is `dropped` (never delayed: for a backlog that waits its turn, use the mode's
 * `concurrency` and `capacity`). Checked after `when` and the idempotency `key` (a duplicate
 * uses none of the limit), before `map`: it counts events admitted, not runs started. Kept in
 * memory per registration, on a monotonic clock.
 */
export interface TriggerRateLimit<P = any> {
  /** Most events admitted in any `periodMs` (a positive integer). */
  limit: number;
  /** The window, in ms (a positive number). */
  periodMs: number;
  /**
   * A limit per key (a user id, say) instead of one for the trigger: from the payload,
   * synchronous, a non-empty string (anything else, or a throw, refuses the event: `rejected`).
   */
  key?: ((payload: P) => string) | undefined;
}

/** A workflow: triggers, pipelines, services and env. A plain object. */
export interface Workflow<S extends object = RunState> {
  /** Unique workflow id. */
  id: string;
  /** Human-readable name. */
  label?: string;
  /** Per-workflow env layer; wins over the runtime's global layer. */
  env?: Record<string, string | undefined>;
  /**
   * Services visible only to this workflow's runs. Their factories read the state typed `S`
   * (`ctx.select((s) => s.orderId)`; `any` when `S` is the default {@link RunState}); only a
   * `"run"` or `"transient"` service has a run's state to read. (`NoInfer`: `S` never comes from them.)
   */
  services?: WorkflowServiceDefinition<unknown, ServiceState<NoInfer<S>>>[];
  /** Trigger id → trigger. */
  triggers: Record<string, TriggerDefinition<any, S>>;
  /** Pipeline id → pipeline. (`NoInfer`: the state type comes from annotations, never from step return values.) */
  pipelines: Record<string, PipelineDefinition<NoInfer<S>>>;
  /**
   * Patch mappers by name: a wait registered with `patch: "<name>"` resumes through the mapper of
   * that name, which shapes the resuming payload into the state patch. Unlike a function passed to
   * `register`, a name goes into the run's checkpoint, so a run adopted by another runtime (another
   * process) that registered this workflow resumes through the same mapper. A mapper returns,
   * synchronously, a plain object, a patch of the state (typed `StatePatch<S>`, as a step's return
   * is: `Partial<S>`, or `object` when `S` is the default {@link RunState}; checked again when it runs: anything else,
   * a promise too, is reported and the event ignored). The name a wait gives is checked by `register` when the step runs, not by
   * TypeScript.
   */
  patches?: Record<string, (payload: any) => StatePatch<NoInfer<S>>>;
}

/**
 * A concurrency key: what a run's initial state (the event's payload, or what its trigger's `map`
 * made of it) says it belongs to, such as a customer id. Runs with the same key share the key's
 * slots (`keyConcurrency` in `transient`, one in `serialized`); runs with different keys do not
 * wait for each other. Synchronous, and it must return a non-empty string: an event whose key
 * cannot be read is refused (`rejected`). It reads the state; changing it changes the run's input.
 */
export type ConcurrencyKey<S extends object = RunState> = (input: Readonly<S>, triggerId: string) => string;

/**
 * A run's priority in its mode's queue (after Inngest's `priority` and BullMQ's job priority): from
 * the run's initial state (the event's payload, or what its trigger's `map` made of it), a finite
 * number; when a slot frees, the queued run with the highest priority starts, runs of equal
 * priority in arrival order. Strict: a lower-priority run waits as long as higher ones keep coming
 * (no ageing, unlike Inngest's bounded head start), and higher numbers go first (unlike BullMQ). It
 * orders only the runs that wait: it never stops a running run, and a queue at `capacity` drops a
 * newcomer whatever its priority. Synchronous: a throw, or anything
 * but a finite number, refuses the event (`rejected`). Runs with no priority to give return 0.
 */
export type RunPriority<S extends object = RunState> = (input: Readonly<S>, triggerId: string) => number;

/**
 * Concurrency-limited; events beyond `concurrency` queue up to `capacity`, then drop. With a `key`,
 * also at most `keyConcurrency` runs of one key at once (Inngest's concurrency key).
 */
export interface TransientMode<S extends object = RunState> {
  /** Selects this mode. */
  type: "transient";
  /** Most runs executing at once (a positive integer). */
  concurrency: number;
  /** Most events waiting for a slot (default 10 000, all keys together); more are dropped. */
  capacity?: number | undefined;
  /**
   * Groups runs by key (a customer id, say): at most `keyConcurrency` runs of one key execute at
   * once, within `concurrency` for all; a run waits until both have room, and the longest-waiting
   * run that can start starts first (so a key's runs start in arrival order).
   */
  key?: ConcurrencyKey<S> | undefined;
  /** Most runs of one `key` executing at once (a positive integer, default 1). Only with `key`. */
  keyConcurrency?: number | undefined;
  /**
   * The order queued runs start in: highest priority first, then arrival (default: arrival
   * alone). With a `key`, among the runs whose key has room. See {@link RunPriority}.
   */
  priority?: RunPriority<S> | undefined;
}
/**
 * FIFO: one run at a time, the rest wait in order up to `capacity`. With a `key`: one run at a
 * time per key, each key's runs in arrival order, runs of different keys at the same time.
 */
export interface SerializedMode<S extends object = RunState> {
  /** Selects this mode. */
  type: "serialized";
  /** Most events waiting (default 10 000, all keys together); more are dropped. */
  capacity?: number | undefined;
  /**
   * Serializes per key instead of per workflow (a customer's orders one after another, different
   * customers' at once). To bound how many keys run at once too, use `transient` with `key` and
   * `keyConcurrency: 1`.
   */
  key?: ConcurrencyKey<S> | undefined;
  /**
   * The order queued runs start in: highest priority first, then arrival (default: arrival
   * alone, FIFO). With a `key`, within each key. See {@link RunPriority}.
   */
  priority?: RunPriority<S> | undefined;
}
/** At most one active (running or paused) run; a new event while busy is dropped, signalled into it, or replaces it. */
export interface SingletonLoopMode {
  /** Selects this mode. */
  type: "singleton_loop";
  /**
   * An event while a run is active: `drop` it (reported `dropped`), `signal` it into the active
   * run as a patch (the run's `signal()`; reported `signalled`), or `replace` the run (the active
   * one is aborted and a new one started; reported `replaced`).
   */
  onBusy: "drop" | "signal" | "replace";
}
/** At most one active run; a new event while busy is rejected, or kept as the single pending one (latest wins). */
export interface ExclusiveMode {
  /** Selects this mode. */
  type: "exclusive";
  /**
   * An event while a run is active: `reject` it (reported `rejected`), or keep it as the one
   * pending event (`queue_single`, reported `queued`; a later one replaces it, the earlier then
   * reported `dropped`), started when the active run ends.
   */
  onBusy: "reject" | "queue_single";
}
/** How a workflow's bus-triggered runs share the runtime. */
export type ExecutionMode<S extends object = RunState> =
  | TransientMode<S>
  | SerializedMode<S>
  | SingletonLoopMode
  | ExclusiveMode;

/** What became of a bus event that matched a trigger. */
export type DispatchOutcome =
  | "started"
  | "queued"
  | "dropped"
  | "rejected"
  | "signalled"
  | "replaced"
  | "duplicate";

/** What every {@link DispatchResult} says: which event matched which trigger. */
export interface DispatchResultBase {
  /** The workflow whose trigger matched. */
  workflowId: string;
  /** The trigger that matched. */
  triggerId: string;
  /** The bus event name. */
  event: string;
  /**
   * The event's payload, as the bus delivered it (the same value, not a copy), to tell which event
   * this was; for a queued run dropped later, the payload that queued it; for a trigger's `batch`,
   * the batch (`{ events: [...] }`, each event's payload as delivered).
   */
  payload: unknown;
}

/**
 * Reported through `onDispatch` for each bus event that matched a trigger. A union on `outcome`:
 * narrowed by it (`if (r.outcome === "started")`), `runId` is a `string` where a run exists and
 * `reason` where the event was refused. Every field can be read on any result (absent ones are
 * `undefined`), so code that does not narrow compiles too.
 */
export type DispatchResult =
  | DispatchWithRun<"started">
  | DispatchWithRun<"queued">
  | DispatchWithRun<"signalled">
  | (DispatchResultBase & {
      /** A `singleton_loop` `replace`: a new run started in place of the active one. */
      outcome: "replaced";
      /** The run started as replacement. */
      runId: string;
      /** The run it replaces, aborted once `onDispatch` has returned (so still held while it runs). */
      replacedRunId: string;
      reason?: undefined;
    })
  | (DispatchResultBase & {
      /**
       * Refused by the mode (busy, at capacity, deregistering) or by the trigger's `rateLimit`, a
       * queued run dropped later, or an event a trigger's `debounce` held, replaced by a later one
       * or dropped by a deregistration (as is a batch its `batch` collected).
       */
      outcome: "dropped";
      /** For a queued run dropped later (replaced by a newer event, deregistered): that run. */
      runId?: string | undefined;
      replacedRunId?: undefined;
      /** Why it was dropped. */
      reason: string;
    })
  | (DispatchResultBase & {
      /**
       * Refused before the mode saw it: an unfinished run of the workflow holds the event's
       * idempotency key (the trigger's `key`).
       */
      outcome: "duplicate";
      /** The unfinished run that holds the key. */
      runId: string;
      replacedRunId?: undefined;
      /** Which key, and which run holds it. */
      reason: string;
    })
  | (DispatchResultBase & {
      /**
       * Refused: the mode rejects while busy, or the trigger's `map` could not make a state of it,
       * or its `key` no key of it.
       */
      outcome: "rejected";
      runId?: undefined;
      replacedRunId?: undefined;
      /** Why it was rejected. */
      reason: string;
    });

// One member per outcome (not one for the three): TypeScript narrows a union by a literal only
// where a member's `outcome` is that literal alone.
/** A {@link DispatchResult} whose event made or reached a run: `started`, `queued` or `signalled`. */
type DispatchWithRun<O extends "started" | "queued" | "signalled"> = DispatchResultBase & {
  /** A run was created and started, queued behind the mode's limit, or signalled with the event. */
  outcome: O;
  /** The run created (`started`, `queued`) or signalled. */
  runId: string;
  replacedRunId?: undefined;
  reason?: undefined;
};

/** Metadata of every run result. */
export interface RunResultMetadata {
  /** Set whenever a run exists. */
  runId?: string;
  /** Set whenever the workflow is known. */
  workflowId?: string;
  /** The pipeline the run runs. */
  pipelineId?: string;
  /** The trigger that started it. */
  triggerId?: string;
  /**
   * For a failed run, the stage it failed in. Absent on other results: a completed or aborted run
   * is in no stage; the stage a paused run goes on from is `RunInfo.stage` (`watch`) and its
   * checkpoint's `nextStageId` (`checkpoint(runId)`).
   */
  stage?: string;
  /**
   * Ms from the run's start (`RunInfo.startedAt`, its creation: a queued run counts its wait) to
   * this result, time spent paused included, also for a run adopted from another runtime. How
   * long each execution took shows on the timeline: from `run.started` or `run.resumed` to the
   * next `run.paused` or end.
   */
  durationMs?: number;
  /**
   * For an aborted run, why the runtime aborted it: `"aborted by the host"` (`abort()`, or a
   * `sluice.run.abort` control event), `"replaced by a newer run"` (`singleton_loop` with
   * `onBusy: "replace"`), `'cancelled by event "<event>"'` (a trigger's `cancelOn`) or `"the
   * workflow was deregistered"` (`deregister()`, `stop()`); for a queued run that never started,
   * why it was dropped or cancelled (its error says `never started: <reason>`). The run's
   * `run.aborted` timeline event says the same.
   */
  abortReason?: string;
  [key: string]: unknown;
}

/**
 * Metadata of a result of a run that exists, as every `ok` result is: its ids are set, so
 * `if (result.ok) runtime.resume(result.metadata.runId, patch)` needs no `!`. (A failed result may
 * have none: an `invoke` of an unknown workflow made no run.)
 */
export interface StartedRunMetadata extends RunResultMetadata {
  /** The run's id. */
  runId: string;
  /** Its workflow. */
  workflowId: string;
  /** The pipeline it runs. */
  pipelineId: string;
  /** The trigger that started it. */
  triggerId: string;
}

/**
 * Metadata of a failed result: a run that existed also gives the state it had when it failed, so
 * a hook or caller can compensate for what its completed steps did (refund the charge whose id a
 * step wrote) without having kept it along the way.
 */
export interface FailedRunMetadata<S extends object = RunState> extends RunResultMetadata {
  /**
   * The run's state when it failed: its initial state with the patches of the steps that completed
   * (and of signals and resumes); a run that failed in `onPrepare`, what the hook had `set`; a run
   * that never started, its initial state. Absent when no run was made (an unknown workflow) or
   * its state could not be read (the state store threw). Frozen when it comes from the run's state
   * store, as a completed run's is.
   */
  state?: S;
}

/** What `invoke` and `resume` resolve to (never rejects for a failing step). */
export type RunResult<S extends object = RunState> =
  | Ok<{ status: "completed" | "paused" | "aborted"; state: S }, StartedRunMetadata>
  | Err<FailedRunMetadata<S>>;

/**
 * What `result(runId)` resolves to: how a run ended, `completed` or `aborted` (or a failure), never
 * `paused`. A `RunResult` too.
 */
export type EndedRunResult<S extends object = RunState> =
  | Ok<{ status: "completed" | "aborted"; state: S }, StartedRunMetadata>
  | Err<FailedRunMetadata<S>>;

/** Context given to `onPrepare` before the first stage. */
export interface PrepareContext<S extends object = RunState> {
  /** The run being prepared. */
  readonly runId: string;
  /** Its workflow. */
  readonly workflowId: string;
  /** The trigger that started it. */
  readonly triggerId: string;
  /** The pipeline it will run. */
  readonly pipelineId: string;
  /** The trigger event's payload. */
  readonly event: unknown;
  /**
   * Aborts when the run is aborted, when its deadline passes (`runTimeoutMs`: the reason is that
   * `TIMEOUT`), or when the hook outlives its `hookTimeoutMs`.
   */
  readonly signal: AbortSignal;
  /** The run's state now (frozen). */
  state(): Readonly<S>;
  /** Shallow-merges a patch into the run's state. Returning a patch from the hook does the same. */
  set(patch: StatePatch<S>): void;
  /** Resolves services, as a step's `ctx.use` does: the run's, its workflow's and the global ones. */
  use<R>(fn: (deps: UseDependencyContext<S>) => R | Promise<R>): Promise<R>;
}

/** Context given to `onResume` each time a paused run resumes. */
export interface ResumeContext<S extends object = RunState> extends PrepareContext<S> {
  /** True when the live context had been released after the pause window and was rebuilt from the checkpoint. */
  readonly restored: boolean;
  /**
   * The stage the run continues at (`null` when no stage follows the one it paused in: it
   * completes). For a run adopted by a version that appended stages after the last stage it paused
   * in, the first of those.
   */
  readonly nextStage: string | null;
  /**
   * What resumed the run, as its `run.resumed` event records it: `by` `"event"` (a matching bus
   * event, `event` naming it), `"timeout"` (a wait's timeout), `"resume"` (`resume()`) or
   * `"control"` (the `sluice.run.resume` control event); `wait` is the id of the wait involved.
   */
  readonly resumedBy: ResumeCause;
}

/** Context given to `onPause` each time a run parks. */
export interface PauseContext<S extends object = RunState> {
  /** The run that paused. */
  readonly runId: string;
  /** Its workflow. */
  readonly workflowId: string;
  /** The trigger that started it. */
  readonly triggerId: string;
  /** The pipeline it runs. */
  readonly pipelineId: string;
  /** The stage the run continues at when it resumes (`null` when it paused after its last stage). */
  readonly nextStage: string | null;
  /**
   * What it waits for: the waits of the stage that paused (plain data, as in its checkpoint). They
   * are the run's own waits, not copies, so they are frozen all the way down (the array, each wait,
   * its `conditions` and its `timeoutPatch`): an attempt to edit them throws (in strict-mode code),
   * and nothing a hook does to them changes which wait resumes the run or what it resumes with.
   */
  readonly waits: readonly PauseRequestData[];
  /**
   * The run's state now: as it paused, plus what came since (a `signal`; once a resume has begun,
   * the resuming patch). Once the run has ended (an abort, which does not wait for this hook, or an
   * end after the hook outlived `hookTimeoutMs` or did not await its work) or left this runtime
   * (`detach()`), the state it had then (the state `onComplete` got, for a run that completed or
   * was aborted; the checkpoint's, for a detached one). Read it before the hook's first `await` for
   * the state at the pause. A run waiting past its pause window keeps its state as JSON text: each call then returns
   * a new copy parsed from it.
   */
  state(): Readonly<S>;
}

/** Options for `register(workflow, options)`. */
export interface RegisterOptions<S extends object = RunState> {
  /** Execution mode for bus-triggered runs (default `{ type: "transient", concurrency: 10 }`). */
  mode?: ExecutionMode<S> | undefined;
  /** Runs before the first stage; may set up state. A throw fails the run with `HOOK_FAILED`. */
  onPrepare?: ((ctx: PrepareContext<S>) => void | StatePatch<S> | Promise<void | StatePatch<S>>) | undefined;
  /**
   * Fires first when a run finishes (completed, failed or aborted), before bookkeeping. A returned
   * promise (any thenable) is awaited, at most `hookTimeoutMs`; any other return value is ignored,
   * so a one-line hook may return what its expression gives (`(r) => results.push(r)`).
   */
  onComplete?: ((result: RunResult<S>) => unknown) | undefined;
  /**
   * Fires each time a run parks: it has paused and no event buffered for it resumed it at once.
   * `runtime.checkpoint(ctx.runId)` gives its checkpoint from here on. A resume (and so the run's
   * `onResume` and next stage) waits until this hook has settled, at most `hookTimeoutMs`, and so
   * does an end other than an abort: do not await the resume of the run from here. An abort does
   * not wait, as during `onPrepare` and `onResume`. A returned promise (any thenable) is what is
   * awaited; any other return value is ignored (`(ctx) => saved.set(ctx.runId, …)` is fine).
   */
  onPause?: ((ctx: PauseContext<S>) => unknown) | undefined;
  /**
   * Fires each time a paused run resumes, before its next stage. A returned promise (any thenable)
   * is awaited, at most `hookTimeoutMs`; any other return value is ignored.
   */
  onResume?: ((ctx: ResumeContext<S>) => unknown) | undefined;
  /**
   * Fires last when a run finishes, after bookkeeping (safe to deregister from here). A returned
   * promise (any thenable) is awaited, at most `hookTimeoutMs`; any other return value is ignored
   * (`(info) => saved.delete(info.runId)` is fine).
   */
  onCleanup?: ((info: RunInfo) => unknown) | undefined;
  /**
   * Reports what became of each bus event that matched one of this workflow's triggers. Not awaited;
   * a throw, or a rejection of a promise it returns, is reported (`HOOK_FAILED`). Without it, an
   * event whose payload could not become a run's initial state or give its key (`rejected`) goes
   * to `onError`; a `duplicate` (its trigger's `key` held by an unfinished run) is expected, and
   * reported to no one. Told before a started run's first step runs; runs start in the order they
   * are reported, also one started by an event this hook emits (once the hook has returned).
   */
  onDispatch?: ((result: DispatchResult) => void) | undefined;
  /** How long a parked run keeps its live context before only its checkpoint is kept (default 30 000 ms). */
  pauseWindowMs?: number | undefined;
  /**
   * How long the runtime waits for the promise of `onPrepare`, `onPause`, `onResume`, `onComplete`
   * or `onCleanup`, and for the cleanups of the run's (or, at `deregister()`, the workflow's) services
   * (default: the runtime's `hookTimeoutMs`, 30 000 ms; a positive number of milliseconds, or
   * `Infinity` for no limit).
   * Past it, it reports a `TIMEOUT` and goes on without the hook, which keeps running: an
   * `onPrepare` that ran out fails its run with `TIMEOUT` (and its `ctx.signal` fires); after the
   * others the run carries on as if the hook had returned. A hook that fails later is still
   * reported (`HOOK_FAILED`).
   */
  hookTimeoutMs?: number | undefined;
  /**
   * The longest a run may take, in ms, from its creation (`RunInfo.startedAt`: a queued run counts
   * its wait) to its end, time spent paused included: a positive, finite number; absent (the
   * default) for no deadline. When it passes, the run ends `failed` with a `TIMEOUT` wherever it is:
   * a running run's `ctx.signal` fires with that error and the run ends at once, without waiting
   * for a step that ignores it (its late result is dropped); a paused one fails without resuming;
   * a queued one leaves its mode's queue and fails without starting. `onComplete`, bookkeeping and
   * `onCleanup` follow as for any failed run. The deadline is fixed when the run is made and
   * travels in its checkpoint (`runDeadline`): a run adopted or recovered keeps it, whatever this
   * option says where it is adopted.
   */
  runTimeoutMs?: number | undefined;
  /** How many finished runs the workflow's registry keeps (default 1000) and for how long. */
  retention?: RetentionPolicy | undefined;
  /**
   * How many of the workflow's ended runs (completed, failed or aborted, also a queued run that
   * never started) keep their result for `result(runId)`, which then resolves at once with the
   * object `invoke` and `onComplete` got (default 0: none is kept, and `result()` of an ended run
   * is `NOT_FOUND`). The last `keepResults` are kept, the oldest evicted past that; deregistering
   * the workflow, or `stop()`, drops them. Each kept result holds its run's final state (`value.state`,
   * or `metadata.state` of a failure): budget its size times `keepResults`. Apart from `retention`,
   * which bounds the `RunInfo`s the registry keeps (`listAllRuns`, `registry(id)`): a result may
   * outlive its run's registry entry, and the other way round. A kept result keeps the `RunInfo` its
   * run ended with too, which `watch` and `findRun` answer with once retention has dropped the run
   * from the registry. An integer ≥ 0.
   */
  keepResults?: number | undefined;
}

/** Options for the `WorkflowRuntime` constructor. */
export interface WorkflowRuntimeOptions {
  /** Bus the runtime subscribes to for triggers, waits and control events. */
  bus: EventBus<any>;
  /** Registry the runtime creates each run's state store in. */
  storeRegistry: StoreRegistry;
  /** Where every run's timeline is written (batched). */
  timelineStore?: TimelineStore | undefined;
  /** Global singleton services for every run. */
  services?: ServiceDefinition[] | undefined;
  /** Global env layer (defaults to `process.env` where it exists, else empty). */
  env?: Record<string, string | undefined> | undefined;
  /**
   * Receives every error the runtime reports instead of throwing (hook failures, lost timeline
   * writes…). Default: `console.error`. Not awaited; what it throws or rejects with goes to `console.error`.
   */
  onError?: ((error: SystemError) => void) | undefined;
  /**
   * Timeline batching: flush after `maxBatch` events (default 256) or `flushIntervalMs` (default 25);
   * keep at most `maxBuffered` (default 100 000; past it the oldest are dropped down to nine tenths of it, and reported with the runs they belong to);
   * `stop()` waits at most `closeTimeoutMs` (default 5000) for the store to take what is buffered,
   * then reports `TIMEOUT` with the runs of what it drops and of the append the store has not settled.
   */
  timeline?:
    | {
        maxBatch?: number | undefined;
        flushIntervalMs?: number | undefined;
        maxBuffered?: number | undefined;
        closeTimeoutMs?: number | undefined;
      }
    | undefined;
  /**
   * Most events buffered per run while it is not parked (default 64; oldest dropped, those kept
   * only for a failed step attempt's held waits first).
   */
  maxBufferedEventsPerRun?: number | undefined;
  /**
   * The default of every workflow's `hookTimeoutMs` (see {@link RegisterOptions.hookTimeoutMs};
   * default 30 000 ms; a positive number, or `Infinity` for no limit), and how long `stop()` waits
   * for the global services' cleanups (past it: `TIMEOUT`, and `stop()` goes on).
   */
  hookTimeoutMs?: number | undefined;
  /** How the runtime treats the control events (`sluice.run.abort`, `.signal`, `.resume`). */
  controlEvents?: ControlEventOptions | undefined;
}

/** Options for the control events: {@link WorkflowRuntimeOptions.controlEvents}. */
export interface ControlEventOptions {
  /**
   * What to do with a control event for a run this runtime does not hold (never had, or no longer
   * has: ended and forgotten, detached). `"report"` (the default): `onError` receives `NOT_FOUND`
   * with `details: { event, runId }`; on a bus of its own that is a wrong or stale run id.
   * `"ignore"`: nothing is reported, for a runtime sharing its bus with other runtimes, where every
   * control event reaches every runtime and only the one holding the run acts on it. A control
   * event that fails for another reason (a malformed payload, a bad patch, a run not paused) is
   * reported either way.
   */
  onUnknownRun?: "report" | "ignore" | undefined;
}

/** Options for `drain(options)`. */
export interface DrainOptions {
  /**
   * How long to wait for the runs to come to rest, in ms: a non-negative number, or `Infinity`
   * for no limit (default 30 000). Past it, `drain` resolves with the runs still busy.
   */
  timeoutMs?: number | undefined;
  /**
   * What a bus event reaching a trigger does from this call on: `"drop"` (the default) starts no
   * run and is reported `dropped`; `"start"` still starts (or queues, signals…) a run as the
   * workflow's mode says, and the drain waits for it too. Workflows that start each other through
   * the bus (an order run emitting `payment.requested` to the payments workflow) need `"start"`:
   * with `"drop"`, the events the runs in flight emit to the next workflow are lost. Stop the
   * host's own event sources first, as `"start"` takes their events too. Each call sets it anew.
   */
  triggers?: "drop" | "start" | undefined;
}

/** What `drain()` found when it resolved. */
export interface DrainReport {
  /** True when every run had ended or parked: none is running, queued or in a hook that holds it. */
  drained: boolean;
  /**
   * Runs still busy when `drain` gave up (empty when drained): queued behind busy runs, running,
   * being resumed, in their `onComplete`, or parked with their `onPause` still running.
   * `stop()` aborts the ones not yet decided.
   */
  active: string[];
  /** Runs parked at a pause: `detach()` the ones to keep before `stop()`, which aborts the rest. */
  paused: string[];
  /**
   * Runs this call dropped, never started: once every other run was at rest, they were still
   * queued behind a parked run holding their workflow's one slot (`exclusive` `queue_single`), so
   * only that run's event could have started them. `onDispatch` reports each `dropped`.
   */
  dropped: string[];
}
