import { catchRejection, describeThrown, quoteName, SystemError } from "@sluice/errors";
import type { IdMap } from "@sluice/id-map";
import { matchesConditions } from "@sluice/pause";
import { BatchedEvents, batchPayload } from "./batched-events.js";
import { concurrencyKey } from "./concurrency-key.js";
import { DebouncedEvents } from "./debounced-events.js";
import { DEFAULT_QUEUE_CAPACITY } from "./modes/create-policy.js";
import type { DispatchRequest, PolicyDecision, PolicyHost } from "./modes/execution-policy.js";
import { rateLimitReason } from "./rate-limit-reason.js";
import type { RunEnding } from "./run-ending.js";
import type { RunExecution } from "./run-execution.js";
import { runPriority } from "./run-priority.js";
import type { RunRecord } from "./run-record.js";
import { ThrottledEvents } from "./throttled-events.js";
import type { TriggerBinding, TriggerIndex } from "./trigger-index.js";
import {
  BATCH_KEY,
  DEBOUNCE_KEY,
  duplicateReason,
  type KeyFunctionNames,
  payloadKey,
  RATE_LIMIT_KEY,
  THROTTLE_KEY,
  triggerKey,
} from "./trigger-key.js";
import { initialRunState } from "./trigger-payload.js";
import type { DispatchResult, RunState } from "./types.js";
import type { WorkflowRecord } from "./workflow-record.js";

/**
 * What a dispatch decision does to a run, held until onDispatch has been told of the decision: a
 * run it started is launched, a run it replaced is aborted.
 */
interface HeldRunAction {
  readonly kind: "launch" | "abort";
  readonly workflow: WorkflowRecord;
  readonly runId: string;
}

/**
 * Bus events to workflow triggers: each trigger the event fires (its `when` matched, its initial
 * state made) is a request its workflow's execution policy decides on, and `onDispatch` is told
 * the outcome. The policies drive runs through the PolicyHost each workflow gets from here.
 */
export class TriggerDispatch {
  /** While `dispatchTo` awaits its onDispatch report: what the decision does to runs, not done yet. */
  private heldActions: HeldRunAction[] | undefined = undefined;
  /**
   * While a decision's onDispatch runs: the actions of that decision, and of those taken meanwhile
   * (on an event its onDispatch emitted), done in the order they were decided once it returns.
   */
  private reportedActions: HeldRunAction[] | undefined = undefined;
  /** Set while the runtime takes no new runs from the bus: why every event a trigger matches is dropped. */
  private refusal: string | undefined = undefined;
  /** Whether a trigger's `debounce` holds events: until a drain begins. */
  private holding = true;

  constructor(
    private readonly triggers: TriggerIndex,
    /** The unfinished runs, by id (policies hold run ids). */
    private readonly runs: IdMap<RunRecord>,
    private readonly execution: RunExecution,
    private readonly ending: RunEnding,
    private readonly report: (error: SystemError) => void,
  ) {}

  /** From now on, every event a trigger matches is dropped (reported to `onDispatch`) for `reason` (a drain). */
  refuse(reason: string): void {
    this.refusal = reason;
    this.holding = false;
  }

  /**
   * From now on, events a trigger matches start runs again (a drain that lets runs chain), a
   * debounced trigger's too, at once: a drain waits for runs, not for a debounce's timers.
   */
  accept(): void {
    this.refusal = undefined;
    this.holding = false;
  }

  /** Hands `event` to every trigger it fires, across workflows. */
  dispatch(event: string, payload: unknown): void {
    const bindings = this.triggers.get(event);
    if (bindings !== undefined) {
      for (let i = 0; i < bindings.length; i++) this.dispatchTo(bindings[i]!, event, payload);
    }
  }

  /**
   * The trigger's `when` first (an event it filters out is not the trigger's at all), then its
   * `debounce` or its `batch` (never both).
   */
  private dispatchTo(binding: TriggerBinding, event: string, payload: unknown): void {
    const trigger = binding.trigger;
    if (trigger.when !== undefined && !matchesConditions(payload, trigger.when)) return;
    // while draining, an event is refused as it comes or, in a drain that lets runs chain, goes on at once
    if (trigger.debounce !== undefined && this.holding) this.hold(binding, event, payload);
    else if (trigger.batch !== undefined) this.collect(binding, event, payload);
    else {
      // (a drain sends the held events on one trigger, one workflow after another: those of this
      // trigger still held came before this event, which a released run may have emitted)
      if (trigger.debounce !== undefined) binding.workflow.debounces.get(binding.triggerId)?.releaseAll();
      this.throttle(binding, event, payload, this.refusal);
    }
  }

