import { IdMap } from "@sluice/id-map";
import type { DispatchRequest, ExecutionPolicy, PolicyDecision, PolicyHost } from "./execution-policy.js";
import { KeyLine, type QueuedRun, ReadyLines } from "./ready-lines.js";
import { waitingQueue } from "./waiting-queue.js";

/**
 * `transient` and `serialized` with a concurrency `key`: at most `keyConcurrency` runs of one key
 * execute at once, within `concurrency` for all keys; later requests wait up to `capacity` (all
 * keys together), beyond that they are dropped. When a slot frees, the run that has waited longest
 * (with the mode's `priority`: of highest priority, then longest waiting) among those whose key has
 * room starts, so one busy key never holds back another's runs, and a key's own runs start in that
 * order too. A run that pauses gives both its slots back, as in {@link SlotQueuePolicy}, and takes
 * them again when it resumes, or waits for them ahead of every queued run.
 *
 * Each key has a line (its slot count and its queue); a line whose first run could start but for
 * the overall limit is offered, by that run's priority and arrival number, to {@link ReadyLines},
 * which gives the first of them when a slot frees. So a freed slot costs a heap operation, whatever waits behind a
 * busy key.
 */
export class KeyedSlotQueuePolicy implements ExecutionPolicy {
  /** The line of each run holding a slot. */
  private readonly running = new IdMap<KeyLine>();
  /** Each queued run, with its line (for `forget`). */
  private readonly queuedIn = new IdMap<QueuedRun>();
  /** Each resumed run waiting for its slots, with its line (for `runEnded`). */
  private readonly resumingIn = new IdMap<QueuedRun>();
  private readonly lines = new Map<string, KeyLine>();
  private readonly ready = new ReadyLines();
  private arrivals = 0;
  private closed = false;

  constructor(
    private readonly host: PolicyHost,
    private readonly concurrency: number,
    private readonly keyConcurrency: number,
    private readonly capacity: number,
    /** Whether queued runs start by their request's `priority` rather than in arrival order. */
    private readonly prioritised: boolean,
  ) {}

  accept(request: DispatchRequest): PolicyDecision {
    if (this.closed) return { outcome: "dropped", reason: "the workflow is being deregistered" };
    const key = request.concurrencyKey!;
    let line = this.lines.get(key);
    // A key's queued runs come first; while some wait and the overall limit has room they can only
    // be waiting for their key's slots, so a line with runs queued never starts one directly.
    if (
      this.running.size < this.concurrency &&
      (line === undefined || (line.queue.length === 0 && line.active < this.keyConcurrency))
    ) {
      line ??= this.newLine(key);
      const runId = this.host.createRun(request);
      line.active++;
      this.running.set(runId, line);
      this.host.launchRun(runId);
      return { outcome: "started", runId };
    }
    if (this.queuedIn.size < this.capacity) {
      line ??= this.newLine(key);
      const runId = this.host.createRun(request);
      const queued: QueuedRun = {
        runId,
        arrival: this.arrivals++,
        priority: request.priority,
        line,
        offered: false,
        granted: undefined,
      };
      line.queue.push(queued, queued.priority);
      this.queuedIn.set(runId, queued);
      this.offer(line);
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

  runResuming(runId: string, key: string | undefined, granted: () => void): boolean {
    // (after close() the workflow's runs are being aborted: one resuming goes on to its abort)
    if (this.closed || this.running.has(runId)) return true;
    // A run whose key is not known (adopted from a checkpoint written without it) is a line of its
    // own, never listed: it needs only an overall slot.
    let line = key === undefined ? new KeyLine("", waitingQueue(false)) : this.lines.get(key);
    // (while the overall limit has room, a line with runs waiting has no room of its own: they
    // would have started, so a resumed run never passes a run that waits for the same slots)
    if (this.running.size < this.concurrency && (line === undefined || line.active < this.keyConcurrency)) {
      line ??= this.newLine(key!);
      line.active++;
      this.running.set(runId, line);
      return true;
    }
    line ??= this.newLine(key!);
    const resumed: QueuedRun = {
      runId,
      arrival: this.arrivals++,
      priority: Number.POSITIVE_INFINITY,
      line,
      offered: false,
      granted,
    };
    line.resuming.push(resumed);
    this.resumingIn.set(runId, resumed);
    this.offer(line);
    return false;
  }

  runEnded(runId: string): void {
    const resumed = this.resumingIn.take(runId);
    if (resumed === undefined) {
      this.release(runId);
      return;
    }
    const line = resumed.line;
    line.resuming.remove(resumed);
    this.offer(line);
    this.dropIfIdle(line);
    this.pruneStale();
  }

  forget(runId: string): void {
    const queued = this.queuedIn.take(runId);
    if (queued === undefined) return;
    const line = queued.line;
    line.queue.remove(queued);
    // its first run may have been the one forgotten: the next is offered in its place
    this.offer(line);
    this.dropIfIdle(line);
    this.pruneStale();
  }

  /**
   * A forgotten first run (or a resumed one that ended waiting) leaves a stale entry, taken out only
   * as slots free: while none does (a long run holding the last slot) they would pile up. Live
   * entries, one a line, are at most the waiting runs, so pruning past twice that bounds the heap by
   * them, and each prune (O(n log n)) comes after at least n such leavings.
   */
  private pruneStale(): void {
    if (this.ready.size > 2 * (this.queuedIn.size + this.resumingIn.size) + 32) this.ready.prune();
  }

  close(): string[] {
    this.closed = true;
    const queued: QueuedRun[] = [];
    for (const line of this.lines.values()) queued.push(...line.queue.takeAll());
    this.lines.clear();
    this.queuedIn.clear();
    this.ready.clear();
    return queued.sort((a, b) => a.arrival - b.arrival).map((queued) => queued.runId);
  }

  private release(runId: string): void {
    const line = this.running.take(runId);
    if (line === undefined) return;
    line.active--;
    this.offer(line);
    while (!this.closed && this.running.size < this.concurrency) {
      const next = this.ready.takeEarliest(this.keyConcurrency);
      if (next === undefined) break;
      const first = next.takeFirst()!;
      next.active++;
      this.running.set(first.runId, next);
      this.offer(next);
      if (first.granted !== undefined) {
        this.resumingIn.delete(first.runId);
        first.granted();
      } else {
        this.queuedIn.delete(first.runId);
        this.host.launchRun(first.runId);
      }
    }
    this.dropIfIdle(line);
  }

  /** A line for `key`, which has none: made only for a run that starts or waits (a dropped event makes none). */
  private newLine(key: string): KeyLine {
    const line = new KeyLine(key, waitingQueue(this.prioritised));
    this.lines.set(key, line);
    return line;
  }

  /** Offers `line`'s first queued run, if its key has a free slot. */
  private offer(line: KeyLine): void {
    if (line.active < this.keyConcurrency) this.ready.offer(line);
  }

  /** Forgets a key with no run holding a slot or waiting: the lines kept are the keys in use. */
  private dropIfIdle(line: KeyLine): void {
    if (line.idle && this.lines.get(line.key) === line) this.lines.delete(line.key);
  }
}
