import { MAX_TIMER_MS } from "@sluice/pipeline";
import { mapWithout } from "./map-without.js";
import type { RunRecord } from "./run-record.js";

/**
 * The pause window of one workflow's parked runs: `ms` after a run parks, `onExpired(record)` is
 * called (the runtime then keeps only the run's released checkpoint). One timer per workflow, for
 * the run that parked first.
 */
export class PauseWindow {
  /**
   * Parked runs whose window is running, with the time they parked. A Map keeps insertion order
   * (oldest first, since the window is the same for every run of the workflow) and forgets a run
   * in O(1) when it resumes or ends, so nothing outlives its run.
   */
  private parked = new Map<RunRecord, number>();
  private timer: ReturnType<typeof setTimeout> | undefined = undefined;

  constructor(
    /** How long a parked run keeps its live context, ms (`0`: none; `Infinity`: for ever). */
    readonly ms: number,
    private readonly onExpired: (record: RunRecord) => void,
  ) {}

  /** Starts `record`'s window, parked at `now` (restarting a window it already had). */
  open(record: RunRecord, now: number): void {
    this.close(record);
    this.parked.set(record, now);
    if (this.timer === undefined) this.schedule();
  }

  /** Ends `record`'s window early: it resumed or finished. */
  close(record: RunRecord): void {
    if (this.parked.size > 0) this.parked = mapWithout(this.parked, record);
  }

  /** Forgets every window and stops the timer (the workflow is gone). */
  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.parked.clear();
  }

  private schedule(): void {
    const first = this.parked.values().next();
    if (first.done) return;
    // capped: a longer delay would make setTimeout fire at once; the sweep then re-arms
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, first.value + this.ms - Date.now()));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const now = Date.now();
      for (const [record, parkedAt] of this.parked) {
        if (parkedAt + this.ms > now) break;
        this.parked.delete(record);
        this.onExpired(record);
      }
      this.schedule();
    }, delay);
    (this.timer as { unref?: () => void }).unref?.();
  }
}