  /**
   * Releases every event the triggers' `debounce` hold, at once (a drain begins). Call it once the
   * drain's `refuse` or `accept` is in force: the released events were taken before the drain and
   * go on regardless, but an event their runs emit meanwhile comes during the drain.
   */
  releaseHeld(workflows: Iterable<WorkflowRecord>): void {
    for (const wf of workflows) {
      // a trigger's throttled events first: they came through its debounce before the events it
      // holds now, which would otherwise overtake them (their key's line kept its order)
      for (const waiting of wf.throttles.values()) waiting.releaseAll();
      for (const held of wf.debounces.values()) held.releaseAll();
      for (const collecting of wf.batches.values()) collecting.releaseAll();
    }
  }

  /**
   * Drops the events `wf`'s triggers' `debounce` hold, the batches their `batch` collects (each
   * reported once, as the batch it would have gone on as) and the events waiting for their
   * `throttle`, reported `dropped` for `reason` (a deregistration).
   */
  dropHeld(wf: WorkflowRecord, reason: string): void {
    const dropped = (triggerId: string, held: Array<{ event: string; payload: unknown }>) => {
      for (const { event, payload } of held)
        reportDropped(wf, triggerId, event, payload, reason, this.report);
    };
    // a trigger's throttled events first: they came through its debounce or batch before the
    // events held or collected now (as a drain sends them on)
    for (const [triggerId, waiting] of wf.throttles) dropped(triggerId, waiting.dropAll());
    for (const [triggerId, held] of wf.debounces) dropped(triggerId, held.dropAll());
    for (const [triggerId, collecting] of wf.batches) {
      const event = wf.triggers.get(triggerId)!.event;
      dropped(
        triggerId,
        collecting.dropAll().map((payload) => ({ event, payload })),
      );
    }
  }

  /**
   * Holds an event of a trigger with `debounce` as the latest of its series; the one it replaces is
   * reported `dropped`. An event whose debounce key cannot be read is `rejected`; one that comes
   * once its workflow is deregistered, or the runtime draining, is not held but dropped.
   */
  private hold(binding: TriggerBinding, event: string, payload: unknown): void {
    const { workflow: wf, triggerId, trigger } = binding;
    const options = trigger.debounce!;
    const key = this.optionKey(binding, event, payload, options.key, DEBOUNCE_KEY);
    if (key === undefined) return;
    const now = performance.now();
    if (this.heldNoMore(binding, event, payload)) return;
    let events = wf.debounces.get(triggerId);
    if (events === undefined) {
      events = new DebouncedEvents(
        options.periodMs,
        options.maxWaitMs ?? Number.POSITIVE_INFINITY,
        // (taken before any drain began: a drain's refusal is not for it)
        (heldEvent, heldPayload) => this.throttle(binding, heldEvent, heldPayload, undefined),
      );
      wf.debounces.set(triggerId, events);
    }
    // a held event whose series ended before this one came (its timer is late) goes on, but only
    // once this one is held: an event its run emits comes after this one
    const due = events.takeDue(key, now);
    const superseded = events.hold(key, event, payload, now);
    if (superseded !== undefined) {
      const of = options.key === undefined ? "" : ` of key ${quoteName(key)}`;
      const reason = `debounced: a later event${of} came within ${options.periodMs} ms and replaced it`;
      reportDropped(wf, triggerId, superseded.event, superseded.payload, reason, this.report);
    }
    if (due !== undefined) events.send(due);
  }

  /**
   * Whether an event about to be held by a trigger's `debounce`, join its `batch` or wait for its
   * `throttle` is dealt with otherwise, because host code run on its way (a hook earlier in this
   * dispatch, the option's key) deregistered the workflow or stopped or drained the runtime, whose
   * held and waiting events were dropped or sent on already: for a deregistered workflow it is
   * reported dropped (held, it would start a run after all, on a timer nothing clears); while
   * draining it goes on at once (nothing is held then), sent on as it is, or by `goOn` (a batch of one, for a `batch`).
   */
  private heldNoMore(binding: TriggerBinding, event: string, payload: unknown, goOn?: () => void): boolean {
    const { workflow: wf, triggerId } = binding;
    if (wf.deregistered) {
      reportDropped(wf, triggerId, event, payload, "the workflow was deregistered", this.report);
      return true;
    }
    if (!this.holding) {
      if (goOn === undefined) this.dispatchMatched(binding, event, payload, this.refusal);
      else goOn();
      return true;
    }
    return false;
  }

