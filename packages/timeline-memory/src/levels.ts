import type { TimelineLevel } from "@sluice/timeline";

/** The levels by their index in the log's `levels` column; 0 is no level. */
export const LEVELS: ReadonlyArray<TimelineLevel | undefined> = [undefined, "debug", "info", "warn", "error"];

/** The index in {@link LEVELS} of a valid level. */
export function levelIndex(level: TimelineLevel): number {
  return level === "debug" ? 1 : level === "info" ? 2 : level === "warn" ? 3 : 4;
}
