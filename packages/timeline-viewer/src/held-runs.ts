import type { TimelineEvent } from "@sluice/timeline";
import { byStart, draftRun, type RunDraft } from "./run-draft.js";
import { shortRunIds } from "./short-run-ids.js";
import type { ReadEvent } from "./validate-events.js";

interface HeldRun {
  /** The run's events as read when they arrived, in `seq` order once drafted. */
  events: ReadEvent[];
  /** `undefined` while events arrived since it was last drafted. */
  draft: RunDraft | undefined;
}

/**
 * The events a viewer holds, kept drafted run by run: new events redraft only the runs they
 * belong to, so a live viewer's cost per poll follows what changed, not how much it holds.
 */
export class HeldRuns {
  #events = new Map<string, TimelineEvent>();
  #runs = new Map<string, HeldRun>();
  #stale = new Set<HeldRun>();
  #sorted: RunDraft[] = [];
  #sortedStale = false;
  #positions: Map<string, number> | undefined;
  #shortIds: ReadonlyMap<string, string> = new Map();
  #shortIdsStale = false;
  #workflows = new Set<string>();
  #workflowList: readonly string[] = [];
  #newest = Number.NEGATIVE_INFINITY;

  /** Every held event, in the order it arrived. */
  get events(): readonly TimelineEvent[] {
    return [...this.#events.values()];
  }

  /** The latest `at` of every held event (`-Infinity` when none). */
  get newest(): number {
    return this.#newest;
  }

  /**
   * Adds the events whose id is not held yet; `reads[i]` is `events[i]` as read (and checked).
   * Returns the added events as read.
   */
  add(events: readonly TimelineEvent[], reads: readonly ReadEvent[]): ReadEvent[] {
    const added: ReadEvent[] = [];
    for (let i = 0; i < events.length; i++) {
      const read = reads[i]!;
      if (this.#events.has(read.id)) continue;
      this.#events.set(read.id, events[i]!);
      added.push(read);
      if (read.at > this.#newest) this.#newest = read.at;
      if (!this.#workflows.has(read.workflowId)) {
        this.#workflows.add(read.workflowId);
        this.#workflowList = [...this.#workflows].sort();
      }
      let run = this.#runs.get(read.runId);
      if (run === undefined) {
        run = { events: [], draft: undefined };
        this.#runs.set(read.runId, run);
        this.#shortIdsStale = true;
      }
      run.events.push(read);
      this.#stale.add(run);
    }
    return added;
  }

  /** Every run, drafted, by start time. Redrafts only the runs that got events since the last call. */
  drafts(): readonly RunDraft[] {
    for (const run of this.#stale) {
      const before = run.draft;
      const after = draftRun(run.events);
      run.draft = after;
      if (before === undefined) {
        this.#sorted.push(after);
        this.#sortedStale = true;
      } else if (before.first !== after.first) {
        this.#sorted[this.#position(before)] = after;
        this.#sortedStale = true;
      } else {
        this.#sorted[this.#position(before)] = after;
      }
    }
    this.#stale.clear();
    if (this.#sortedStale) {
      // Runs mostly arrive in start order, and sorting an ordered list is linear.
      this.#sorted.sort(byStart);
      this.#positions = undefined;
      this.#sortedStale = false;
    }
    return this.#sorted;
  }

  /** Where `draft` is in the sorted list (positions are recounted only after a sort). */
  #position(draft: RunDraft): number {
    let positions = this.#positions;
    if (positions === undefined) {
      positions = this.#positions = new Map();
      for (let i = 0; i < this.#sorted.length; i++) positions.set(this.#sorted[i]!.runId, i);
    }
    return positions.get(draft.runId)!;
  }

  /** Every run's short id (recomputed only when runs were added: a new run can change the others'). */
  shortIds(): ReadonlyMap<string, string> {
    if (this.#shortIdsStale) this.#shortIds = shortRunIds([...this.#runs.keys()]);
    this.#shortIdsStale = false;
    return this.#shortIds;
  }

  /** Every workflow id, sorted. */
  workflows(): readonly string[] {
    return this.#workflowList;
  }
}
