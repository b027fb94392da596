import { describeThrown, describeValue, SystemError } from "@sluice/errors";
import { MAX_CHECKPOINT_SEQ } from "@sluice/pipeline";
import {
  appendTimelineBatch,
  compareTimelineEvents,
  MAX_QUERY_LIMIT,
  TimelineBatch,
  type TimelineEvent,
  TimelineEventType,
  type TimelineLevel,
  type TimelineStore,
} from "@sluice/timeline";
import { affectedRuns, affectedRunsInFlightAndBuffered } from "./affected-runs.js";

/** The event types that end a run (after one, only a step that ignored its abort may still log). */
const RUN_ENDS: ReadonlySet<string> = new Set([
  TimelineEventType.RunCompleted,
  TimelineEventType.RunFailed,
  TimelineEventType.RunAborted,
]);

/** What a timeline store holds of one run (`TimelineWriter.storedRun`). */
export interface StoredRun {
  /** The highest `seq` among its events; 0 when there are none. */
  lastSeq: number;
  /** The latest `at` among its events (`-Infinity` when there are none). */
  lastAt: number;
  /** Its `run.completed`, `run.failed` or `run.aborted` event, when it has ended. */
  end?: { type: string; seq: number };
}

/** A timeline store's answer to a query that cannot be right. */
function malformedAnswer(problem: string): SystemError {
  return new SystemError("STORAGE_FAILED", `the timeline store answered wrongly: ${problem}`);
}

/** Options of {@link TimelineWriter}. */
export interface TimelineWriterOptions {
  maxBatch?: number | undefined;
  flushIntervalMs?: number | undefined;
  maxBuffered?: number | undefined;
  closeTimeoutMs?: number | undefined;
  onError: (error: SystemError) => void;
}

/**
 * Buffers timeline events and appends them in batches, one append in flight at a time, so runs
 * never wait on storage. Events are buffered in columns (a {@link TimelineBatch}, ids derived as
 * `runId:seq`), not as an object each, and reach a store with `appendBatch` that way. A failing
 * store loses only the affected events (reported); a slow or hung store makes batches larger, and
 * past `maxBuffered` the oldest events are dropped down to nine tenths of it (reported) rather than
 * growing memory without bound.
 */
export class TimelineWriter {
  private batch: TimelineBatch;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inFlight: Promise<void> | undefined;
  private closed = false;
  private readonly maxBatch: number;
  private readonly flushIntervalMs: number;
  private readonly maxBuffered: number;
  private nextCapacity = 16;
  /** The batch of the append in flight (handed to the store, not settled). */
  private inFlightBatch: TimelineBatch | undefined;
  /** How many events it had when handed over (the store may break the batch since). */
  private inFlightEvents = 0;
  private spare: TimelineBatch | undefined;
  /** Whether a store breaking a lent batch has been reported (see `recycle`): once is enough. */
  private brokenBatchReported = false;

  constructor(
    private readonly store: TimelineStore,
    private readonly options: TimelineWriterOptions,
  ) {
    this.maxBatch = options.maxBatch ?? 256;
    this.flushIntervalMs = options.flushIntervalMs ?? 25;
    this.maxBuffered = options.maxBuffered ?? 100_000;
    this.batch = this.newBatch();
  }

  /** Queues one event (its id is `runId:seq`). Never throws, never waits. */
  write(
    runId: string,
    workflowId: string,
    seq: number,
    at: number,
    source: string,
    type: string,
    stage: string | undefined,
    step: string | undefined,
    level: TimelineLevel | undefined,
    message: string | undefined,
    data: unknown,
  ): void {
    if (this.closed) return;
    const batch = this.batch;
    const held = batch.length;
    try {
      batch.add(undefined, runId, workflowId, seq, at, source, type, stage, step, level, message, data);
    } catch (error) {
      // A reused batch whose column the store froze or sealed (one `clear()` does not write to):
      // its events go on in a new batch, and this one is written again there. (Caught here rather
      // than checked at each reuse: twelve `Object.isExtensible` calls a batch cost more than a
      // plain run's whole timeline append.)
      this.batch = batch.slice(0, held);
      this.reportBrokenBatch(error);
      this.write(runId, workflowId, seq, at, source, type, stage, step, level, message, data);
      return;
    }
    if (batch.length > this.maxBuffered) {
      // drop a tenth at once, so a store that stays stuck costs one copy per tenth, not one per
      // event; the oldest, and never the event just written (a small maxBuffered's tenth is all)
      const dropped = Math.min(
        batch.length - this.maxBuffered + Math.ceil(this.maxBuffered / 10),
        batch.length - 1,
      );
      this.batch = batch.slice(dropped);
      this.options.onError(
        new SystemError(
          "STORAGE_FAILED",
          `timeline store is not keeping up: dropped ${dropped} buffered events (maxBuffered ${this.maxBuffered})`,
          { details: { dropped, ...affectedRuns(batch, 0, dropped) } },
        ),
      );
    }
    if (this.inFlight === undefined) {
      if (this.batch.length >= this.maxBatch) this.startAppend();
      else if (this.timer === undefined) this.schedule();
    }
  }

