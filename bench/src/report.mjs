// Turns the figures of every (workload, contender, repeat) into the table and the goal verdicts.
import { median } from "./measure.mjs";
import { CONTENDERS, WORKLOADS } from "./registry.mjs";

/**
 * @typedef {{ workload: string, contender: string, repeat: number,
 *   metrics?: { key: string, label: string, value: number }[], error?: string }} Sample
 */

function fmt(value) {
  if (!Number.isFinite(value)) return "—";
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString("en-US");
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

function fmtRatio(ratio) {
  if (!Number.isFinite(ratio)) return "—";
  return ratio >= 100
    ? `${Math.round(ratio).toLocaleString("en-US")}×`
    : `${ratio.toFixed(ratio >= 10 ? 1 : 2)}×`;
}

/**
 * Per (workload, metric, contender): median and min–max over the repeats, and the median over the
 * repeats of (figure ÷ the floor's figure from the same repeat).
 * @param {Sample[]} samples
 */
export function summarize(samples) {
  const rows = [];
  for (const [workload, spec] of Object.entries(WORKLOADS)) {
    const of = (contender) => samples.filter((s) => s.workload === workload && s.contender === contender);
    const floor = of(spec.floor);
    const keys = [];
    for (const s of samples) {
      if (s.workload !== workload) continue;
      for (const m of s.metrics ?? []) if (!keys.some((k) => k.key === m.key)) keys.push(m);
    }
    for (const { key, label } of keys) {
      for (const contender of spec.contenders) {
        const mine = of(contender);
        if (mine.length === 0) continue;
        const crashed = mine.find((s) => s.error);
        const values = mine.map((s) => s.metrics?.find((m) => m.key === key)?.value).filter(Number.isFinite);
        const ratios = [];
        for (const s of mine) {
          const v = s.metrics?.find((m) => m.key === key)?.value;
          const f = floor.find((x) => x.repeat === s.repeat)?.metrics?.find((m) => m.key === key)?.value;
          if (Number.isFinite(v) && Number.isFinite(f) && f > 0) ratios.push(v / f);
        }
        rows.push({
          workload,
          key,
          label,
          contender,
          n: values.length,
          median: values.length ? median(values) : Number.NaN,
          min: values.length ? Math.min(...values) : Number.NaN,
          max: values.length ? Math.max(...values) : Number.NaN,
          ratio: ratios.length ? median(ratios) : Number.NaN,
          ratios,
          crashed: crashed?.error,
        });
      }
    }
  }
  return rows;
}

/** The table, as Markdown (it reads fine in a terminal too). */
export function table(rows) {
  const lines = [
    "| workload | figure (lower is better) | contender | n | median | min–max | × floor |",
    "| --- | --- | --- | ---: | ---: | ---: | ---: |",
  ];
  let last = "";
  for (const r of rows) {
    const w = r.workload === last ? "" : `**${r.workload}** ${WORKLOADS[r.workload].title}`;
    last = r.workload;
    const label = CONTENDERS[r.contender].label;
    if (r.crashed && r.n === 0) {
      lines.push(`| ${w} | ${r.label} | ${label} | 0 | CRASHED | — | — |`);
      continue;
    }
    const range = r.n > 1 ? `${fmt(r.min)}–${fmt(r.max)}` : "—";
    const crash = r.crashed ? " (a repeat CRASHED)" : "";
    lines.push(
      `| ${w} | ${r.label} | ${label}${crash} | ${r.n} | ${fmt(r.median)} | ${range} | ${r.contender === WORKLOADS[r.workload].floor ? "1×" : fmtRatio(r.ratio)} |`,
    );
  }
  return lines.join("\n");
}

/** Ratios a ÷ b, one per repeat where both ran. */
function pairedRatios(samples, workload, key, a, b) {
  const get = (c, repeat) =>
    samples
      .find((s) => s.workload === workload && s.contender === c && s.repeat === repeat)
      ?.metrics?.find((m) => m.key === key)?.value;
  const ratios = [];
  for (const s of samples.filter((x) => x.workload === workload && x.contender === a)) {
    const va = get(a, s.repeat);
    const vb = get(b, s.repeat);
    if (Number.isFinite(va) && Number.isFinite(vb) && vb > 0) ratios.push(va / vb);
  }
  return ratios;
}

/**
 * A goal's verdict from its figure in each repeat: MET when every repeat meets it, MISSED when none
 * does, UNSURE when the repeats fall on both sides. The machine's noise can move one repeat's
 * floor by 2× (BENCHMARKS.md), so the median alone could call a goal met that most runs miss.
 */
export function judge(perRepeat, meets) {
  const known = perRepeat.filter(Number.isFinite);
  if (known.length === 0) return "NOT MEASURED";
  const met = known.filter(meets).length;
  if (met === known.length) return "MET";
  if (met === 0) return "MISSED";
  return `UNSURE (${met} of ${known.length} repeats meet it: rerun with more repeats on a quieter machine)`;
}

/** ` (repeats a–b×)` when there is more than one repeat, for a ratio's figure. */
function ratioSpread(ratios) {
  if (ratios.length < 2) return "";
  return ` (repeats ${fmtRatio(Math.min(...ratios))}–${fmtRatio(Math.max(...ratios))})`;
}

/** The product goals of issue 7, judged on this run's figures. */
export function goals(rows, samples) {
  const find = (workload, key, contender) =>
    rows.find((r) => r.workload === workload && r.key === key && r.contender === contender);
  const out = [];

  const w1 = find("W1", "us_per_run", "sluice");
  const w1ratios = w1?.ratios ?? [];
  out.push({
    goal: "W1: Sluice ≤ 3× the plain-async floor",
    figure: w1 ? `${fmtRatio(w1.ratio)} the floor (${fmt(w1.median)} µs/run)${ratioSpread(w1ratios)}` : "—",
    verdict: judge(w1ratios, (r) => r <= 3),
  });

  const lgRatios = pairedRatios(samples, "W1", "us_per_run", "langgraph", "sluice");
  const lg = lgRatios.length ? median(lgRatios) : Number.NaN;
  out.push({
    goal: "W1: Sluice ≥ 30× faster than LangGraph.js",
    figure: Number.isFinite(lg) ? `${fmtRatio(lg)} faster${ratioSpread(lgRatios)}` : "—",
    verdict: judge(lgRatios, (r) => r >= 30),
  });

  // The goal is read on Sluice as configured by default (a 30 s pause window: a run resumed within
  // it still has its live context, as an XState actor always does). The cold path (pause window
  // 0: rebuilt from the JSON checkpoint) is shown beside it, and in the table.
  const w3 = find("W3", "us_per_cycle", "sluice-warm");
  const w3cold = find("W3", "us_per_cycle", "sluice");
  const peers = ["langgraph", "xstate", "mastra"]
    .map((c) => find("W3", "us_per_cycle", c))
    .filter((r) => r && Number.isFinite(r.median))
    .sort((a, b) => a.median - b.median);
  const best = peers[0];
  const w3ratio = best && w3 ? best.median / w3.median : Number.NaN;
  const w3ratios =
    best && w3 ? pairedRatios(samples, "W3", "us_per_cycle", best.contender, "sluice-warm") : [];
  const coldNote =
    best && w3cold
      ? `; cold path (pause window 0): ${fmtRatio(best.median / w3cold.median)} (${fmt(w3cold.median)} µs)`
      : "";
  out.push({
    goal: "W3: Sluice ≥ 10× faster than the best peer (default pause window)",
    figure:
      best && w3
        ? `${fmtRatio(w3ratio)} faster than ${CONTENDERS[best.contender].label} (${fmt(w3.median)} vs ${fmt(best.median)} µs/cycle)${ratioSpread(w3ratios)}${coldNote}`
        : "—",
    verdict: judge(w3ratios, (r) => r >= 10),
  });

  const w4 = find("W4", "bytes_per_parked", "sluice");
  out.push({
    goal: "W4: Sluice ≤ 2 KiB per parked run",
    figure: w4 ? `${fmt(w4.median / 1024)} KiB (${fmt(w4.median)} B)` : "—",
    verdict: judge(
      samples
        .filter((x) => x.workload === "W4" && x.contender === "sluice")
        .map((x) => x.metrics?.find((m) => m.key === "bytes_per_parked")?.value ?? Number.NaN),
      (bytes) => bytes <= 2048,
    ),
  });
  return out;
}

export function goalsTable(verdicts) {
  return [
    "| goal | this run | verdict |",
    "| --- | --- | --- |",
    ...verdicts.map((g) => `| ${g.goal} | ${g.figure} | ${g.verdict} |`),
  ].join("\n");
}
