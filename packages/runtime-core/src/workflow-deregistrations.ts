import { SystemError } from "@sluice/errors";
import type { IdMap } from "@sluice/id-map";
import type { BusSubscriptions } from "./bus-subscriptions.js";
import type { HookCalls } from "./hook-calls.js";
import { cleanupsTimedOut } from "./hook-time-limit.js";
import type { RunDeadlines } from "./run-deadlines.js";
import type { RunEnding } from "./run-ending.js";
import type { RunRecord } from "./run-record.js";
import type { TriggerDispatch } from "./trigger-dispatch.js";
import type { TriggerIndex } from "./trigger-index.js";
import type { RunResult } from "./types.js";
import type { WorkflowRecord } from "./workflow-record.js";

/** A deregistration under way: when every run it aborted has a decided result, and when it is over. */
interface Deregistration {
  readonly decided: Promise<void>;
  readonly done: Promise<boolean>;
  /** When runs were already in their last hooks: resolves once the services, disposed after them, are. */
  readonly disposedLater: Promise<void> | undefined;
}

/** What `stop()` waits for, once every workflow is being deregistered (see `deregisterAll`). */
export interface StopDeregistrations {
  /** Resolves once every run the deregistrations aborted, `stop()`'s and earlier ones, has a decided result. */
  readonly decided: Promise<void>;
  /** Each deregistration `stop()` made: resolves once its runs have finished. */
  readonly removals: Promise<boolean>[];
  /**
   * What ends on its own, later (runs in their last hooks, services disposed after them): the
   * global services are disposed after it.
   */
  readonly later: Promise<unknown>[];
}

/**
 * Workflows being deregistered: unhooked at once, their queued runs dropped and the others
 * aborted, their services disposed once their runs are over. A deregistration stays recorded until
 * then, so `stop()` (and a second `deregister()`) find what is still under way.
 */
export class WorkflowDeregistrations {
  /** Deregistrations still under way, by workflow id. */
  private readonly underWay = new Map<string, Deregistration>();

  constructor(
    /** The registered workflows, by id: a deregistered one leaves at once. */
    private readonly workflows: Map<string, WorkflowRecord>,
    /** The unfinished runs, by id. */
    private readonly runs: IdMap<RunRecord>,
    /** Runs past bookkeeping, in their last cleanups. */
    private readonly endingRuns: IdMap<RunRecord>,
    private readonly triggers: TriggerIndex,
    private readonly subscriptions: BusSubscriptions,
    private readonly ending: RunEnding,
    private readonly hookCalls: HookCalls,
    /** The runs' deadlines, whose timer a deregistration that leaves none clears. */
    private readonly deadlines: RunDeadlines,
    /** The bus events' way to runs, which holds the events of triggers with `debounce`. */
    private readonly dispatch: TriggerDispatch,
  ) {}

  /** See `WorkflowRuntime.deregister`. */
  deregister(workflowId: string): Promise<boolean> {
    const wf = this.workflows.get(workflowId);
    if (wf === undefined) {
      const earlier = this.underWay.get(workflowId);
      return earlier === undefined ? Promise.resolve(false) : earlier.decided.then(() => true);
    }
    const { deregistration, endRuns } = this.removeWorkflow(wf);
    // An earlier registration under this id may still be under way (registered again since): the
    // entry covers both, so stop() waits for the runs of each.
    const earlier = this.underWay.get(workflowId);
    const tracked: Deregistration =
      earlier === undefined
        ? deregistration
        : {
            decided: Promise.all([earlier.decided, deregistration.decided]).then(() => undefined),
            done: Promise.all([earlier.done, deregistration.done]).then(() => true),
            disposedLater:
              earlier.disposedLater === undefined
                ? deregistration.disposedLater
                : Promise.all([earlier.disposedLater, deregistration.disposedLater]).then(() => undefined),
          };
    this.underWay.set(workflowId, tracked);
    const forget = (): void => {
      if (this.underWay.get(workflowId) === tracked) this.underWay.delete(workflowId);
    };
    // kept until services disposed after runs' last hooks are too, so stop() waits for them
    Promise.all([tracked.done, tracked.disposedLater]).then(forget, forget);
    // Only now, with the deregistration where stop() finds it: dropping and aborting runs calls
    // host code (onDispatch, a parked run's onComplete) that may call stop().
    endRuns();
    if (tracked !== deregistration || deregistration.disposedLater !== undefined) return deregistration.done;
    // Nothing else to wait for once it is done: forget it before the caller hears, so that a
    // deregister() made right after this one resolved answers `false` (no such workflow), not `true`.
    return deregistration.done.then((removed) => {
      forget();
      return removed;
    });
  }

