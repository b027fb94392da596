/** The shortest axis, ms: an axis of a single instant still needs a length to divide by. */
const MIN_SPAN_MS = 1;

/** A time axis: epoch ms from `start` to `end` mapped to pixels from 0 to `width`. */
export interface TimeScale {
  /** Left end, epoch ms. */
  start: number;
  /** Right end, epoch ms: the `end` asked for, or `start + 1` for an axis shorter than 1 ms. */
  end: number;
  /** Pixels from the left end; finite for every time between the ends. */
  toX(at: number): number;
}

/**
 * The axis from `start` to `end` over `width` pixels. Calling it again with the `start` and `end`
 * it returned gives the same pixels (the renderer does, to place the now line).
 */
export function timeScale(start: number, end: number, width: number): TimeScale {
  // Work with half of every time: `end - start` overflows to Infinity when two finite `at` values
  // are far apart (-1e308 and 1e308 are valid), half of it cannot. Halving is exact, so ordinary
  // axes get exactly the pixels `(at - start) / (end - start) * width` gives.
  const halfStart = start / 2;
  const halfSpan = end / 2 - halfStart;
  if (halfSpan >= MIN_SPAN_MS / 2) {
    return { start, end, toX: (at) => ((at / 2 - halfStart) / halfSpan) * width };
  }
  return { start, end: start + MIN_SPAN_MS, toX: (at) => ((at - start) / MIN_SPAN_MS) * width };
}
