import { FifoQueue } from "./fifo-queue.js";
import { PriorityQueue } from "./priority-queue.js";

/**
 * Where a mode's queued runs wait for a slot: a {@link FifoQueue} (arrival order), or, for a mode
 * with a `priority`, a {@link PriorityQueue} (highest first, then arrival order).
 */
export interface WaitingQueue<T> {
  /** How many items wait. */
  readonly length: number;
  /** Adds `item`, of `priority` (which a FIFO ignores); it must not be in the queue already. */
  push(item: T, priority: number): void;
  /** The item `shift()` would take, left in place. */
  peek(): T | undefined;
  /** Takes the next item. */
  shift(): T | undefined;
  /** Removes `item`, which must be waiting. */
  remove(item: T): void;
  /** Empties the queue and returns what it held, in arrival order. */
  takeAll(): T[];
}

/** The queue a mode's runs wait in: by priority when the mode has one, else in arrival order. */
export function waitingQueue<T>(prioritised: boolean): WaitingQueue<T> {
  return prioritised ? new PriorityQueue<T>() : new FifoQueue<T>();
}
