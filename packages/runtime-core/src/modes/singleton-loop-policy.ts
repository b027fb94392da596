import type { DispatchRequest, ExecutionPolicy, PolicyDecision, PolicyHost } from "./execution-policy.js";

/**
 * `singleton_loop`: at most one active run (running or paused). A request while busy is dropped,
 * signalled into the active run's state, or replaces it (the active run is aborted).
 */
export class SingletonLoopPolicy implements ExecutionPolicy {
  private active: string | undefined;
  private closed = false;

  constructor(
    private readonly host: PolicyHost,
    private readonly onBusy: "drop" | "signal" | "replace",
  ) {}

  accept(request: DispatchRequest): PolicyDecision {
    if (this.closed) return { outcome: "dropped", reason: "the workflow is being deregistered" };
    const active = this.active;
    if (active === undefined) return { outcome: "started", runId: this.start(request) };
    switch (this.onBusy) {
      case "drop":
        return { outcome: "dropped", reason: `run ${active} is active` };
      case "signal":
        this.host.signalRun(active, request);
        return { outcome: "signalled", runId: active };
      case "replace": {
        this.active = undefined;
        this.host.abortRun(active);
        return { outcome: "replaced", runId: this.start(request), replacedRunId: active };
      }
    }
  }

  runPaused(): void {}

  runEnded(runId: string): void {
    if (this.active === runId) this.active = undefined;
  }

  forget(): void {}

  close(): string[] {
    this.closed = true;
    return [];
  }

  private start(request: DispatchRequest): string {
    const runId = this.host.createRun(request);
    this.active = runId;
    this.host.launchRun(runId);
    return runId;
  }
}
