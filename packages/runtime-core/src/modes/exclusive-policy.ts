import type { DispatchRequest, ExecutionPolicy, PolicyDecision, PolicyHost } from "./execution-policy.js";

/**
 * `exclusive`: at most one active run (running or paused). A request while busy is rejected, or
 * (`queue_single`) kept as the one pending request: a newer one replaces it (latest wins) and the
 * older is reported dropped.
 */
export class ExclusivePolicy implements ExecutionPolicy {
  private active: string | undefined;
  private pending: string | undefined;
  private closed = false;

  constructor(
    private readonly host: PolicyHost,
    private readonly onBusy: "reject" | "queue_single",
  ) {}

  accept(request: DispatchRequest): PolicyDecision {
    if (this.closed) return { outcome: "dropped", reason: "the workflow is being deregistered" };
    if (this.active === undefined) {
      const runId = this.host.createRun(request);
      this.active = runId;
      this.host.launchRun(runId);
      return { outcome: "started", runId };
    }
    if (this.onBusy === "reject") return { outcome: "rejected", reason: `run ${this.active} is active` };
    const superseded = this.pending;
    const runId = this.host.createRun(request);
    this.pending = runId;
    if (superseded !== undefined) this.host.cancelQueuedRun(superseded, `superseded by run ${runId}`);
    return { outcome: "queued", runId };
  }

  runPaused(): void {}

  runEnded(runId: string): void {
    if (this.active !== runId) return;
    this.active = this.pending;
    this.pending = undefined;
    if (this.active !== undefined && !this.closed) this.host.launchRun(this.active);
  }

  forget(runId: string): void {
    if (this.pending === runId) this.pending = undefined;
  }

  close(): string[] {
    this.closed = true;
    const rest = this.pending === undefined ? [] : [this.pending];
    this.pending = undefined;
    return rest;
  }
}
