/** The fields that place an event in the timeline's total order. */
export interface TimelinePosition {
  /** Epoch milliseconds. */
  at: number;
  /** Position within the run. */
  seq: number;
  /** The event id; breaks ties. */
  id: string;
}

/**
 * The total order every query returns: by `at`, then `seq`, then `id` (ids compare as JavaScript
 * strings, by UTF-16 code units). Negative when `a` comes first, positive when `b` does, `0` only
 * for the same (`at`, `seq`, `id`).
 *
 * @example
 * ```ts
 * events.sort(compareTimelineEvents);
 * ```
 */
export function compareTimelineEvents(a: TimelinePosition, b: TimelinePosition): number {
  if (a.at !== b.at) return a.at < b.at ? -1 : 1;
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  if (a.id === b.id) return 0;
  return a.id < b.id ? -1 : 1;
}