  /**
   * Adds an event of a trigger with `batch` to its key's batch; a batch it fills goes on at once.
   * An event whose batch key cannot be read is `rejected`; while the runtime drains nothing
   * collects (the event is refused, or goes on at once as a batch of one); an event that comes once
   * its workflow is deregistered is dropped.
   */
  private collect(binding: TriggerBinding, event: string, payload: unknown): void {
    const { workflow: wf, triggerId, trigger } = binding;
    const options = trigger.batch!;
    const key = this.optionKey(binding, event, payload, options.key, BATCH_KEY);
    if (key === undefined) return;
    const batchKey = options.key === undefined ? undefined : key;
    let batches = wf.batches.get(triggerId);
    if (batches === undefined) {
      batches = new BatchedEvents(options.maxSize, options.timeoutMs, (batch, refusal) =>
        this.throttle(binding, event, batch, refusal),
      );
      wf.batches.set(triggerId, batches);
    }
    const sending = batches;
    // While draining, nothing collects: the event goes on at once as a batch of one, but after the
    // trigger's batches still collecting (the drain sends another trigger's or workflow's on first,
    // whose run emitted this event) and those going on (a batch's run emitted it): they came first.
    const alone = () => {
      sending.releaseAll();
      sending.send(batchPayload({ key: batchKey, events: [payload] }), this.refusal);
    };
    if (this.heldNoMore(binding, event, payload, alone)) return;
    const now = performance.now();
    // a batch whose timeout came before this event did (its timer is late) goes on, but only once
    // this event is in the next batch: an event its run emits comes after this one
    const due = batches.takeDue(key, now);
    const full = batches.add(key, batchKey, payload, now);
    // (both collected before any drain their runs' host code may begin: its refusal is not for them)
    if (due !== undefined) batches.send(batchPayload(due));
    if (full !== undefined) batches.send(batchPayload(full));
  }

  /**
   * An event the trigger's `when` and `debounce` let through, at its `throttle`: it goes on at
   * once when its key's window has room and nothing of its key waits, else it waits its turn (or
   * is `dropped` when `capacity` events wait already). An event whose throttle key cannot be read
   * is `rejected`; while the runtime drains nothing waits (refused as it comes, or with
   * `triggers: "start"` gone on at once), as with `debounce`.
   */
  private throttle(
    binding: TriggerBinding,
    event: string,
    payload: unknown,
    refusal: string | undefined,
  ): void {
    const options = binding.trigger.throttle;
    if (options === undefined) {
      this.dispatchMatched(binding, event, payload, refusal);
      return;
    }
    if (!this.holding) {
      // draining: nothing waits, but events of its key that waited before the drain still go on
      // first (a drain sends them on, one key, one workflow after another)
      const lines = binding.workflow.throttles.get(binding.triggerId);
      if (refusal === undefined && lines !== undefined && lines.waiting > 0) {
        const key = this.optionKey(binding, event, payload, options.key, THROTTLE_KEY);
        if (key === undefined || lines.joinLine(key, event, payload)) return;
      }
      this.dispatchMatched(binding, event, payload, refusal);
      return;
    }
    const key = this.optionKey(binding, event, payload, options.key, THROTTLE_KEY);
    if (key === undefined) return;
    if (this.heldNoMore(binding, event, payload)) return;
    const { workflow: wf, triggerId } = binding;
    let waiting = wf.throttles.get(triggerId);
    if (waiting === undefined) {
      waiting = new ThrottledEvents(
        options.limit,
        options.periodMs,
        options.capacity ?? DEFAULT_QUEUE_CAPACITY,
        // (taken before any drain began: a drain's refusal is not for it)
        (turnEvent, turnPayload) => this.dispatchMatched(binding, turnEvent, turnPayload, undefined),
      );
      wf.throttles.set(triggerId, waiting);
    }
    const taken = waiting.offer(key, event, payload, performance.now());
    if (taken === "go") this.dispatchMatched(binding, event, payload, refusal);
    else if (taken === "full") {
      const events = waiting.capacity === 1 ? "event waits" : "events wait";
      const reason = `throttled: ${waiting.capacity} ${events} already (throttle.capacity)`;
      reportDropped(wf, triggerId, event, payload, reason, this.report);
    }
  }

