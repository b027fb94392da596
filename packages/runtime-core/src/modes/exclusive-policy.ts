import type { DispatchRequest, ExecutionPolicy, PolicyDecision, PolicyHost } from "./execution-policy.js";
import { PendingRun } from "./pending-run.js";

/**
 * `exclusive`: at most one active run (running or paused). A request while busy is rejected, or
 * (`queue_single`) kept as the one pending request: a newer one replaces it (latest wins) and the
 * older is reported dropped.
 */
export class ExclusivePolicy implements ExecutionPolicy {
  private active: string | undefined;
  private readonly pending: PendingRun;
  private closed = false;

  constructor(
    private readonly host: PolicyHost,
    private readonly onBusy: "reject" | "queue_single",
  ) {
    this.pending = new PendingRun(host);
  }

  accept(request: DispatchRequest): PolicyDecision {
    if (this.closed) return { outcome: "dropped", reason: "the workflow is being deregistered" };
    if (this.active === undefined) {
      const runId = this.host.createRun(request);
      this.active = runId;
      this.host.launchRun(runId);
      return { outcome: "started", runId };
    }
    if (this.onBusy === "reject") return { outcome: "rejected", reason: `run ${this.active} is active` };
    return { outcome: "queued", runId: this.pending.queue(request) };
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
}
