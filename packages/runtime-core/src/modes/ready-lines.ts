import { FifoQueue } from "./fifo-queue.js";
import { PriorityQueue } from "./priority-queue.js";
import type { WaitingQueue } from "./waiting-queue.js";

/** A run waiting in its key's line, with its place in the workflow's arrival order and its priority. */
export interface QueuedRun {
  readonly runId: string;
  readonly arrival: number;
  /**
   * The mode's `priority` for it (0 without one): higher starts first. `Infinity` for a resumed run
   * (no mode's priority is: they are finite), which goes before every run that has not started.
   */
  readonly priority: number;
  /** For a resumed run waiting for a slot: what to call once it holds one (a queued run is launched). */
  readonly granted: (() => void) | undefined;
  readonly line: KeyLine;
  /** Whether {@link ReadyLines} holds an entry for it (at most one: a run is offered once). */
  offered: boolean;
}

/**
 * One concurrency key's runs: how many hold a slot, and those waiting, in the order they start:
 * resumed runs first, in the order they resumed, then the queued ones.
 */
export class KeyLine {
  active = 0;
  /** Its resumed runs waiting for a slot, in the order they resumed. */
  readonly resuming = new FifoQueue<QueuedRun>();

  constructor(
    readonly key: string,
    /** Its waiting runs: in arrival order, or by priority for a mode with one. */
    readonly queue: WaitingQueue<QueuedRun>,
  ) {}

  /** The run that starts next in this line: its first resumed run, else its first queued run. */
  first(): QueuedRun | undefined {
    return this.resuming.length !== 0 ? this.resuming.peek() : this.queue.peek();
  }

  /** Takes the run `first()` gives. */
  takeFirst(): QueuedRun | undefined {
    return this.resuming.length !== 0 ? this.resuming.shift() : this.queue.shift();
  }

  /** Whether no run of this key holds a slot or waits. */
  get idle(): boolean {
    return this.active === 0 && this.queue.length === 0 && this.resuming.length === 0;
  }
}

/**
 * The lines whose first waiting run could start once an overall slot frees, highest priority first
 * and, among equal priorities (all of them, for a mode without `priority`), earliest arrival first:
 * a {@link PriorityQueue} of runs by (priority, arrival), a line offered by the entry of its first run.
 * An entry is checked when it comes out rather than removed when it goes stale (its run forgotten,
 * or no longer its line's first: a run of higher priority joined the line before it), so a line is
 * offered again only when its first run changes. A run has at most one entry ({@link QueuedRun.offered}):
 * a line whose first run is first again (the higher one started or was forgotten) and still has its
 * entry is not offered twice, and that entry, at the run's own priority and arrival, is still in
 * its place. {@link ReadyLines.prune} drops the stale ones when they pile up while no slot frees to
 * take them out.
 */
export class ReadyLines {
  private readonly heap = new PriorityQueue<QueuedRun>();

  /** Offers `line` by its first waiting run, unless that run has its entry already or none waits. */
  offer(line: KeyLine): void {
    const first = line.first();
    if (first === undefined || first.offered) return;
    first.offered = true;
    this.heap.push(first, first.priority, first.arrival);
  }

  /**
   * Takes the line whose first run goes first (highest priority, earliest arrival), if its key has
   * fewer than `keyConcurrency` runs holding slots; entries gone stale on the way are dropped (as is
   * a line with no room: it is offered again when one of its runs frees a slot). `undefined` when
   * none is left.
   */
  takeEarliest(keyConcurrency: number): KeyLine | undefined {
    for (let run = this.heap.shift(); run !== undefined; run = this.heap.shift()) {
      run.offered = false;
      const line = run.line;
      if (line.first() === run && line.active < keyConcurrency) return line;
    }
    return undefined;
  }

  /** How many entries the heap holds, stale ones included. */
  get size(): number {
    return this.heap.length;
  }

  /**
   * Drops the stale entries (their run forgotten, or no longer its line's first): they would
   * otherwise wait for a slot to free to be dropped, and while every slot stays taken each queued
   * run forgotten would leave one behind. What is left is at most one entry a line.
   */
  prune(): void {
    for (const run of this.heap.takeAll()) {
      if (run.line.first() === run) this.heap.push(run, run.priority, run.arrival);
      else run.offered = false;
    }
  }

  /** Empties the heap (its runs' `offered` left as they are: for a policy that closes). */
  clear(): void {
    this.heap.clear();
  }
}
