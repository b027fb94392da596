import type { DispatchRequest, PolicyHost } from "./execution-policy.js";

/**
 * The one run a mode keeps waiting for its slot (`exclusive` `queue_single`, and `singleton_loop`
 * while its active run is in `onComplete`): a newer request supersedes it (latest wins) and the
 * older is reported dropped.
 */
export class PendingRun {
  private runId: string | undefined;

  constructor(private readonly host: PolicyHost) {}

  /** Creates the run for `request` as the pending one, superseding the one there was; returns its id. */
  queue(request: DispatchRequest): string {
    const superseded = this.runId;
    const runId = this.host.createRun(request);
    this.runId = runId;
    if (superseded !== undefined) this.host.cancelQueuedRun(superseded, `superseded by run ${runId}`);
    return runId;
  }

  /** Hands over the pending run's id (it is no longer pending), if there is one. */
  take(): string | undefined {
    const runId = this.runId;
    this.runId = undefined;
    return runId;
  }

  /** Forgets `runId` if it is the pending run (the host aborted it before it started). */
  forget(runId: string): void {
    if (this.runId === runId) this.runId = undefined;
  }
}
