// Draws runs' timelines in a terminal from the layout @sluice/timeline-viewer computes for its
// Gantt chart (layoutTimeline: plain rows, bars, pauses, axis ticks), one character per 8 px.
import { layoutTimeline } from "@sluice/timeline-viewer";

const PX_PER_COLUMN = 8;
const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code, text) => (useColor ? `\x1b[${code}m${text}\x1b[0m` : text);
const COLORS = { completed: 32, failed: 31, aborted: 33, paused: 90, running: 36, mark: 35 };

/**
 * One row per run on a shared time axis: stages as `█`, paused stretches as `░`, and a `┆` at each
 * of `marks` (an instant and a legend, e.g. where the process changed).
 *
 * @param {import("@sluice/timeline").TimelineEvent[]} events the runs' events, any order
 * @param {{ columns?: number, labels?: Map<string, string>, marks?: { at: number, legend: string }[] }} [options]
 *   `labels`: text to show for a run id (default: the layout's short id and status)
 */
export function renderChart(events, { columns = 56, labels = new Map(), marks = [] } = {}) {
  const layout = layoutTimeline(events, { width: columns * PX_PER_COLUMN });
  const col = (x) => Math.min(columns - 1, Math.max(0, Math.floor(x / PX_PER_COLUMN)));
  const colAt = (at) => col(((at - layout.start) / Math.max(1, layout.end - layout.start)) * layout.width);
  const rows = layout.rows.map((row) => {
    const cells = Array.from({ length: columns }, () => " ");
    const fill = (x, width, ch, color) => {
      for (let c = col(x); c <= col(x + width); c++) cells[c] = paint(color, ch);
    };
    for (const pause of row.pauses) fill(pause.x, pause.width, "░", COLORS.paused);
    for (const mark of marks) cells[colAt(mark.at)] = paint(COLORS.mark, "┆");
    for (const bar of row.bars)
      if (bar.kind === "stage") fill(bar.x, bar.width, "█", COLORS[bar.status] ?? 0);
    const label = labels.get(row.runId) ?? `${row.shortRunId} ${row.status}`;
    return { label, line: cells.join(""), status: paint(COLORS[row.status] ?? 0, row.status) };
  });
  const width = Math.max(...rows.map((r) => r.label.length));
  const axis = Array.from({ length: columns + 8 }, () => " ");
  for (const tick of layout.ticks) axis.splice(col(tick.x), tick.label.length, ...tick.label);
  return [
    ...rows.map((r) => `  ${r.label.padEnd(width)} │${r.line}│ ${r.status}`),
    `  ${" ".repeat(width)}  ${axis.join("").trimEnd()}`,
    `  ${" ".repeat(width)} █ stage  ░ paused${marks.map((m) => `  ┆ ${m.legend}`).join("")}`,
  ].join("\n");
}

/**
 * One run's events as its sequence, grouped by the process that wrote them: run events by name,
 * each stage's events as one `from–to stage <id>` range.
 *
 * @param {import("@sluice/timeline").TimelineEvent[]} events one run's events, in seq order
 * @param {(event: import("@sluice/timeline").TimelineEvent) => string} writer which process wrote it
 */
export function describeSequence(events, writer) {
  const lines = [];
  let current;
  for (const event of events) {
    const who = writer(event);
    if (current?.who !== who) lines.push((current = { who, parts: [] }));
    const last = current.parts.at(-1);
    if (event.stage !== undefined && !event.type.startsWith("run.") && last?.stage === event.stage) {
      last.to = event.seq;
    } else if (event.stage !== undefined && !event.type.startsWith("run.")) {
      current.parts.push({ stage: event.stage, from: event.seq, to: event.seq });
    } else {
      current.parts.push({ text: `${event.seq} ${event.type}` });
    }
  }
  const part = (p) => p.text ?? `${p.from}–${p.to} stage ${p.stage}`;
  return lines.map((l) => `${l.who}: ${l.parts.map(part).join(" · ")}`);
}
