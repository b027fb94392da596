import { IdMap } from "@sluice/id-map";
import type { DispatchRequest, ExecutionPolicy, PolicyDecision, PolicyHost } from "./execution-policy.js";
import { FifoQueue } from "./fifo-queue.js";
import { type WaitingQueue, waitingQueue } from "./waiting-queue.js";

/**
 * `transient` (concurrency N) and `serialized` (concurrency 1): up to N runs execute at once,
 * later requests wait up to `capacity`, in arrival order (or by the mode's `priority`), beyond
 * that they are dropped. A run that
 * pauses gives its slot back: a paused run waits on the outside world, not on this queue. When it
 * resumes it takes a slot again before its next stage, or waits for one ahead of the queued runs
 * (work in progress first), whatever the capacity.
 */
export class SlotQueuePolicy implements ExecutionPolicy {
  /** Runs holding a slot (an IdMap: a `Set` with a run in and out per run is slow, see IdMap). */
  private readonly slots = new IdMap<true>();
  private readonly queue: WaitingQueue<string>;
  /** Resumed runs waiting for a slot, in the order they resumed, each with what to call once it has one. */
  private readonly resuming = new FifoQueue<string>();
  private readonly granters = new IdMap<() => void>();
  private closed = false;

  constructor(
    private readonly host: PolicyHost,
    private readonly concurrency: number,
    private readonly capacity: number,
    /** Whether queued runs start by their request's `priority` rather than in arrival order. */
    prioritised: boolean,
  ) {
    this.queue = waitingQueue(prioritised);
  }

  accept(request: DispatchRequest): PolicyDecision {
    if (this.closed) return { outcome: "dropped", reason: "the workflow is being deregistered" };
    if (this.slots.size < this.concurrency) {
      const runId = this.host.createRun(request);
      this.slots.set(runId, true);
      this.host.launchRun(runId);
      return { outcome: "started", runId };
    }
    if (this.queue.length < this.capacity) {
      const runId = this.host.createRun(request);
      this.queue.push(runId, request.priority);
      return { outcome: "queued", runId };
    }
    return { outcome: "dropped", reason: `queue is at capacity (${this.capacity})` };
  }

  /** A paused run holds no slot here: it waits on the outside world, not on this queue. */
  adoptPaused(): string | undefined {
    return undefined;
  }

  runPaused(runId: string): void {
    this.release(runId);
  }

  runResuming(runId: string, _key: string | undefined, granted: () => void): boolean {
    // (after close() the workflow's runs are being aborted: one resuming goes on to its abort)
    if (this.closed || this.slots.has(runId)) return true;
    if (this.slots.size < this.concurrency) {
      this.slots.set(runId, true);
      return true;
    }
    this.resuming.push(runId);
    this.granters.set(runId, granted);
    return false;
  }

  runEnded(runId: string): void {
    if (this.granters.take(runId) !== undefined) this.resuming.remove(runId);
    else this.release(runId);
  }

  forget(runId: string): void {
    // A run still "queued" to the runtime may hold a slot already (launched once onDispatch has
    // heard), and after close() the queue has been emptied: only a run waiting here leaves it.
    if (this.closed || this.slots.has(runId)) return;
    this.queue.remove(runId);
  }

  close(): string[] {
    this.closed = true;
    return this.queue.takeAll();
  }

  private release(runId: string): void {
    if (!this.slots.delete(runId)) return;
    while (!this.closed && this.slots.size < this.concurrency) {
      const resumed = this.resuming.shift();
      if (resumed !== undefined) {
        this.slots.set(resumed, true);
        this.granters.take(resumed)!();
        continue;
      }
      const next = this.queue.shift();
      if (next === undefined) return;
      this.slots.set(next, true);
      this.host.launchRun(next);
    }
  }
}
