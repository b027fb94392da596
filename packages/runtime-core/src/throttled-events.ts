import { RateLimit } from "./rate-limit.js";

/** An event a trigger's `throttle` holds until its key's window admits it. */
export interface ThrottledEvent {
  readonly event: string;
  readonly payload: unknown;
}

/** One key's events waiting for its window, oldest first, and the timer for the first. */
interface KeyQueue {
  events: ThrottledEvent[];
  /** Index of the first event still waiting (the array is compacted as it drains). */
  head: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Set while {@link ThrottledEvents.releaseTurns} sends its events on (their host code runs). */
  releasing: boolean;
}

/**
 * A trigger's `throttle`, kept for one registration: at most `limit` events of a key go on in any
 * `periodMs` (the exact sliding window of {@link RateLimit}); the others wait, per key and in
 * arrival order, and go on as the window admits them, on one `setTimeout` per key with events
 * waiting (a waiting event is work still to do, so the timer keeps a Node process alive, as a
 * parked run's wait deadline does). At most `capacity` events wait, all keys together.
 */
export class ThrottledEvents {
  private readonly window: RateLimit;
  private readonly queues = new Map<string, KeyQueue>();
  /** Events waiting, all keys together. */
  private waitingCount = 0;

  /** How many events wait, all keys together. */
  get waiting(): number {
    return this.waitingCount;
  }

  constructor(
    limit: number,
    periodMs: number,
    readonly capacity: number,
    /** Sends a waiting event on (the trigger's dispatch, after its `throttle`). */
    private readonly release: (event: string, payload: unknown) => void,
  ) {
    this.window = new RateLimit(limit, periodMs);
  }

  /**
   * Takes an event of `key` at `now` (monotonic ms): `"go"` when it may go on at once (nothing of
   * its key waits, and its window admits it: counted), `"wait"` when it joins its key's line,
   * `"full"` when `capacity` events wait already (it is not taken). Joining the line, it goes
   * behind the events whose turn came while their timer was late, which go on now: before an event
   * their host code emits meanwhile, since it came after this one (and so this one may be sent on
   * already when `"wait"` is returned).
   */
  offer(key: string, event: string, payload: unknown, now: number): "go" | "wait" | "full" {
    const queue = this.queues.get(key);
    if (queue === undefined) {
      if (this.window.admit(key, now)) return "go";
      if (this.waitingCount >= this.capacity) return "full";
      this.waitingCount++;
      const fresh: KeyQueue = { events: [{ event, payload }], head: 0, timer: undefined, releasing: false };
      this.queues.set(key, fresh);
      this.arm(key, fresh, now);
      return "wait";
    }
    // (when full, one whose turn came goes on now: it makes room for this one)
    if (this.waitingCount >= this.capacity && !this.due(key, queue, now)) return "full";
    this.waitingCount++;
    queue.events.push({ event, payload });
    this.releaseDue(key, queue, now);
    return "wait";
  }

  /**
   * Whether `key`'s line may go on at `now` though its timer has not run (it is late: the event
   * loop was busy). Not while its line goes on already: an event of the key emitted by host code
   * then (its map, onDispatch, a run's first step) is sent on by that release, in order; sent on
   * from here, the next would overtake the one going on, and a second timer would be armed.
   */
  private due(key: string, queue: KeyQueue, now: number): boolean {
    return !queue.releasing && this.window.nextAdmission(key, now) <= now;
  }

  /** Sends on `key`'s events whose turn has come though their timer is late, and re-arms it for the next. */
  private releaseDue(key: string, queue: KeyQueue, now: number): void {
    if (!this.due(key, queue, now)) return;
    if (queue.timer !== undefined) clearTimeout(queue.timer);
    queue.timer = undefined;
    this.releaseTurns(key, queue, now);
  }

  /**
   * Puts an event of `key` at the end of its key's line when events of the key still wait, and
   * says whether it did: while a drain sends the lines on ({@link releaseAll}), an event host code
   * emits meanwhile (a released run's first step, another workflow's) goes on behind the events
   * that came before it, not ahead of them.
   */
  joinLine(key: string, event: string, payload: unknown): boolean {
    const queue = this.queues.get(key);
    if (queue === undefined || queue.head >= queue.events.length) return false;
    queue.events.push({ event, payload });
    this.waitingCount++;
    return true;
  }

