import { BATCH_KEY, payloadKey } from "./trigger-key.js";
import type { BatchPayload, TriggerBatch } from "./types.js";

/** The events of one key a trigger's `batch` is collecting, and when the batch goes on. */
export interface CollectingBatch {
  /** The batch's key (`undefined`: the trigger's `batch` has no `key`). */
  readonly key: string | undefined;
  /** The payloads collected, in arrival order. */
  readonly events: unknown[];
  /** When it goes on though not full (monotonic ms): `timeoutMs` after its first event. */
  readonly dueAt: number;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * A trigger's `batch`, kept for one registration: per key, the events collected since the key's
 * batch began, which go on as one batch once `maxSize` have come (at once, with the event that
 * fills it) or `timeoutMs` after the first (on a timer). One `setTimeout` per key with a batch
 * collecting: a collected event is work still to do, so the timer keeps a Node process alive, as
 * a debounce's does.
 */
export class BatchedEvents {
  private readonly batches = new Map<string, CollectingBatch>();

  constructor(
    readonly maxSize: number,
    readonly timeoutMs: number,
    /** Sends a batch on whose timeout has come (the trigger's dispatch, after its `batch`). */
    private readonly release: (payload: BatchPayload) => void,
  ) {}

  /**
   * Adds `payload` to `key`'s batch at `now` (monotonic ms), beginning one if none collects;
   * returns the batch when this event filled it (taken out, its timer cleared) for the caller to
   * send on, else `undefined`. `batchKey` is what the batch's payload says its key is.
   */
  add(key: string, batchKey: string | undefined, payload: unknown, now: number): CollectingBatch | undefined {
    let batch = this.batches.get(key);
    if (batch === undefined) {
      const begun: CollectingBatch = {
        key: batchKey,
        events: [],
        dueAt: now + this.timeoutMs,
        timer: undefined as unknown as ReturnType<typeof setTimeout>,
      };
      begun.timer = setTimeout(() => this.releaseDue(key, begun), this.timeoutMs);
      this.batches.set(key, begun);
      batch = begun;
    }
    batch.events.push(payload);
    if (batch.events.length < this.maxSize) return undefined;
    clearTimeout(batch.timer);
    this.batches.delete(key);
    return batch;
  }

  /**
   * Takes out `key`'s batch if its timeout has come at `now` though its timer has not run (late:
   * the event loop was busy), as an event of `key` comes: that event belongs to the next batch.
   * The caller adds the event first and then sends this batch on: its run is host code, and an
   * event it emits comes after the one arriving.
   */
  takeDue(key: string, now: number): CollectingBatch | undefined {
    const batch = this.batches.get(key);
    if (batch === undefined || now < batch.dueAt) return undefined;
    clearTimeout(batch.timer);
    this.batches.delete(key);
    return batch;
  }

  /** Sends every collecting batch on now (a drain: their events were taken before it began). */
  releaseAll(): void {
    for (const [key, batch] of [...this.batches]) {
      clearTimeout(batch.timer);
      this.releaseDue(key, batch);
    }
  }

  /**
   * Clears every timer and returns the collecting batches, in the order they began (a `Map` keeps
   * a key where it was first set): a deregistration.
   */
  dropAll(): CollectingBatch[] {
    const dropped = [...this.batches.values()];
    for (const batch of dropped) clearTimeout(batch.timer);
    this.batches.clear();
    return dropped;
  }

  private releaseDue(key: string, batch: CollectingBatch): void {
    // (sent on meanwhile, full or late, or dropped: a newer batch of the key has its own timer)
    if (this.batches.get(key) !== batch) return;
    this.batches.delete(key);
    this.release(batchPayload(batch));
  }
}

/** The payload a batch goes on with: its events, and its key when the trigger's `batch` has one. */
export function batchPayload(batch: Pick<CollectingBatch, "key" | "events">): BatchPayload {
  return batch.key === undefined ? { events: batch.events } : { key: batch.key, events: batch.events };
}

/**
 * What `invoke` of a trigger with `batch` runs: `payload` as a batch of one, under the key its
 * `batch.key` gives (an `INVALID_INPUT` when that cannot be read, as for a bus event).
 */
export function batchOfOne(
  workflowId: string,
  triggerId: string,
  batch: TriggerBatch,
  payload: unknown,
): BatchPayload {
  const key =
    batch.key === undefined ? undefined : payloadKey(BATCH_KEY, workflowId, triggerId, batch.key, payload);
  return batchPayload({ key, events: [payload] });
}