  /**
   * An event the trigger's `when` (and `debounce` and `throttle`) let through: its
   * `key` (a duplicate costs no `map` and never reaches the mode: it takes no queue slot, signals
   * or replaces no run, and is not refused as busy), then `map`, then the mode's concurrency `key`
   * and `priority` (of the state `map` made), then the `key` again (an event `map`, the concurrency
   * `key` or `priority` emitted may have taken it), then the execution mode. `refusal`: why the runtime takes no new
   * runs from the bus (a drain), if it does not.
   */
  private dispatchMatched(
    binding: TriggerBinding,
    event: string,
    payload: unknown,
    refusal: string | undefined,
  ): void {
    const { workflow: wf, triggerId, trigger } = binding;
    let key: string | undefined;
    if (trigger.key !== undefined) {
      try {
        key = triggerKey(wf.id, triggerId, trigger, payload);
      } catch (error) {
        this.reject(wf, triggerId, event, payload, error);
        return;
      }
      // before the refusal of a draining runtime: the event's run exists, which says more than dropped
      if (this.refusedAsDuplicate(wf, triggerId, event, payload, key)) return;
    }
    if (refusal !== undefined) {
      reportDropped(wf, triggerId, event, payload, refusal, this.report);
      return;
    }
    if (trigger.rateLimit !== undefined && this.refusedByRateLimit(binding, event, payload)) return;
    let initialState: RunState;
    try {
      initialState = initialRunState(wf.id, triggerId, trigger, payload, wf.stateNames.get(triggerId)!);
    } catch (error) {
      this.reject(wf, triggerId, event, payload, error);
      return;
    }
    let concurrency: string | undefined;
    if (wf.concurrencyKey !== undefined) {
      try {
        concurrency = concurrencyKey(wf.id, triggerId, wf.concurrencyKey, initialState);
      } catch (error) {
        this.reject(wf, triggerId, event, payload, error);
        return;
      }
    }
    let priority = 0;
    if (wf.priority !== undefined) {
      try {
        priority = runPriority(wf.id, triggerId, wf.priority, initialState);
      } catch (error) {
        this.reject(wf, triggerId, event, payload, error);
        return;
      }
    }
    // map() and the mode's key() and priority() are host code: an event one emitted may have
    // started a run under this very key, and a second run under it would take the key from the first
    if (key !== undefined && this.refusedAsDuplicate(wf, triggerId, event, payload, key)) return;
    const request = { triggerId, event, payload, initialState, key, concurrencyKey: concurrency, priority };
    if (wf.options.onDispatch === undefined) {
      wf.policy.accept(request);
      return;
    }
    // The runs this decision starts are launched, and the run it replaces aborted, once onDispatch
    // has been told: a run's first step may run synchronously and emit events of its own, and so
    // may a replaced paused run's onComplete (it runs at once), and the host must hear of the new
    // run first.
    const outer = this.heldActions;
    const held: HeldRunAction[] = [];
    this.heldActions = held;
    let decision: PolicyDecision;
    try {
      decision = wf.policy.accept(request);
    } finally {
      this.heldActions = outer;
    }
    // (a decision holds only the fields its outcome has: none is copied as undefined)
    const result: DispatchResult = { ...decision, workflowId: wf.id, triggerId, event, payload };
    // decided while an earlier decision's onDispatch runs: its runs go after that decision's, or
    // a run the host heard of second would run its first step first
    const reported = this.reportedActions;
    if (reported !== undefined) {
      for (let i = 0; i < held.length; i++) reported.push(held[i]!);
      reportDispatch(wf, result, this.report);
      return;
    }
    this.reportedActions = held;
    try {
      reportDispatch(wf, result, this.report);
    } finally {
      this.reportedActions = undefined;
    }
    for (let i = 0; i < held.length; i++) {
      const action = held[i]!;
      if (action.kind === "launch") this.launch(action.workflow, action.runId);
      else this.abortReplaced(action.runId);
    }
  }

