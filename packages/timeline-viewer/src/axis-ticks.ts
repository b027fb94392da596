import { formatDuration } from "./format-duration.js";
import type { TimelineAxisTick } from "./layout-types.js";

// "Nice" tick steps, in ms; the smallest one leaving MIN_TICK_SPACING_PX between ticks wins.
const STEPS = [
  1, 2, 5, 10, 20, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000,
  600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000,
];
const MIN_TICK_SPACING_PX = 90;
// A cap on the work per layout: a `width` in the millions of pixels would otherwise ask for one
// tick per 90 px, and the time it takes must not grow with what the caller passes.
const MAX_TICKS = 1000;

/**
 * Ticks from `start` to `end` (epoch ms) over `width` pixels, labelled with the time since `start`:
 * at most 1001 of them, and a single `"0"` tick when the axis is an instant or
 * longer than a number can hold (finite ends 1e308 apart).
 */
export function axisTicks(start: number, end: number, width: number): TimelineAxisTick[] {
  const span = end - start;
  const step = span > 0 && Number.isFinite(span) && width > 0 ? tickStep(span, width) : undefined;
  if (step === undefined) return [{ at: start, x: 0, label: "0" }];
  const ticks: TimelineAxisTick[] = [];
  // Offsets are `i * step`, never a running sum: a sum stops growing once `step` is below its
  // precision, and the loop with it would never end.
  for (let i = 0; i <= MAX_TICKS; i++) {
    const offset = i * step;
    if (offset > span) break;
    ticks.push({ at: start + offset, x: (offset / span) * width, label: formatDuration(offset) });
  }
  return ticks;
}

/** The smallest nice step (ms) leaving room between ticks and at most MAX_TICKS of them; undefined when none is finite. */
function tickStep(span: number, width: number): number | undefined {
  // (divided first: span * 90 would pass Number.MAX_VALUE for spans far shorter than the 1e308 limit)
  const wanted = Math.max((span / width) * MIN_TICK_SPACING_PX, span / MAX_TICKS);
  let step = STEPS.find((candidate) => candidate >= wanted) ?? STEPS[STEPS.length - 1]!;
  // Doubling ends: at worst `step` reaches Infinity, which is not below anything.
  while (step < wanted) step *= 2;
  return Number.isFinite(step) ? step : undefined;
}
