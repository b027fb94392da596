import { goesFirst } from "./priority-queue.js";
import type { WaitingQueue } from "./waiting-queue.js";

/** A run waiting in its key's line, with its place in the workflow's arrival order and its priority. */
export interface QueuedRun {
  readonly runId: string;
  readonly arrival: number;
  /** The mode's `priority` for it (0 without one): higher starts first. */
  readonly priority: number;
  readonly line: KeyLine;
}

/** One concurrency key's runs: how many hold a slot, and those waiting, in the order they start. */
export class KeyLine {
  active = 0;
  /** The arrival of the run this line is offered by in {@link ReadyLines}; -1 when it is not. */
  offered = -1;

  constructor(
    readonly key: string,
    /** Its waiting runs: in arrival order, or by priority for a mode with one. */
    readonly queue: WaitingQueue<QueuedRun>,
  ) {}
}

/**
 * The lines whose first waiting run could start once an overall slot frees, highest priority first
 * and, among equal priorities (all of them, for a mode without `priority`), earliest arrival first:
 * a binary heap of (priority, arrival, line) entries. An entry is checked when it comes out rather than
 * removed when it goes stale (its run forgotten, or its line dropped), so a line is offered again
 * only when its first run changes; {@link ReadyLines.prune} drops the stale ones when they pile up
 * while no slot frees to take them out.
 */
export class ReadyLines {
  private readonly priorities: number[] = [];
  private readonly arrivals: number[] = [];
  private readonly lines: KeyLine[] = [];

  /** Offers `line` by its first waiting run, unless it is offered by that run already or waits for none. */
  offer(line: KeyLine): void {
    const first = line.queue.peek();
    if (first === undefined || line.offered === first.arrival) return;
    line.offered = first.arrival;
    this.push(first.priority, first.arrival, line);
  }

  /**
   * Takes the line whose first run goes first (highest priority, earliest arrival), if its key has fewer than `keyConcurrency`
   * runs holding slots; entries gone stale on the way are dropped. `undefined` when none is left.
   */
  takeEarliest(keyConcurrency: number): KeyLine | undefined {
    while (this.lines.length > 0) {
      const arrival = this.arrivals[0]!;
      const line = this.pop();
      if (line.offered === arrival) line.offered = -1;
      if (line.queue.peek()?.arrival === arrival && line.active < keyConcurrency) return line;
    }
    return undefined;
  }

  /** How many entries the heap holds, stale ones included. */
  get size(): number {
    return this.lines.length;
  }

  /**
   * Drops the stale entries (their run forgotten, or their line offered again by a later run):
   * they would otherwise wait for a slot to free to be dropped, and while every slot stays taken
   * each queued run forgotten would leave one behind.
   */
  prune(): void {
    const priorities = this.priorities.slice();
    const arrivals = this.arrivals.slice();
    const lines = this.lines.slice();
    this.clear();
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      const arrival = arrivals[i]!;
      if (line.offered !== arrival) continue;
      if (line.queue.peek()?.arrival === arrival) this.push(priorities[i]!, arrival, line);
      else line.offered = -1;
    }
  }

  clear(): void {
    this.priorities.length = 0;
    this.arrivals.length = 0;
    this.lines.length = 0;
  }

  private push(priority: number, arrival: number, line: KeyLine): void {
    const { priorities, arrivals, lines } = this;
    let at = arrivals.length;
    priorities.push(priority);
    arrivals.push(arrival);
    lines.push(line);
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!goesFirst(priority, arrival, priorities[parent]!, arrivals[parent]!)) break;
      priorities[at] = priorities[parent]!;
      arrivals[at] = arrivals[parent]!;
      lines[at] = lines[parent]!;
      at = parent;
    }
    priorities[at] = priority;
    arrivals[at] = arrival;
    lines[at] = line;
  }

  private pop(): KeyLine {
    const { priorities, arrivals, lines } = this;
    const top = lines[0]!;
    const lastPriority = priorities.pop()!;
    const lastArrival = arrivals.pop()!;
    const lastLine = lines.pop()!;
    const size = arrivals.length;
    if (size === 0) return top;
    let at = 0;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= size) break;
      const right = child + 1;
      if (
        right < size &&
        goesFirst(priorities[right]!, arrivals[right]!, priorities[child]!, arrivals[child]!)
      )
        child = right;
      if (!goesFirst(priorities[child]!, arrivals[child]!, lastPriority, lastArrival)) break;
      priorities[at] = priorities[child]!;
      arrivals[at] = arrivals[child]!;
      lines[at] = lines[child]!;
      at = child;
    }
    priorities[at] = lastPriority;
    arrivals[at] = lastArrival;
    lines[at] = lastLine;
    return top;
  }
}