  /** Sends every waiting event on now, each key's in order (a drain: they were taken before it). */
  releaseAll(): void {
    for (const [key, queue] of [...this.queues]) {
      if (queue.timer !== undefined) clearTimeout(queue.timer);
      queue.timer = undefined;
      // Taken from the line one at a time, not from a copy: a release runs host code, whose
      // cancelOn event (dropWhere) or deregistration (dropAll) drops the events still waiting.
      while (this.queues.get(key) === queue && queue.head < queue.events.length) {
        const next = queue.events[queue.head]!;
        queue.events[queue.head++] = undefined as unknown as ThrottledEvent;
        this.waitingCount--;
        this.release(next.event, next.payload);
      }
      if (this.queues.get(key) === queue) this.queues.delete(key);
    }
  }

  /**
   * Clears every timer and returns the waiting events, each key's in order, keys in the order
   * their first waiting event came (a deregistration).
   */
  dropAll(): ThrottledEvent[] {
    const dropped: ThrottledEvent[] = [];
    for (const queue of this.queues.values()) {
      for (let i = queue.head; i < queue.events.length; i++) dropped.push(queue.events[i]!);
    }
    this.clear();
    return dropped;
  }

  /**
   * Takes out the waiting events whose payload `cancels` says so, each key's in order (a
   * `cancelOn` event: they never go on); a key left with none waiting is forgotten, its timer cleared.
   */
  dropWhere(cancels: (payload: unknown) => boolean): ThrottledEvent[] {
    const dropped: ThrottledEvent[] = [];
    for (const [key, queue] of this.queues) {
      const kept: ThrottledEvent[] = [];
      for (let i = queue.head; i < queue.events.length; i++) {
        const waiting = queue.events[i]!;
        (cancels(waiting.payload) ? dropped : kept).push(waiting);
      }
      if (kept.length === queue.events.length - queue.head) continue;
      this.waitingCount -= queue.events.length - queue.head - kept.length;
      // (a release loop under way for this key, a cancel event emitted by its host code, reads
      // the line afresh at each turn)
      queue.events = kept;
      queue.head = 0;
      if (kept.length === 0) {
        if (queue.timer !== undefined) clearTimeout(queue.timer);
        queue.timer = undefined;
        this.queues.delete(key);
      }
    }
    return dropped;
  }

  private clear(): void {
    for (const queue of this.queues.values()) if (queue.timer !== undefined) clearTimeout(queue.timer);
    this.queues.clear();
    this.waitingCount = 0;
  }

  private arm(key: string, queue: KeyQueue, now: number): void {
    const delay = Math.max(0, this.window.nextAdmission(key, now) - now);
    queue.timer = setTimeout(() => {
      queue.timer = undefined;
      this.releaseTurns(key, queue, performance.now());
    }, delay);
  }

  /** Sends on `key`'s waiting events while its window admits them, then re-arms for the next. */
  private releaseTurns(key: string, queue: KeyQueue, now: number): void {
    queue.releasing = true;
    try {
      this.sendTurns(key, queue, now);
    } finally {
      queue.releasing = false;
    }
  }

  private sendTurns(key: string, queue: KeyQueue, now: number): void {
    // Each release runs host code (onDispatch, map, a run's first steps), which may deregister the
    // workflow (dropAll: this queue is gone) or drain the runtime (releaseAll): check each time.
    while (this.queues.get(key) === queue && queue.head < queue.events.length) {
      if (!this.window.admit(key, now)) {
        this.arm(key, queue, now);
        return;
      }
      const next = queue.events[queue.head]!;
      queue.events[queue.head++] = undefined as unknown as ThrottledEvent;
      // a long backlog drains from the front: drop the sent part once it is most of the array
      if (queue.head >= 1024 && 2 * queue.head >= queue.events.length) {
        queue.events.splice(0, queue.head);
        queue.head = 0;
      }
      this.waitingCount--;
      this.release(next.event, next.payload);
    }
    if (this.queues.get(key) === queue) this.queues.delete(key);
  }
}