  /**
   * Refuses an event whose key an unfinished run of `wf` holds (`duplicate`, naming that run);
   * false when the key is free.
   */
  private refusedAsDuplicate(
    wf: WorkflowRecord,
    triggerId: string,
    event: string,
    payload: unknown,
    key: string,
  ): boolean {
    const holder = wf.keys.holder(key);
    if (holder === undefined) return false;
    const reason = duplicateReason(key, holder, this.runs.get(holder));
    reportDispatch(
      wf,
      { outcome: "duplicate", workflowId: wf.id, triggerId, event, payload, runId: holder, reason },
      this.report,
    );
    return true;
  }

  /**
   * The key the trigger's `debounce.key`, `throttle.key` or `rateLimit.key` (`key`, named by
   * `names`) gives the event (`""` when the option has none: one series, one line, one limit), or
   * `undefined` once the event is refused as `rejected` because the key could not be read.
   */
  private optionKey(
    binding: TriggerBinding,
    event: string,
    payload: unknown,
    key: ((payload: any) => string) | undefined,
    names: KeyFunctionNames,
  ): string | undefined {
    if (key === undefined) return "";
    const { workflow: wf, triggerId } = binding;
    try {
      return payloadKey(names, wf.id, triggerId, key, payload);
    } catch (error) {
      this.reject(wf, triggerId, event, payload, error);
      return undefined;
    }
  }

  /**
   * Refuses an event past its trigger's `rateLimit` (`dropped`, saying when its key is admitted
   * again), or one whose rate-limit key cannot be read (`rejected`); false when it is admitted.
   */
  private refusedByRateLimit(binding: TriggerBinding, event: string, payload: unknown): boolean {
    const { workflow: wf, triggerId } = binding;
    const options = binding.trigger.rateLimit!;
    const key = this.optionKey(binding, event, payload, options.key, RATE_LIMIT_KEY);
    if (key === undefined) return true;
    const limit = wf.rateLimits.get(triggerId)!;
    const now = performance.now();
    if (limit.admit(key, now)) return false;
    const wait = limit.nextAdmission(key, now) - now;
    const reason = rateLimitReason(limit, options.key === undefined ? undefined : key, wait);
    reportDropped(wf, triggerId, event, payload, reason, this.report);
    return true;
  }

  /**
   * Refuses an event its trigger could make no run of: its payload, its `map` or its `key` failed.
   * It would be lost unseen: with no onDispatch to hear of it, onError does (as it hears of a
   * wait's patch mapper that throws).
   */
  private reject(
    wf: WorkflowRecord,
    triggerId: string,
    event: string,
    payload: unknown,
    error: unknown,
  ): void {
    const reason = describeThrown(error);
    if (wf.options.onDispatch === undefined)
      this.report(eventRejected(wf.id, triggerId, event, reason, error));
    else
      reportDispatch(
        wf,
        { outcome: "rejected", workflowId: wf.id, triggerId, event, payload, reason },
        this.report,
      );
  }

  /**
   * Starts a run its mode gave a slot; one aborted meanwhile (by onDispatch) gives the slot back.
   * One whose deadline passed while it waited fails instead, never started, in a microtask of its
   * own, and its slot goes on.
   */
  private launch(wf: WorkflowRecord, runId: string): void {
    const record = this.runs.get(runId);
    if (record !== undefined && record.status === "queued") {
      // Its deadline's timer has not failed it yet: late under load, or due in the turn the run
      // whose slot it takes failed at its own deadline. Started, it would run steps (charge a card)
      // past its deadline, to be failed and compensated for them moments later.
      const deadline = record.runDeadline;
      // Not failed here: its slot goes to the next queued run, late as well after a stalled event
      // loop, and failing each inside the release of the last nests frames per run (a few hundred
      // overflowed the stack, and the rest stayed queued for good).
      if (deadline !== undefined && deadline.at <= Date.now()) queueMicrotask(() => this.failLate(wf, runId));
      else void this.execution.execute(record);
    } else if (record === undefined) wf.policy.runEnded(runId);
  }

  /**
   * Fails a run {@link launch} found past its deadline, unless it ended meanwhile (its own timer, an
   * abort, a deregistration); one that left the table gives its slot back (a second time is a no-op).
   */
  private failLate(wf: WorkflowRecord, runId: string): void {
    const record = this.runs.get(runId);
    if (record === undefined) wf.policy.runEnded(runId);
    else if (record.status === "queued") this.ending.deadlinePassed(record);
  }

