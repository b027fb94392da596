import { SystemError } from "@sluice/errors";
import { MAX_TIMER_MS } from "@sluice/pipeline";
import type { RunRecord } from "./run-record.js";

/** A run's deadline (`RegisterOptions.runTimeoutMs`), as the {@link RunDeadlines} heap holds it. */
export class RunDeadline {
  /** Where the heap holds it; -1 once it is out (passed, its run ended or left, or cleared). */
  slot = -1;
  /** Once the deadline has passed while the run went on: the `TIMEOUT` the run fails with. */
  passed: SystemError | undefined = undefined;

  constructor(
    /** Epoch ms: the run's start plus its workflow's `runTimeoutMs`, or its checkpoint's `runDeadline`. */
    readonly at: number,
    readonly record: RunRecord,
  ) {}
}

/**
 * The deadlines of a runtime's runs on one timer, for the earliest. A `setTimeout` per run cost
 * ~0.8 µs (Node makes a timer list each time the last one empties); here a run with a deadline
 * costs a place in a binary heap ordered by deadline, and a run that ends leaves it at once, so the
 * heap holds only unfinished runs. The timer is armed for the earliest deadline and re-armed when
 * it fires; a run ending does not re-arm or clear it (a clear per run, when runs come one at a
 * time, cost as much as a timer per run), so in steady traffic it fires about once per
 * `runTimeoutMs`, and it stays armed (finding nothing to do when it fires) after the last run with
 * a deadline has ended, until {@link RunDeadlines.idle}. While a run has a deadline the timer keeps
 * a Node process alive, as a parked run's wait deadline does: its firing is work still to do (the
 * run fails, its `onComplete` compensates), which a host awaiting the run's end expects done. Once
 * none has, it is `unref`ed: a timer left armed keeps nothing alive. A deadline past the longest
 * delay a timer takes (~24.8 days) is reached in steps.
 */
export class RunDeadlines {
  private readonly heap: RunDeadline[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** When the timer fires (`Infinity` when it is not armed). */
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(
    /** Called once for each run whose deadline has passed, its entry already out of the heap. */
    private readonly onPassed: (record: RunRecord) => void,
  ) {}

  /** Gives `record` the deadline `at` (epoch ms), one already past included: its timer fires at once. */
  add(record: RunRecord, at: number): void {
    const deadline = new RunDeadline(at, record);
    record.runDeadline = deadline;
    const heap = this.heap;
    deadline.slot = heap.length;
    heap.push(deadline);
    this.siftUp(deadline.slot);
    if (at < this.timerAt) this.arm(Date.now());
    // the timer left armed for a run that has ended: it keeps the process alive again (it fires before this deadline)
    else if (heap.length === 1) (this.timer as { ref?: () => void } | undefined)?.ref?.();
  }

  /** Takes `deadline` out (its run ended or left); nothing when it is out already. */
  remove(deadline: RunDeadline): void {
    const slot = deadline.slot;
    if (slot < 0) return;
    deadline.slot = -1;
    const heap = this.heap;
    const last = heap.pop()!;
    // no run has a deadline now: the timer, left armed, keeps nothing alive
    if (heap.length === 0) (this.timer as { unref?: () => void } | undefined)?.unref?.();
    if (last === deadline) return;
    heap[slot] = last;
    last.slot = slot;
    this.siftDown(slot);
    this.siftUp(last.slot);
  }

  /** Clears the timer when no deadline is left (a workflow deregistered): nothing keeps it armed. */
  idle(): void {
    if (this.heap.length > 0) return;
    this.disarm();
  }

  /** Forgets every deadline and clears the timer (the runtime stops: its runs end otherwise). */
  clear(): void {
    for (const deadline of this.heap) deadline.slot = -1;
    this.heap.length = 0;
    this.disarm();
  }

  private disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  /** Arms the timer for the earliest deadline, in steps of at most `MAX_TIMER_MS` (none left: clears it). */
  private arm(now: number): void {
    const first = this.heap[0];
    this.disarm();
    if (first === undefined) return;
    // capped: a longer delay would make setTimeout fire at once; the timer then re-arms
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, first.at - now));
    this.timerAt = first.at - now > MAX_TIMER_MS ? now + MAX_TIMER_MS : first.at;
    this.timer = setTimeout(this.fire, delay);
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    const heap = this.heap;
    // (a timer may fire a millisecond before Date.now() reaches its deadline: the re-arm waits the rest)
    while (heap.length > 0 && heap[0]!.at <= now) {
      const first = heap[0]!;
      this.remove(first);
      this.onPassed(first.record);
    }
    // for the earliest deadline left (one a failing run's hook added meanwhile, say), if any
    this.arm(Date.now());
  };

  private siftUp(slot: number): void {
    const heap = this.heap;
    const moving = heap[slot]!;
    while (slot > 0) {
      const parentSlot = (slot - 1) >> 1;
      const parent = heap[parentSlot]!;
      if (parent.at <= moving.at) break;
      heap[slot] = parent;
      parent.slot = slot;
      slot = parentSlot;
    }
    heap[slot] = moving;
    moving.slot = slot;
  }

  private siftDown(slot: number): void {
    const heap = this.heap;
    const length = heap.length;
    const moving = heap[slot]!;
    for (;;) {
      let child = 2 * slot + 1;
      if (child >= length) break;
      const right = child + 1;
      if (right < length && heap[right]!.at < heap[child]!.at) child = right;
      const next = heap[child]!;
      if (next.at >= moving.at) break;
      heap[slot] = next;
      next.slot = slot;
      slot = child;
    }
    heap[slot] = moving;
    moving.slot = slot;
  }
}

/**
 * The `TIMEOUT` a run fails with when its deadline passes: which run of which workflow, its
 * `runTimeoutMs` (its deadline less its start: an adopted run keeps the deadline it was made with,
 * whatever this runtime's workflow says) and where it was, `details` likewise (`stage` is the stage
 * it was running, the one its result and `RunInfo` name).
 */
export function runTimedOut(record: RunRecord, deadline: RunDeadline): SystemError {
  const runTimeoutMs = deadline.at - record.startedAt;
  const status = record.status;
  const stage = status === "running" ? record.pipelineRun?.currentStage : undefined;
  const details: Record<string, unknown> = {
    workflowId: record.workflow.id,
    runId: record.runId,
    runTimeoutMs,
    deadline: deadline.at,
    status,
  };
  if (stage !== undefined) details.stage = stage;
  return new SystemError(
    "TIMEOUT",
    `run ${record.runId} of workflow "${record.workflow.id}" did not end within its runTimeoutMs (${runTimeoutMs} ms from its start): the deadline passed while it was ${whereItWas(record, stage)}, so it failed; raise runTimeoutMs, or bound what the run waits for (a step's or a wait's timeoutMs)`,
    { details },
  );
}

/** Where a run was when its deadline passed, for the message. */
function whereItWas(record: RunRecord, stage: string | undefined): string {
  switch (record.status) {
    case "queued":
      return "queued (it never started)";
    case "paused": {
      const next = record.checkpoint?.nextStageId ?? record.released?.nextStageId;
      return next === null || next === undefined
        ? "paused after its last stage"
        : `paused before stage "${next}"`;
    }
    default:
      return stage === undefined
        ? "running, in none of its stages (in its onPrepare or onResume)"
        : `running stage "${stage}"`;
  }
}
