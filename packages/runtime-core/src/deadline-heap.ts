import { MAX_TIMER_MS } from "@sluice/pipeline";

/** What a {@link DeadlineHeap} holds: a time (epoch ms) and its place in the heap. */
export interface HeapDeadline {
  /** Epoch ms. */
  readonly at: number;
  /** Where the heap holds it; -1 once it is out (passed, removed or cleared). */
  slot: number;
  /** When the heap took it, counting every deadline it took: of two at the same ms, the earlier comes first. */
  order: number;
}

/**
 * Deadlines on one timer, for the earliest. A `setTimeout` each cost ~0.8 µs to arm (Node makes a
 * timer list each time the last one empties) and ~300 bytes to keep (a parked run's wait timeout);
 * here a deadline costs a place in a binary heap ordered by time, and leaves it at once when it is
 * removed, so the heap holds only what is still due. The timer is armed for the earliest deadline
 * and re-armed when it fires; a removal does not re-arm or clear it (a clear per run, when runs
 * come one at a time, cost as much as a timer per run), so in steady traffic it fires about once
 * per deadline period, and it stays armed (finding nothing to do when it fires) after the last
 * deadline is removed, until {@link idle}. While a deadline is held the timer keeps a Node process
 * alive: its firing is work still to do (a run fails, a wait times out), which a host awaiting
 * the run's end expects done. Once none is, it is `unref`ed: a timer left armed keeps nothing
 * alive. A deadline past the longest delay a timer takes (~24.8 days) is reached in steps.
 */
export class DeadlineHeap<D extends HeapDeadline> {
  private readonly heap: D[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** When the timer fires (`Infinity` when it is not armed). */
  private timerAt = Number.POSITIVE_INFINITY;
  /** How many deadlines it has taken: the next one's `order`. */
  private added = 0;

  constructor(
    /** Called once for each deadline that has passed, already out of the heap, in time order. */
    private readonly onPassed: (deadline: D) => void,
  ) {}

  /** Holds `deadline` (one already past included: the timer fires at once). */
  add(deadline: D): void {
    const heap = this.heap;
    deadline.order = this.added++;
    deadline.slot = heap.length;
    heap.push(deadline);
    this.siftUp(deadline.slot);
    if (deadline.at < this.timerAt) this.arm(Date.now());
    // the timer left armed after the last removal: it keeps the process alive again (it fires before this deadline)
    else if (heap.length === 1) (this.timer as { ref?: () => void } | undefined)?.ref?.();
  }

  /** Takes `deadline` out; nothing when it is out already. */
  remove(deadline: D): void {
    const slot = deadline.slot;
    if (slot < 0) return;
    deadline.slot = -1;
    const heap = this.heap;
    const last = heap.pop()!;
    // nothing is due now: the timer, left armed, keeps nothing alive
    if (heap.length === 0) (this.timer as { unref?: () => void } | undefined)?.unref?.();
    if (last === deadline) return;
    heap[slot] = last;
    last.slot = slot;
    this.siftDown(slot);
    this.siftUp(last.slot);
  }

  /** Clears the timer when no deadline is left (a workflow deregistered): nothing keeps it armed. */
  idle(): void {
    if (this.heap.length > 0) return;
    this.disarm();
  }

  /** Forgets every deadline and clears the timer (the runtime stops: its runs end otherwise). */
  clear(): void {
    for (const deadline of this.heap) deadline.slot = -1;
    this.heap.length = 0;
    this.disarm();
  }

  private disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  /** Arms the timer for the earliest deadline, in steps of at most `MAX_TIMER_MS` (none left: clears it). */
  private arm(now: number): void {
    const first = this.heap[0];
    this.disarm();
    if (first === undefined) return;
    // capped: a longer delay would make setTimeout fire at once; the timer then re-arms
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, first.at - now));
    this.timerAt = first.at - now > MAX_TIMER_MS ? now + MAX_TIMER_MS : first.at;
    this.timer = setTimeout(this.fire, delay);
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    const heap = this.heap;
    // (a timer may fire a millisecond before Date.now() reaches its deadline: the re-arm waits the rest)
    while (heap.length > 0 && heap[0]!.at <= now) {
      const first = heap[0]!;
      this.remove(first);
      this.onPassed(first);
    }
    // for the earliest deadline left (one a callback added meanwhile, say), if any
    this.arm(Date.now());
  };

  private siftUp(slot: number): void {
    const heap = this.heap;
    const moving = heap[slot]!;
    while (slot > 0) {
      const parentSlot = (slot - 1) >> 1;
      const parent = heap[parentSlot]!;
      if (!comesFirst(moving, parent)) break;
      heap[slot] = parent;
      parent.slot = slot;
      slot = parentSlot;
    }
    heap[slot] = moving;
    moving.slot = slot;
  }

  private siftDown(slot: number): void {
    const heap = this.heap;
    const length = heap.length;
    const moving = heap[slot]!;
    for (;;) {
      let child = 2 * slot + 1;
      if (child >= length) break;
      const right = child + 1;
      if (right < length && comesFirst(heap[right]!, heap[child]!)) child = right;
      const next = heap[child]!;
      if (!comesFirst(next, moving)) break;
      heap[slot] = next;
      next.slot = slot;
      slot = child;
    }
    heap[slot] = moving;
    moving.slot = slot;
  }
}

/**
 * Whether `a` passes before `b`: the earlier time, or at the same ms the one taken first. A heap
 * alone keeps no order among equal times, and deadlines due in the same ms (a burst of runs parked
 * with the same timeout) pass in the order they were set, as timers of their own fired.
 */
function comesFirst(a: HeapDeadline, b: HeapDeadline): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order);
}