  /** Queues an event of the runtime's own (`source: "runtime"`), stamped `at` (see `RunRecord.stamp`). */
  writeRuntimeEvent(
    runId: string,
    workflowId: string,
    seq: number,
    at: number,
    type: string,
    message: string,
    data: unknown,
  ): void {
    this.write(runId, workflowId, seq, at, "runtime", type, undefined, undefined, undefined, message, data);
  }

  /** Resolves when everything written so far has been handed to the store (or reported lost). */
  async flush(): Promise<void> {
    while (this.inFlight !== undefined || this.batch.length > 0) {
      if (this.inFlight === undefined) this.startAppend();
      await this.inFlight;
    }
  }

  /**
   * What the store holds of run `runId` (`lastSeq` 0 when it holds nothing), once everything
   * written here so far has been handed to it. Rejects with what the store's `query` rejects with,
   * and with `STORAGE_FAILED` when its answer cannot be right: a page that does not advance (the
   * cursor it was asked with, no events yet a cursor, or a first event not after the previous
   * page's last: paging on would never end) or an event
   * whose `seq` is not an integer from 0 to 2^52 (a checkpoint's bound). Stops once
   * `isAbandoned()` (its caller gave up waiting), rather than paging on unseen.
   */
  async storedRun(runId: string, isAbandoned: () => boolean = () => false): Promise<StoredRun> {
    await this.flush();
    const stored: StoredRun = { lastSeq: 0, lastAt: Number.NEGATIVE_INFINITY };
    let next: string | undefined;
    let lastOfPage: TimelineEvent | undefined;
    do {
      const asked = next;
      const page = await this.store.query(
        asked === undefined
          ? { runId, limit: MAX_QUERY_LIMIT }
          : { runId, limit: MAX_QUERY_LIMIT, next: asked },
      );
      const events = page.events;
      for (const event of events) {
        const seq: unknown = event.seq;
        if (typeof seq !== "number" || !Number.isInteger(seq) || seq < 0 || seq > MAX_CHECKPOINT_SEQ) {
          throw malformedAnswer(`an event of run ${runId} has seq ${describeValue(seq)}`);
        }
        if (seq > stored.lastSeq) stored.lastSeq = seq;
        const at: unknown = event.at;
        if (typeof at === "number" && Number.isFinite(at) && at > stored.lastAt) stored.lastAt = at;
        if (RUN_ENDS.has(event.type)) stored.end = { type: event.type, seq };
      }
      next = page.next;
      if (next !== undefined && (next === asked || events.length === 0)) {
        throw malformedAnswer(
          `its query did not advance (cursor ${describeValue(next)} after ${events.length} events)`,
        );
      }
      // a page starts strictly after the one before (cursors that take turns, or new cursors for
      // the same events, would page for ever, and in microtasks when the store answers at once)
      if (
        lastOfPage !== undefined &&
        events.length > 0 &&
        compareTimelineEvents(lastOfPage, events[0]!) >= 0
      ) {
        throw malformedAnswer(
          `its query did not advance (the page after cursor ${describeValue(asked)} does not start after the last event of the page before)`,
        );
      }
      if (events.length > 0) lastOfPage = events[events.length - 1];
    } while (next !== undefined && !isAbandoned());
    return stored;
  }

  /** {@link flush}, giving up after `timeoutMs`: true when everything was handed over in time. */
  async flushWithin(timeoutMs = this.options.closeTimeoutMs ?? 5000): Promise<boolean> {
    let timeout: ReturnType<typeof setTimeout> | undefined;
    const gaveUp = new Promise<false>((resolve) => {
      timeout = setTimeout(() => resolve(false), timeoutMs);
    });
    const flushed = await Promise.race([this.flush().then(() => true as const), gaveUp]);
    clearTimeout(timeout);
    return flushed;
  }

