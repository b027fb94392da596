import type { DispatchRequest, ExecutionPolicy, PolicyDecision, PolicyHost } from "./execution-policy.js";
import { PendingRun } from "./pending-run.js";

/**
 * `singleton_loop`: at most one active run (running or paused). A request while busy is dropped,
 * signalled into the active run's state, or replaces it (the active run is aborted).
 *
 * A run whose result is decided (its pipeline has ended: in its `onComplete` or about to be; the slot is released before `onCleanup`) still holds the slot, but
 * takes no signal and has nothing left to replace: a request then, whatever `onBusy` says, waits
 * as the one pending run and starts when the slot frees (a newer request supersedes it). So a
 * loop that emits its next event from `onComplete` keeps going instead of losing the event.
 */
export class SingletonLoopPolicy implements ExecutionPolicy {
  private active: string | undefined;
  private readonly pending: PendingRun;
  private closed = false;

  constructor(
    private readonly host: PolicyHost,
    private readonly onBusy: "drop" | "signal" | "replace",
  ) {
    this.pending = new PendingRun(host);
  }

  accept(request: DispatchRequest): PolicyDecision {
    if (this.closed) return { outcome: "dropped", reason: "the workflow is being deregistered" };
    const active = this.active;
    if (active === undefined) return { outcome: "started", runId: this.start(request) };
    if (this.host.isDecided(active)) return { outcome: "queued", runId: this.pending.queue(request) };
    switch (this.onBusy) {
      case "drop":
        return { outcome: "dropped", reason: `run ${active} is active` };
      case "signal": {
        const refused = this.host.signalRun(active, request);
        return refused === undefined
          ? { outcome: "signalled", runId: active }
          : { outcome: "rejected", reason: refused };
      }
      case "replace": {
        // The replacement is the active run before the old one is aborted: aborting a paused run
        // runs its onComplete at once, and an event it emits must find the slot taken. (With an
        // onDispatch, the abort and the launch wait until it has heard "replaced".)
        const runId = this.host.createRun(request);
        this.active = runId;
        this.host.abortRun(active);
        this.host.launchRun(runId);
        return { outcome: "replaced", runId, replacedRunId: active };
      }
    }
  }

  adoptPaused(runId: string): string | undefined {
    if (this.closed) return "the workflow is being deregistered";
    if (this.active !== undefined) return `run ${this.active} is active`;
    this.active = runId;
    return undefined;
  }

  runPaused(): void {}

  /** A paused run holds its slot here: it goes on in it. */
  runResuming(): boolean {
    return true;
  }

  runEnded(runId: string): void {
    if (this.active !== runId) return;
    this.active = this.pending.take();
    if (this.active !== undefined && !this.closed) this.host.launchRun(this.active);
  }

  forget(runId: string): void {
    this.pending.forget(runId);
  }

  close(): string[] {
    this.closed = true;
    const rest = this.pending.take();
    return rest === undefined ? [] : [rest];
  }

  private start(request: DispatchRequest): string {
    const runId = this.host.createRun(request);
    this.active = runId;
    this.host.launchRun(runId);
    return runId;
  }
}
