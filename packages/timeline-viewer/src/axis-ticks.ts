import { formatDuration } from "./format-duration.js";
import type { TimelineAxisTick } from "./layout-types.js";

// "Nice" tick steps, in ms; the smallest one leaving MIN_TICK_SPACING_PX between ticks wins.
const STEPS = [
  1, 2, 5, 10, 20, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000,
  600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000,
];
const MIN_TICK_SPACING_PX = 90;

/** Ticks from `start` to `end` (epoch ms) over `width` pixels, labelled with the time since `start`. */
export function axisTicks(start: number, end: number, width: number): TimelineAxisTick[] {
  const span = end - start;
  if (!(span > 0) || !(width > 0)) return [{ at: start, x: 0, label: "0" }];
  const wanted = (span * MIN_TICK_SPACING_PX) / width;
  let step = STEPS[STEPS.length - 1]!;
  for (const candidate of STEPS) {
    if (candidate >= wanted) {
      step = candidate;
      break;
    }
  }
  while (step < wanted) step *= 2;
  const ticks: TimelineAxisTick[] = [];
  for (let offset = 0; offset <= span; offset += step) {
    ticks.push({ at: start + offset, x: (offset / span) * width, label: formatDuration(offset) });
  }
  return ticks;
}
