import { describe, expect, it } from "vitest";
import { goals, judge, summarize } from "../src/report.mjs";

const sample = (contender, repeat, value) => ({
  workload: "W1",
  contender,
  repeat,
  metrics: [{ key: "us_per_run", label: "µs / run", value }],
});

describe("goal verdicts", () => {
  it("are MET or MISSED only when every repeat agrees", () => {
    expect(judge([2.1, 2.5, 2.9], (r) => r <= 3)).toBe("MET");
    expect(judge([3.4, 3.9, 4.1], (r) => r <= 3)).toBe("MISSED");
    expect(judge([2.0, 2.26, 3.8], (r) => r <= 3)).toMatch(/^UNSURE \(2 of 3 repeats meet it/);
    expect(judge([], (r) => r <= 3)).toBe("NOT MEASURED");
  });

  // A run of this session: the floor ran slow in two repeats, and the median of the ratios (2.26×)
  // said MET for a goal the quiet floor (0.6 µs) puts at ~4×.
  it("W1 is not called met on a floor that was slow in most repeats", () => {
    const samples = [
      sample("plain", 0, 1.184),
      sample("sluice", 0, 2.364),
      sample("plain", 1, 1.133),
      sample("sluice", 1, 2.555),
      sample("plain", 2, 0.942),
      sample("sluice", 2, 3.575),
    ];
    const w1 = goals(summarize(samples), samples).find((g) => g.goal.startsWith("W1: Sluice ≤ 3×"));
    expect(w1.verdict).toMatch(/^UNSURE/);
    expect(w1.figure).toBe("2.26× the floor (2.56 µs/run) (repeats 2.00×–3.80×)");
  });
});
