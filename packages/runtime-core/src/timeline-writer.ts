import { SystemError } from "@sluice/errors";
import type { TimelineEvent, TimelineStore } from "@sluice/timeline";

/** Options of {@link TimelineWriter}. */
export interface TimelineWriterOptions {
  maxBatch?: number;
  flushIntervalMs?: number;
  maxBuffered?: number;
  closeTimeoutMs?: number;
  onError: (error: SystemError) => void;
}

/**
 * Buffers timeline events and appends them in batches, one append in flight at a time, so runs
 * never wait on storage. A failing store loses only the affected events (reported); a slow or
 * hung store makes batches larger, and past `maxBuffered` the oldest buffered events are dropped
 * (reported) rather than growing memory without bound.
 */
export class TimelineWriter {
  private buffer: TimelineEvent[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inFlight: Promise<void> | undefined;
  private closed = false;
  private readonly maxBatch: number;
  private readonly flushIntervalMs: number;
  private readonly maxBuffered: number;

  constructor(
    private readonly store: TimelineStore,
    private readonly options: TimelineWriterOptions,
  ) {
    this.maxBatch = options.maxBatch ?? 256;
    this.flushIntervalMs = options.flushIntervalMs ?? 25;
    this.maxBuffered = options.maxBuffered ?? 100_000;
  }

  /** Queues one event. Never throws, never waits. */
  write(event: TimelineEvent): void {
    if (this.closed) return;
    const buffer = this.buffer;
    buffer.push(event);
    if (buffer.length > this.maxBuffered) {
      const dropped = buffer.splice(0, buffer.length - this.maxBuffered);
      this.options.onError(
        new SystemError(
          "STORAGE_FAILED",
          `timeline store is not keeping up: dropped ${dropped.length} buffered events (maxBuffered ${this.maxBuffered})`,
          { details: { dropped: dropped.length } },
        ),
      );
    }
    if (this.inFlight === undefined) {
      if (buffer.length >= this.maxBatch) this.startAppend();
      else if (this.timer === undefined) this.schedule();
    }
  }

  /** Resolves when everything written so far has been handed to the store (or reported lost). */
  async flush(): Promise<void> {
    while (this.inFlight !== undefined || this.buffer.length > 0) {
      if (this.inFlight === undefined) this.startAppend();
      await this.inFlight;
    }
  }

  /** Flushes and stops accepting events. Does not close the store: the host owns it. */
  async close(timeoutMs = this.options.closeTimeoutMs ?? 5000): Promise<void> {
    let timeout: ReturnType<typeof setTimeout> | undefined;
    const gaveUp = new Promise<"timeout">((resolve) => {
      timeout = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const outcome = await Promise.race([this.flush().then(() => "done" as const), gaveUp]);
    clearTimeout(timeout);
    this.closed = true;
    this.clearTimer();
    if (outcome === "timeout") {
      this.options.onError(
        new SystemError("TIMEOUT", `timeline store did not finish writing within ${timeoutMs} ms of stop()`, {
          details: { pending: this.buffer.length },
        }),
      );
      this.buffer = [];
    }
  }

  /** Number of events waiting to be appended. */
  get pending(): number {
    return this.buffer.length;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.inFlight === undefined && this.buffer.length > 0) this.startAppend();
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
    const batch = this.buffer;
    this.buffer = [];
    this.inFlight = this.appendIsolating(batch).finally(() => {
      this.inFlight = undefined;
      if (this.buffer.length > 0 && !this.closed) {
        if (this.buffer.length >= this.maxBatch) this.startAppend();
        else this.schedule();
      }
    });
  }

  // A batch rejected as malformed is split so one run's bad event (say, unserialisable log data)
  // does not lose other runs' events; any other failure loses only this batch.
  private async appendIsolating(batch: TimelineEvent[]): Promise<void> {
    try {
      await this.store.append(batch);
    } catch (error) {
      if (SystemError.is(error, "INVALID_INPUT") && batch.length > 1) {
        const mid = batch.length >> 1;
        await this.appendIsolating(batch.slice(0, mid));
        await this.appendIsolating(batch.slice(mid));
        return;
      }
      const reason = error instanceof Error ? error.message : String(error);
      this.options.onError(
        new SystemError(
          "STORAGE_FAILED",
          `timeline append of ${batch.length} events failed, they are lost: ${reason}`,
          {
            cause: error,
            details: { lost: batch.length },
          },
        ),
      );
    }
  }
}