  /** Aborts the run a newer one replaced (`singleton_loop` `replace`), unless it ended meanwhile. */
  private abortReplaced(runId: string): void {
    const record = this.runs.get(runId);
    if (record !== undefined) this.ending.abortRun(record, "replaced by a newer run");
  }

  /** The operations `wf`'s execution policy drives: its runs, created, started, signalled, ended. */
  policyHost(wf: WorkflowRecord): PolicyHost {
    return {
      createRun: (request: DispatchRequest) => {
        const trigger = wf.triggers.get(request.triggerId)!;
        const record = this.execution.createRun(
          wf,
          request.triggerId,
          trigger,
          request.initialState,
          request.payload,
          "queued",
          undefined,
          request.key,
        );
        record.managed = true;
        record.concurrencyKey = request.concurrencyKey;
        return record.runId;
      },
      launchRun: (runId: string) => {
        // (a hook run during the decision may start another workflow's run: each keeps its own)
        if (this.heldActions !== undefined) this.heldActions.push({ kind: "launch", workflow: wf, runId });
        else this.launch(wf, runId);
      },
      cancelQueuedRun: (runId: string, reason: string) =>
        this.ending.cancelQueuedRun(wf, runId, reason, true),
      signalRun: (runId: string, request: DispatchRequest) => {
        const record = this.runs.get(runId);
        if (record === undefined) return `run ${runId} is not active`;
        try {
          record.mergeSignal(request.initialState);
          return undefined;
        } catch (error) {
          return describeThrown(error);
        }
      },
      abortRun: (runId: string) => {
        if (this.heldActions !== undefined) this.heldActions.push({ kind: "abort", workflow: wf, runId });
        else this.abortReplaced(runId);
      },
      isDecided: (runId: string) => this.runs.get(runId)?.resultDecided === true,
    };
  }
}

/** Tells the workflow's `onDispatch` (if any) what became of a bus event; a throw or a rejection is reported. */
export function reportDispatch(
  wf: WorkflowRecord,
  result: DispatchResult,
  report: (error: SystemError) => void,
): void {
  const hook = wf.options.onDispatch;
  if (hook === undefined) return;
  // read before the hook has the result, which it may change
  const { event, runId } = result;
  try {
    const out: unknown = hook(result);
    // (only a result is looked at: onDispatch is called for every event a trigger matches)
    if (out !== undefined) {
      catchRejection(out, (error) => report(dispatchHookFailed(wf.id, event, runId, "rejected", error)));
    }
  } catch (error) {
    report(dispatchHookFailed(wf.id, event, runId, "threw", error));
  }
}

/**
 * Tells `wf`'s `onDispatch` that an event its trigger `triggerId` matched was dropped for `reason`,
 * no run made of it.
 */
export function reportDropped(
  wf: WorkflowRecord,
  triggerId: string,
  event: string,
  payload: unknown,
  reason: string,
  report: (error: SystemError) => void,
): void {
  reportDispatch(wf, { outcome: "dropped", workflowId: wf.id, triggerId, event, payload, reason }, report);
}

/**
 * The `HOOK_FAILED` report for an `onDispatch` that threw or rejected: always `HOOK_FAILED` (what it
 * threw is the `cause`, also a `SystemError` of its own, which passed on as it was would read as the
 * runtime's fault), naming the event and the run it was told of.
 */
function dispatchHookFailed(
  workflowId: string,
  event: string,
  runId: string | undefined,
  how: "threw" | "rejected",
  error: unknown,
): SystemError {
  return new SystemError(
    "HOOK_FAILED",
    `workflow "${workflowId}": onDispatch ${how}: ${describeThrown(error)}`,
    {
      cause: error,
      details:
        runId === undefined
          ? { workflowId, hook: "onDispatch", event }
          : { workflowId, hook: "onDispatch", event, runId },
    },
  );
}

/**
 * The `INVALID_INPUT` onError gets for a bus event whose payload could not become a run's initial
 * state (not a plain object, a `map()` that threw) or give its key (a `key()` that threw or gave
 * no string) when the workflow has no `onDispatch`.
 */
function eventRejected(
  workflowId: string,
  triggerId: string,
  event: string,
  reason: string,
  cause: unknown,
): SystemError {
  return new SystemError(
    "INVALID_INPUT",
    `bus event "${event}" started no run of workflow "${workflowId}": ${reason} (reported here because the workflow has no onDispatch, which would be told it was rejected)`,
    { cause, details: { workflowId, triggerId, event } },
  );
}
