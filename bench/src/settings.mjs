// Sizes and time budgets. BENCH_QUICK=1 shrinks everything for a smoke run; the full figures are
// the ones BENCHMARKS.md records.
export const QUICK = process.env.BENCH_QUICK === "1";

export const SETTINGS = QUICK
  ? {
      repeats: 1,
      pairBudgetMs: 15_000,
      childTimeoutMs: 120_000,
      timed: { warmupMs: 100, measureMs: 300, rounds: 3 },
      concurrentRuns: 1_000,
      parkedRuns: 1_000,
      dispatchedEvents: 10_000,
      timeline: { warmupMs: 50, measureMs: 200, poolEvents: { 1: 2_000, 100: 20_000, 1000: 40_000 } },
    }
  : {
      repeats: Number(process.env.BENCH_REPEATS ?? 3),
      // Once a contender has spent this long on one workload, its remaining repeats are skipped (the
      // table's n column shows how many ran): one slow engine must not stretch the bench to an hour.
      pairBudgetMs: 30_000,
      childTimeoutMs: 240_000,
      timed: { warmupMs: 500, measureMs: 1_500, rounds: 5 },
      concurrentRuns: 10_000,
      parkedRuns: 10_000,
      dispatchedEvents: 100_000,
      timeline: { warmupMs: 200, measureMs: 1_000, poolEvents: { 1: 20_000, 100: 200_000, 1000: 400_000 } },
    };

/** The worker prints its figures on a stdout line starting with this. */
export const RESULT_PREFIX = "BENCH_RESULT ";
