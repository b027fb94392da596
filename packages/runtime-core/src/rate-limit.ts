/** One key's admitted events' times: a ring of at most `limit`, the oldest at `head`. */
interface KeyWindow {
  readonly times: number[];
  head: number;
}

/**
 * A trigger's `rateLimit`, kept for one registration: for each key, the times of its last `limit`
 * admitted events, so an event is admitted when fewer than `limit` were admitted in the
 * `periodMs` before it (a sliding window, exact: never more than `limit` in any window of
 * `periodMs`). Times come from a monotonic clock, so a wall-clock step neither opens nor closes
 * the window. Keys whose window has emptied are forgotten in sweeps, each once the table has grown
 * to twice its size after the last, so the table is bounded by about twice the keys seen in one
 * period, at a constant cost per event (amortised).
 */
export class RateLimit {
  private readonly windows = new Map<string, KeyWindow>();
  private sweepAt = 1024;

  constructor(
    readonly limit: number,
    readonly periodMs: number,
  ) {}

  /** Admits an event of `key` at `now` (ms, monotonic) and records it, or refuses it (false). */
  admit(key: string, now: number): boolean {
    const window = this.windows.get(key);
    if (window === undefined) {
      if (this.windows.size >= this.sweepAt) this.sweep(now);
      this.windows.set(key, { times: [now], head: 0 });
      return true;
    }
    const { times } = window;
    if (times.length < this.limit) {
      times.push(now);
      return true;
    }
    if (now - times[window.head]! < this.periodMs) return false;
    times[window.head] = now;
    window.head = window.head + 1 === times.length ? 0 : window.head + 1;
    return true;
  }

  /** When `key` may have an event admitted again, on the same clock (`now` if it may already). */
  nextAdmission(key: string, now: number): number {
    const window = this.windows.get(key);
    if (window === undefined || window.times.length < this.limit) return now;
    return Math.max(now, window.times[window.head]! + this.periodMs);
  }

  /** How many keys are remembered (their window has not emptied, or no sweep has run since). */
  get size(): number {
    return this.windows.size;
  }

  private sweep(now: number): void {
    for (const [key, { times, head }] of this.windows) {
      const newest = times[head === 0 ? times.length - 1 : head - 1]!;
      if (now - newest >= this.periodMs) this.windows.delete(key);
    }
    this.sweepAt = Math.max(1024, 2 * this.windows.size);
  }
}
