/** A hook call the {@link HookWatchdog} is timing. */
export class PendingHook {
  /** Settled in time, or timed out: the watchdog forgets it. */
  done = false;

  constructor(
    /** `monotonicNow()` past which it times out. */
    readonly deadline: number,
    /**
     * Called once if it has not settled by its deadline. Dropped once the call is done: it holds
     * the caller's run (its record, state and promise), and a done entry may wait in its queue
     * behind a call still pending for as long as that one's limit.
     */
    public onTimeout: (() => void) | undefined,
  ) {}
}

/**
 * Pending calls with one time limit: started in order, so their deadlines are in order too. A ring
 * of slots: emptying and refilling it allocates nothing (resetting an array's length went through
 * V8's runtime and regrew the array on the next push, a few hundred instructions a hook call).
 */
class DeadlineQueue {
  private slots: (PendingHook | undefined)[] = new Array<PendingHook | undefined>(16).fill(undefined);
  private head = 0;
  private size = 0;

  push(entry: PendingHook): void {
    // Full: drop the done entries (those behind a call still pending stay until it is done) and
    // grow only if more than half are pending, so a slow hook does not make the queue grow with
    // every call that settles behind it; a compaction then comes at most every half-capacity pushes.
    if (this.size === this.slots.length && this.compact() * 2 > this.slots.length) this.grow();
    this.slots[(this.head + this.size) & (this.slots.length - 1)] = entry;
    this.size++;
  }

  /** The oldest entry, or `undefined`. */
  peek(): PendingHook | undefined {
    return this.size === 0 ? undefined : this.slots[this.head];
  }

  shift(): void {
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) & (this.slots.length - 1);
    this.size--;
  }

  private grow(): void {
    const old = this.slots;
    const slots = new Array<PendingHook | undefined>(old.length * 2).fill(undefined);
    for (let i = 0; i < this.size; i++) slots[i] = old[(this.head + i) & (old.length - 1)];
    this.slots = slots;
    this.head = 0;
  }

  /** Drops every done entry, keeping the others in order; returns how many are left. */
  private compact(): number {
    const slots = this.slots;
    const mask = slots.length - 1;
    let kept = 0;
    for (let i = 0; i < this.size; i++) {
      const at = (this.head + i) & mask;
      const entry = slots[at]!;
      slots[at] = undefined;
      if (!entry.done) slots[(this.head + kept++) & mask] = entry;
    }
    this.size = kept;
    return kept;
  }

  /** Drops the settled entries at the front (hooks mostly settle in the order they started). */
  dropDone(): void {
    let entry = this.peek();
    while (entry?.done) {
      this.shift();
      entry = this.peek();
    }
  }
}

/**
 * Milliseconds on a clock that only moves forward at the pace of timers (`performance.now()`, as
 * `setTimeout` measures): a time limit is a duration, and a wall clock stepped forward while a
 * hook runs (an NTP correction, a machine resumed) would otherwise time the hook out early, or
 * stepped back, late.
 */
const monotonicNow = (): number => performance.now();

/**
 * Time limits for every hook call of a runtime on a single timer.
 *
 * A `setTimeout` armed and cleared per hook call cost ~0.8 µs (Node creates a timer list each time
 * the last one empties), about a third of a run with an async `onComplete`. Here a call costs a
 * clock read and an entry in a queue; the one timer is armed for the earliest deadline and re-armed
 * only when it fires, so in steady traffic it fires about once per time limit. It is `unref`ed:
 * the limit of a hook nobody can settle any more does not keep a Node process alive.
 */
export class HookWatchdog {
  /** Pending calls, one queue per distinct time limit (usually one or two). */
  private readonly queues = new Map<number, DeadlineQueue>();
  private timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** The deadline the timer is armed for (`Infinity` when it is not). */
  private timerAt = Number.POSITIVE_INFINITY;
  /** Calls started and neither settled nor timed out. */
  private pending = 0;
  /** `idle()` came while calls were pending (a hook an abort went on without): idle once they are done. */
  private idleWhenDone = false;

  /**
   * Starts timing a call: `onTimeout` runs once, `timeoutMs` from now (a positive number no larger
   * than `setTimeout` supports), unless {@link settle} comes first.
   */
  start(timeoutMs: number, onTimeout: () => void): PendingHook {
    const now = monotonicNow();
    let queue = this.queues.get(timeoutMs);
    if (queue === undefined) {
      queue = new DeadlineQueue();
      this.queues.set(timeoutMs, queue);
    } else queue.dropDone();
    const entry = new PendingHook(now + timeoutMs, onTimeout);
    queue.push(entry);
    this.pending++;
    this.arm(entry.deadline, now);
    return entry;
  }

  /** The call settled: it will not time out. False when it had timed out already. */
  settle(entry: PendingHook): boolean {
    if (entry.done) return false;
    entry.done = true;
    entry.onTimeout = undefined;
    if (--this.pending === 0 && this.idleWhenDone) this.idle();
    return true;
  }

  /**
   * Clears the timer once no call is pending (the runtime stops): at once, or when the last
   * pending call settles or times out. Later calls arm it again.
   */
  idle(): void {
    if (this.pending !== 0) {
      this.idleWhenDone = true;
      return;
    }
    this.idleWhenDone = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    this.queues.clear();
  }

  private arm(deadline: number, now: number): void {
    if (deadline >= this.timerAt) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = deadline;
    const timer = setTimeout(this.fire, Math.max(0, deadline - now));
    (timer as { unref?: () => void }).unref?.();
    this.timer = timer;
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = monotonicNow();
    let next = Number.POSITIVE_INFINITY;
    for (const [timeoutMs, queue] of this.queues) {
      let entry = queue.peek();
      while (entry !== undefined && (entry.done || entry.deadline <= now)) {
        queue.shift();
        if (!entry.done) {
          const onTimeout = entry.onTimeout!;
          entry.done = true;
          entry.onTimeout = undefined;
          this.pending--;
          onTimeout();
        }
        entry = queue.peek();
      }
      if (entry !== undefined && entry.deadline < next) next = entry.deadline;
      // a limit no call uses any more (workflows registered with their own, since deregistered)
      // is not kept: the map would grow with every distinct limit ever used. (Only this queue: a
      // timeout callback that made the watchdog idle, which drops every queue, may have started a
      // call with the same limit since, in a queue of its own.)
      else if (entry === undefined && this.queues.get(timeoutMs) === queue) this.queues.delete(timeoutMs);
    }
    if (this.pending === 0 && this.idleWhenDone) this.idle();
    else if (next !== Number.POSITIVE_INFINITY) this.arm(next, now);
  };
}