  /** Flushes and stops accepting events. Does not close the store: the host owns it. */
  async close(timeoutMs = this.options.closeTimeoutMs ?? 5000): Promise<void> {
    const flushed = await this.flushWithin(timeoutMs);
    this.closed = true;
    this.clearTimer();
    if (!flushed) {
      const pending = this.batch.length;
      const lent = this.inFlightBatch;
      const inFlight = lent === undefined ? 0 : this.inFlightEvents;
      // the runs of the append in flight as well: it may be lost, and its events came first
      const affected =
        lent === undefined
          ? affectedRuns(this.batch)
          : affectedRunsInFlightAndBuffered(lent, inFlight, this.batch);
      this.options.onError(
        new SystemError(
          "TIMEOUT",
          `timeline store did not finish writing within ${timeoutMs} ms of stop(): ${pending} buffered events are dropped, and the store has not settled the append of ${inFlight} more (they are lost, or stored late, as the store decides)`,
          { details: { pending, inFlight, ...affected } },
        ),
      );
      this.batch = new TimelineBatch();
    }
  }

  // A batch whose append has settled is emptied and kept for the next one (a store keeps copies,
  // never the batch), so a steady stream of events reuses two sets of columns. A new batch is sized
  // like the one before (up to `maxBatch`): growing twelve columns three times on the way to
  // `maxBatch` was most of what the timeline allocated per event, and a quiet runtime's stay small.
  private newBatch(): TimelineBatch {
    const spare = this.spare;
    if (spare === undefined) return new TimelineBatch(this.nextCapacity);
    this.spare = undefined;
    return spare;
  }

  /**
   * Empties a batch whose append has settled and keeps it as the next one. A store that broke the
   * batch it was lent (froze it, or a column) makes emptying it throw, or, for a column emptying
   * does not write to, the refill in `write` (which then goes on in a new batch): such a batch is
   * left to the GC, for the writer must go on (a throw here would reject the append's promise,
   * which nothing may be awaiting: an unhandled rejection, ending a Node process), and the store's
   * bug is reported once.
   */
  private recycle(batch: TimelineBatch): void {
    try {
      batch.clear();
    } catch (error) {
      this.reportBrokenBatch(error);
      return;
    }
    this.spare = batch;
  }

  /** Reports, once, a store that changed the batch it was lent. */
  private reportBrokenBatch(error: unknown): void {
    if (this.brokenBatchReported) return;
    this.brokenBatchReported = true;
    this.options.onError(
      new SystemError(
        "STORAGE_FAILED",
        `the timeline store changed the batch it was lent, which could not be emptied and refilled (${describeThrown(error)}); nothing was lost, but the store must keep copies of what it reads, never the batch or its columns (TimelineStore.appendBatch)`,
        { cause: error },
      ),
    );
  }

  /** Number of events waiting to be appended. */
  get pending(): number {
    return this.batch.length;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.inFlight === undefined && this.batch.length > 0) this.startAppend();
    }, this.flushIntervalMs);
    // A pending flush must not keep a Node process alive on its own.
    (this.timer as { unref?: () => void }).unref?.();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private startAppend(): void {
    this.clearTimer();
    const batch = this.batch;
    this.inFlightBatch = batch;
    this.inFlightEvents = batch.length;
    this.nextCapacity = Math.max(16, Math.min(this.maxBatch, batch.length));
    this.batch = this.newBatch();
    this.inFlight = this.appendIsolating(batch).finally(() => {
      this.inFlight = undefined;
      this.inFlightBatch = undefined;
      // one that grew past maxBatch behind a slow store is left to the GC, not kept at that size
      if (batch.length <= this.maxBatch) this.recycle(batch);
      if (this.batch.length > 0 && !this.closed) {
        if (this.batch.length >= this.maxBatch) this.startAppend();
        else this.schedule();
      }
    });
  }

  // A batch rejected as malformed is split so one run's bad event (say, unserialisable log data)
  // does not lose other runs' events; any other failure loses only this batch.
  private async appendIsolating(batch: TimelineBatch): Promise<void> {
    try {
      await appendTimelineBatch(this.store, batch);
    } catch (error) {
      if (SystemError.is(error, "INVALID_INPUT") && batch.length > 1) {
        const mid = batch.length >> 1;
        await this.appendIsolating(batch.slice(0, mid));
        await this.appendIsolating(batch.slice(mid));
        return;
      }
      const reason = describeThrown(error);
      this.options.onError(
        new SystemError(
          "STORAGE_FAILED",
          `timeline append of ${batch.length} events failed, they are lost: ${reason}`,
          {
            cause: error,
            details: { lost: batch.length, ...affectedRuns(batch) },
          },
        ),
      );
    }
  }
}
