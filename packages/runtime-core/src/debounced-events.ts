/** An event a trigger's `debounce` holds: the latest of its series, and when the series began. */
export interface HeldEvent {
  readonly event: string;
  readonly payload: unknown;
  /** When the series' first event came (monotonic ms): `maxWaitMs` counts from it. */
  readonly firstAt: number;
  /** When it goes on (monotonic ms): its series quiet for `periodMs`, or `maxWaitMs` old. */
  readonly dueAt: number;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * A trigger's `debounce`, kept for one registration: per key, the latest event of a series still
 * coming in, on a timer that starts its run once the series has been quiet for `periodMs` (or has
 * lasted `maxWaitMs`). One `setTimeout` per key with an event held, reset by each newer event: a
 * held event is work still to do, so the timer keeps a Node process alive, as a parked run's wait
 * deadline does.
 */
export class DebouncedEvents {
  private readonly held = new Map<string, HeldEvent>();

  constructor(
    readonly periodMs: number,
    readonly maxWaitMs: number,
    /** Starts the run of a held event whose time has come (the trigger's dispatch, after `when`). */
    private readonly release: (event: string, payload: unknown) => void,
  ) {}

  /**
   * Holds `payload` as the latest event of `key`'s series at `now` (monotonic ms); returns the
   * event it supersedes, if one was held, for the caller to report dropped (call
   * {@link DebouncedEvents.takeDue} first: one already due is not superseded).
   */
  hold(key: string, event: string, payload: unknown, now: number): HeldEvent | undefined {
    const before = this.held.get(key);
    const firstAt = before === undefined ? now : before.firstAt;
    if (before !== undefined) clearTimeout(before.timer);
    const dueAt = Math.min(now + this.periodMs, firstAt + this.maxWaitMs);
    const held: HeldEvent = {
      event,
      payload,
      firstAt,
      dueAt,
      timer: setTimeout(() => this.releaseHeld(key, held), Math.max(0, dueAt - now)),
    };
    this.held.set(key, held);
    return before;
  }

  /**
   * Takes out `key`'s held event if it is due at `now` though its timer has not run (late: the
   * event loop was busy), as an event of `key` comes: its series ended before that one came, which
   * begins a new series. The caller holds the new event first and then sends this one on
   * ({@link send}): its run is host code, and an event it emits comes after the new one (it
   * replaces the new one, not the other way round).
   */
  takeDue(key: string, now: number): HeldEvent | undefined {
    const held = this.held.get(key);
    if (held === undefined || now < held.dueAt) return undefined;
    clearTimeout(held.timer);
    this.held.delete(key);
    return held;
  }

  /** Starts the run of an event taken out by {@link takeDue}. */
  send(held: HeldEvent): void {
    this.release(held.event, held.payload);
  }

  /** Starts every held event's run now (a drain: the events were taken before it began). */
  releaseAll(): void {
    for (const [key, held] of [...this.held]) {
      clearTimeout(held.timer);
      this.releaseHeld(key, held);
    }
  }

  /**
   * Takes out the held events whose payload `cancels` says so, their timers cleared, in the order
   * their series began (a `cancelOn` event: they never start a run).
   */
  dropWhere(cancels: (payload: unknown) => boolean): HeldEvent[] {
    const dropped: HeldEvent[] = [];
    for (const [key, held] of this.held) {
      if (!cancels(held.payload)) continue;
      clearTimeout(held.timer);
      this.held.delete(key);
      dropped.push(held);
    }
    return dropped;
  }

  /**
   * Clears every timer and returns the held events, in the order their series began (a `Map` keeps
   * a key where it was first set): a deregistration.
   */
  dropAll(): HeldEvent[] {
    const dropped = [...this.held.values()];
    for (const held of dropped) clearTimeout(held.timer);
    this.held.clear();
    return dropped;
  }

  private releaseHeld(key: string, held: HeldEvent): void {
    // (a newer event replaced it meanwhile: its own timer releases that one)
    if (this.held.get(key) !== held) return;
    this.held.delete(key);
    this.release(held.event, held.payload);
  }
}
