/**
 * How many idle entries (an event's emptied wait index, a condition path's emptied map, an unused
 * bus subscription) a table keeps for reuse before it may sweep them: a workflow that pauses on
 * one event empties and refills its entries every cycle, and must not rebuild them each time.
 */
const IDLE_KEPT = 64;

/**
 * True when a table of `size` entries, `idle` of them idle, should drop its idle ones: there are
 * more than {@link IDLE_KEPT} and they outnumber the rest. Keys made from data
 * (`order.<id>.approved`, `votes.<userId>`) then cannot grow the table without bound, and a sweep
 * comes at most once per as many new idle entries as the table has entries in use.
 */
export function sweepIsDue(idle: number, size: number): boolean {
  return idle > IDLE_KEPT && idle * 2 > size;
}