  /**
   * Unhooks the workflow and says when its runs will be over (the deregistration); `endRuns` then
   * drops its queued runs and aborts the others.
   */
  private removeWorkflow(wf: WorkflowRecord): { deregistration: Deregistration; endRuns: () => void } {
    this.workflows.delete(wf.id);
    wf.deregistered = true;
    this.triggers.remove(wf);
    // in order: queued run ids to drop, and records to abort
    const ending: Array<string | RunRecord> = wf.policy.close();
    const deciding: Promise<void>[] = [];
    const finishing: Promise<RunResult>[] = [];
    const wrappingUp: Promise<RunResult>[] = [];
    for (const record of this.runs.values()) {
      if (record.workflow !== wf) continue;
      if (record.status === "queued") {
        ending.push(record.runId);
        continue;
      }
      if (record.finished) {
        wrappingUp.push(record.whenFinished());
        continue;
      }
      deciding.push(record.whenDecided());
      finishing.push(record.whenFinished());
      ending.push(record);
    }
    for (const record of this.endingRuns.values())
      if (record.workflow === wf) wrappingUp.push(record.whenFinished());
    const done = this.completeRemoval(wf, finishing, wrappingUp.length === 0);
    const deregistration: Deregistration = {
      decided: Promise.all(deciding).then(() => undefined),
      done,
      // runs in their last hooks are not waited for (one may be the caller): the services go after them
      disposedLater:
        wrappingUp.length === 0
          ? undefined
          : Promise.all([done, ...wrappingUp]).then(() => this.disposeWorkflowScope(wf)),
    };
    const endRuns = (): void => {
      for (const run of ending) {
        if (typeof run === "string")
          this.ending.cancelQueuedRun(wf, run, "the workflow was deregistered", true);
        else this.ending.abortRun(run, "the workflow was deregistered");
      }
      // events held by a debounce came after the runs were made (or never started any)
      this.dispatch.dropHeld(wf, "the workflow was deregistered");
    };
    return { deregistration, endRuns };
  }

  private async completeRemoval(
    wf: WorkflowRecord,
    finishing: Promise<RunResult>[],
    disposeNow: boolean,
  ): Promise<boolean> {
    await Promise.all(finishing);
    // the workflow's runs left their wait subscriptions idle: a deregistered workflow leaves none
    this.subscriptions.dropIdle();
    wf.pauseWindow.clear();
    // its runs have left the deadlines: a timer armed for one of them goes, if no other run has one
    this.deadlines.idle();
    if (disposeNow) await this.disposeWorkflowScope(wf);
    return true;
  }

  /** Disposes the workflow's scoped services, waiting for their cleanups at most its `hookTimeoutMs`. */
  disposeWorkflowScope(wf: WorkflowRecord): Promise<void> {
    return this.hookCalls.dispose(
      wf.scope,
      wf.hookTimeoutMs,
      (error) => SystemError.from(error, "FACTORY_FAILED", `disposing workflow "${wf.id}" services failed`),
      () => cleanupsTimedOut(wf.id, wf.hookTimeoutMs),
    );
  }

  /**
   * Deregisters every workflow, for `stop()`, and says what to wait for. Runs already in their last
   * hooks (`stop()` may be awaited from one) end on their own, and teardown goes on after them.
   */
  deregisterAll(): StopDeregistrations {
    const later: Promise<unknown>[] = [];
    for (const record of this.runs.values()) if (record.finished) later.push(record.whenFinished());
    for (const record of this.endingRuns.values()) later.push(record.whenFinished());
    const earlier = [...this.underWay.values()];
    for (const deregistration of earlier) later.push(deregistration.done);
    const ours: Deregistration[] = [];
    for (const id of [...this.workflows.keys()]) {
      void this.deregister(id);
      ours.push(this.underWay.get(id)!);
    }
    // services disposed after runs that were in their last hooks: the global ones go after them
    for (const deregistration of [...earlier, ...ours])
      if (deregistration.disposedLater !== undefined) later.push(deregistration.disposedLater);
    const decided = [...earlier, ...ours].map((deregistration) => deregistration.decided);
    return {
      decided: Promise.all(decided).then(() => undefined),
      removals: ours.map((deregistration) => deregistration.done),
      later,
    };
  }
}
