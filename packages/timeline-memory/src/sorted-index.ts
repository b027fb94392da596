import { compareTimelineEvents, type TimelinePosition } from "@sluice/timeline";
import type { StoredEvent } from "./stored-event.js";

// Below this many tombstones an index is never compacted: rewriting small arrays often costs more
// than skipping a few dead slots.
const MIN_COMPACT = 64;

/**
 * Entries in (at, seq, id) order. Removal only marks an entry dead (O(1)). Dead entries at the
 * front (eviction of the oldest, the common case) are skipped by moving `start`; the array is
 * rewritten once the skipped prefix or the dead entries behind `start` outweigh the live ones, so
 * eviction and delete stay amortised O(1) per event.
 */
export class SortedIndex {
  items: StoredEvent[] = [];
  /** Entries before `start` are all dead. */
  start = 0;
  /** Dead entries at or after `start`. */
  dead = 0;

  get live(): number {
    return this.items.length - this.start - this.dead;
  }

  add(entry: StoredEvent): void {
    const items = this.items;
    const n = items.length;
    // Runtimes append in time order, so nearly every event goes at the end.
    if (n === this.start || compareTimelineEvents(items[n - 1]!, entry) < 0) {
      items.push(entry);
      return;
    }
    items.splice(this.firstAfter(entry), 0, entry);
  }

  /** Records that one entry of this index died; compacts when tombstones dominate. */
  died(): void {
    this.dead++;
    const items = this.items;
    let start = this.start;
    while (start < items.length && !items[start]!.alive) {
      start++;
      this.dead--;
    }
    this.start = start;
    if (start >= MIN_COMPACT && start * 2 > items.length) {
      this.items = items.slice(start);
      this.start = 0;
    } else if (this.dead >= MIN_COMPACT && this.dead * 2 > items.length - start) {
      this.items = items.slice(start).filter(isAlive);
      this.start = 0;
      this.dead = 0;
    }
  }

  /** Index of the first entry with `at >= from`. */
  firstAtOrAfter(from: number): number {
    const items = this.items;
    let lo = this.start;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (items[mid]!.at < from) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the first entry strictly after `position` in (at, seq, id) order. */
  firstAfter(position: TimelinePosition): number {
    const items = this.items;
    let lo = this.start;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareTimelineEvents(items[mid]!, position) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function isAlive(entry: StoredEvent): boolean {
  return entry.alive;
}
