import { SystemError } from "@sluice/errors";
import { DeadlineHeap, type HeapDeadline } from "./deadline-heap.js";
import type { RunRecord } from "./run-record.js";

/** A run's deadline (`RegisterOptions.runTimeoutMs`), as {@link RunDeadlines} holds it. */
export class RunDeadline implements HeapDeadline {
  slot = -1;
  order = 0;
  /** Once the deadline has passed while the run went on: the `TIMEOUT` the run fails with. */
  passed: SystemError | undefined = undefined;

  constructor(
    /** Epoch ms: the run's start plus its workflow's `runTimeoutMs`, or its checkpoint's `runDeadline`. */
    readonly at: number,
    readonly record: RunRecord,
  ) {}
}

/** A parked run's earliest wait deadline (a wait's `timeoutMs`), as {@link RunDeadlines} holds it. */
export class WaitDeadline implements HeapDeadline {
  slot = -1;
  order = 0;

  constructor(
    /** Epoch ms: the earliest `deadline` of the waits the run is parked on. */
    readonly at: number,
    readonly record: RunRecord,
  ) {}
}

/**
 * The deadlines of a runtime's runs on one timer ({@link DeadlineHeap}): each run's own deadline
 * (`runTimeoutMs`), held while it is unfinished, and each parked run's earliest wait deadline, held
 * while it is parked. A timer per parked run with a wait timeout cost ~300 bytes a run; here it is
 * an entry in a heap shared with every other run.
 */
export class RunDeadlines {
  private readonly heap: DeadlineHeap<RunDeadline | WaitDeadline>;

  constructor(
    /** Called once for each run whose own deadline has passed, its entry already out. */
    onRunPassed: (record: RunRecord) => void,
    /** Called once for each parked run whose earliest wait deadline has passed, its entry already out. */
    onWaitPassed: (record: RunRecord) => void,
  ) {
    this.heap = new DeadlineHeap((deadline) => {
      if (deadline instanceof WaitDeadline) {
        deadline.record.waitDeadline = undefined;
        onWaitPassed(deadline.record);
      } else onRunPassed(deadline.record);
    });
  }

  /** Gives `record` the deadline `at` (epoch ms), one already past included: it passes at once. */
  add(record: RunRecord, at: number): void {
    const deadline = new RunDeadline(at, record);
    record.runDeadline = deadline;
    this.heap.add(deadline);
  }

  /** Takes a run's deadline out (its run ended or left); nothing when it is out already. */
  remove(deadline: RunDeadline): void {
    this.heap.remove(deadline);
  }

  /** Holds `at` (epoch ms) as parked `record`'s earliest wait deadline, replacing one it held. */
  addWait(record: RunRecord, at: number): void {
    this.removeWait(record);
    const deadline = new WaitDeadline(at, record);
    record.waitDeadline = deadline;
    this.heap.add(deadline);
  }

  /** Takes `record`'s wait deadline out (it resumed, ended or left); nothing when it holds none. */
  removeWait(record: RunRecord): void {
    const deadline = record.waitDeadline;
    if (deadline === undefined) return;
    record.waitDeadline = undefined;
    this.heap.remove(deadline);
  }

  /** Clears the timer when no deadline is left (a workflow deregistered): nothing keeps it armed. */
  idle(): void {
    this.heap.idle();
  }

  /** Forgets every deadline and clears the timer (the runtime stops: its runs end otherwise). */
  clear(): void {
    this.heap.clear();
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
