import type { PauseRequestData } from "@sluice/pause";
import type { BusSubscriptions } from "./bus-subscriptions.js";
import { HeldWaits } from "./held-waits.js";
import type { ResumeEvents } from "./resume-events.js";
import { NO_WAITS, type RunRecord } from "./run-record.js";
import { type WaitIndex, WaitIndexes } from "./wait-index.js";

/**
 * Runs' waits on bus events, indexed by event name: a running run's waits (its events are buffered
 * until it parks), a parked run's (its events may resume it), and the bus subscription each event
 * name a run has waited on holds until the run ends. A run moves between the indexes as it parks
 * and resumes, so an event finds the runs it concerns without a scan of every run.
 */
export class EventWaits {
  /** Event name → running runs that have waited on it: such events are buffered for them. */
  private readonly bufferFilters = new WaitIndexes();
  /** Event name → parked runs' waits on it, indexed by `==` condition value. */
  private readonly parkedWaits = new WaitIndexes();
  /** Waits of failed step attempts, held for their step's retry: they buffer events too. */
  readonly held = new HeldWaits(this.bufferFilters);

  constructor(
    private readonly subscriptions: BusSubscriptions,
    private readonly resumeEvents: ResumeEvents,
  ) {}

  /** A running run waits on an event: from now on, matching events are buffered for it. */
  readonly onEventWait = (record: RunRecord, request: PauseRequestData): void => {
    this.watch(record, request.event!);
    record.bufferWaits = record.bufferWaits.length === 0 ? [request] : [...record.bufferWaits, request];
    this.bufferFilters.add(record, request);
  };

  /**
   * A running run cancelled waits (`pause.cancel`): events they would have held are held no more
   * (events held already stay, as events held between resume cycles do). Each wait is judged by
   * `withdrawn` before any leaves, so a predicate that throws changes nothing.
   */
  readonly onEventWaitWithdrawn = (
    record: RunRecord,
    withdrawn: (wait: PauseRequestData) => boolean,
  ): void => {
    const waits = record.bufferWaits;
    const kept: PauseRequestData[] = [];
    const gone: PauseRequestData[] = [];
    for (const wait of waits) (withdrawn(wait) ? gone : kept).push(wait);
    if (gone.length === 0) return;
    for (const wait of gone) this.bufferFilters.remove(record, wait);
    // the index holds one entry per run and key, shared by waits with the same one: put back those
    // of the waits that stay
    for (const wait of kept) this.bufferFilters.add(record, wait);
    this.held.restoreEntries(record);
    record.bufferWaits = kept.length === 0 ? NO_WAITS : kept;
  };

  /** Buffers `event` for the running runs whose buffer waits (or held waits) it satisfies. */
  bufferFor(event: string, payload: unknown): void {
    const filters = this.bufferFilters.get(event);
    if (filters !== undefined) this.resumeEvents.bufferMatching(filters, event, payload, this.held);
  }

  /** The parked runs whose waits on `event` may match, indexed; `undefined` when none waits on it. */
  parkedOn(event: string): WaitIndex | undefined {
    return this.parkedWaits.get(event);
  }

  /**
   * `record` parks on its `waits`: its events stop being buffered and may resume it instead. Its
   * held waits are withdrawn (the stage, and so every retry, is over), with the events kept for
   * them only, before its buffer is read.
   */
  park(record: RunRecord): void {
    for (const wait of record.waits) if (wait.event !== undefined) this.watch(record, wait.event);
    this.bufferFilters.update(record, record.bufferWaits, false);
    record.bufferWaits = NO_WAITS;
    this.held.dropAll(record);
    this.parkedWaits.update(record, record.waits, true);
  }

  /**
   * `record` resumes: the waits it was parked on become its buffer waits, so a second matching
   * event arriving before its next pause is kept for it (the inter-resume buffer).
   */
  unpark(record: RunRecord): void {
    this.parkedWaits.update(record, record.waits, false);
    record.bufferWaits = record.waits;
    this.bufferFilters.update(record, record.bufferWaits, true);
  }

  /** `record`, which has waited on events, has ended: it leaves both indexes and releases its subscriptions. */
  release(record: RunRecord): void {
    this.parkedWaits.update(record, record.waits, false);
    this.bufferFilters.update(record, record.bufferWaits, false);
    record.bufferWaits = NO_WAITS;
    this.held.dropAll(record);
    for (const event of record.watched!) this.subscriptions.release(event);
    record.watched = undefined;
  }

  /** From now until the run ends, events with this name are buffered while it is not parked. */
  private watch(record: RunRecord, event: string): void {
    const watched = (record.watched ??= []);
    if (watched.includes(event)) return;
    // acquired first: a run holds (and releases when it ends) only a subscription it got
    this.subscriptions.acquire(event);
    watched.push(event);
  }
}
