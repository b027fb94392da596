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

/** A batch on its way out of {@link BatchedEvents}, and why a draining runtime refuses it, if it does. */
interface OutgoingBatch {
  readonly payload: BatchPayload;
  readonly refusal: string | undefined;
}

/**
 * A trigger's `batch`, kept for one registration: per key, the events collected since the key's
 * batch began, which go on as one batch once `maxSize` have come (at once, with the event that
 * fills it) or `timeoutMs` after the first (on a timer). One `setTimeout` per key with a batch
 * collecting: a collected event is work still to do, so the timer keeps a Node process alive, as
 * a debounce's does.
 *
 * Batches go on one at a time, in the order they were sent ({@link send}): one sent while another
 * goes on (by its host code: `onDispatch`, `map`, a run's first step, emitting an event that fills
 * a batch, or draining the runtime) waits for it to be over, so that it comes after the batches
 * sent before it.
 */
export class BatchedEvents {
  private readonly batches = new Map<string, CollectingBatch>();
  /** Batches sent while another one goes on: the first unsent at `head`. */
  private outbox: OutgoingBatch[] = [];
  private head = 0;
  private sending = false;

  constructor(
    readonly maxSize: number,
    readonly timeoutMs: number,
    /**
     * Sends a batch on (the trigger's dispatch, after its `batch`), refused for `refusal` when the
     * runtime drains and it was not collected before the drain began.
     */
    private readonly release: (payload: BatchPayload, refusal: string | undefined) => void,
  ) {}

  /**
   * Adds `payload` to `key`'s batch at `now` (monotonic ms), beginning one if none collects;
   * returns the batch when this event filled it (taken out, its timer cleared) for the caller to
   * {@link send} on, else `undefined`. `batchKey` is what the batch's payload says its key is.
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

  /**
   * Sends `payload` on now, or, when a batch goes on already (this is its host code), once it and
   * those sent before this one are over.
   */
  send(payload: BatchPayload, refusal: string | undefined = undefined): void {
    this.outbox.push({ payload, refusal });
    this.flush();
  }

  /** Sends the batches waiting in the outbox on, in order, unless a batch goes on already (its loop sends them). */
  private flush(): void {
    if (this.sending) return;
    this.sending = true;
    try {
      // read afresh at each turn: a deregistration (dropAll) takes out the batches not sent yet
      while (this.head < this.outbox.length) {
        const next = this.outbox[this.head]!;
        this.outbox[this.head++] = undefined as unknown as OutgoingBatch;
        this.release(next.payload, next.refusal);
      }
    } finally {
      this.sending = false;
      if (this.head >= this.outbox.length) {
        this.outbox = [];
        this.head = 0;
      }
    }
  }

  /**
   * Sends every collecting batch on now, in the order they began (a drain: their events were taken
   * before it began), behind any batch going on already.
   */
  releaseAll(): void {
    const collecting = [...this.batches.values()];
    this.batches.clear();
    for (const batch of collecting) {
      clearTimeout(batch.timer);
      this.outbox.push({ payload: batchPayload(batch), refusal: undefined });
    }
    this.flush();
  }

  /**
   * Clears every timer and returns the batches not sent on yet, those waiting for one going on
   * first, then the collecting ones in the order they began (a `Map` keeps a key where it was first
   * set): a deregistration.
   */
  dropAll(): BatchPayload[] {
    const dropped: BatchPayload[] = [];
    for (let i = this.head; i < this.outbox.length; i++) dropped.push(this.outbox[i]!.payload);
    this.outbox = [];
    this.head = 0;
    for (const batch of this.batches.values()) {
      clearTimeout(batch.timer);
      dropped.push(batchPayload(batch));
    }
    this.batches.clear();
    return dropped;
  }

  private releaseDue(key: string, batch: CollectingBatch): void {
    // (sent on meanwhile, full or late, or dropped: a newer batch of the key has its own timer)
    if (this.batches.get(key) !== batch) return;
    this.batches.delete(key);
    this.send(batchPayload(batch));
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
