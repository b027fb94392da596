/**
 * One workflow's idempotency keys (`TriggerDefinition.key`): which unfinished run holds each. A
 * run holds its key from its creation (queued, as `invoke` makes it, or adopted) until it leaves
 * the table of unfinished runs (its bookkeeping, a queued run dropped, `detach()`; an ending run
 * frees it before its mode hands its slot on), so the table never holds more entries than the
 * workflow has unfinished runs. No key is remembered past its
 * run's end: a window after it would need a retention rule of its own.
 */
export class IdempotencyKeys {
  private readonly holders = new Map<string, string>();

  /** How many keys are held (one per unfinished run that has one). */
  get size(): number {
    return this.holders.size;
  }

  /** The id of the unfinished run that holds `key`, or `undefined` when it is free. */
  holder(key: string): string | undefined {
    return this.holders.get(key);
  }

  /** `runId` holds `key` from now on (the caller has checked that it was free). */
  hold(key: string, runId: string): void {
    this.holders.set(key, runId);
  }

  /** `runId` lets go of `key`; a key another run holds stays held. */
  release(key: string, runId: string): void {
    if (this.holders.get(key) === runId) this.holders.delete(key);
  }
}
