/** Renders one run's timeline events as a small Gantt chart for a terminal. */

const FULL = "█";
const PAUSED = "░";
const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code, text) => (useColor ? `\x1b[${code}m${text}\x1b[0m` : text);
const COLORS = { completed: 32, failed: 31, aborted: 33, paused: 90, log: 36, warn: 33, error: 31 };

/**
 * What resumed a run, from its `run.resumed` event's `data` (`{ nextStage, by, event?, wait? }`),
 * for the paused row's note; "" when the event does not say.
 * @param {unknown} data
 */
function resumedBy(data) {
  const by = typeof data === "object" && data !== null ? data.by : undefined;
  const event = typeof data?.event === "string" ? data.event : undefined;
  if (by === "event") return event === undefined ? "resumed by an event" : `resumed by ${event}`;
  if (by === "timeout") return event === undefined ? "timed out" : `timed out waiting for ${event}`;
  if (by === "resume") return "resumed by resume()";
  if (by === "control") return "resumed by control event";
  return "";
}

/**
 * @param {import("@sluice/timeline").TimelineEvent[]} events one run's events, in order
 * @param {{ width?: number }} [options]
 */
export function renderRunChart(events, { width = 48 } = {}) {
  if (events.length === 0) return "(no events)";
  const t0 = events[0].at;
  const t1 = Math.max(events.at(-1).at, t0 + 1);
  const col = (at) => Math.min(width - 1, Math.floor(((at - t0) / (t1 - t0)) * (width - 1)));
  const bar = (from, to, ch) => " ".repeat(col(from)) + ch.repeat(Math.max(1, col(to) - col(from) + 1));

  const rows = [];
  const open = new Map();
  let pausedAt;
  for (const e of events) {
    if (e.type === "stage.started") open.set(e.stage, e.at);
    else if (e.type === "stage.completed" || e.type === "stage.failed") {
      const from = open.get(e.stage) ?? e.at;
      const status = e.type === "stage.failed" ? "failed" : "completed";
      rows.push({
        label: e.stage,
        line: paint(COLORS[status], bar(from, e.at, FULL)),
        note: status === "failed" ? e.message : "",
      });
    } else if (e.type === "run.paused") pausedAt = e.at;
    else if (e.type === "run.resumed" && pausedAt !== undefined) {
      rows.push({
        label: "(paused)",
        line: paint(COLORS.paused, bar(pausedAt, e.at, PAUSED)),
        note: [`${e.at - pausedAt} ms`, resumedBy(e.data)].filter((text) => text !== "").join(", "),
      });
      pausedAt = undefined;
    } else if (e.source === "logger") {
      const tone = COLORS[e.level] ?? COLORS.log;
      const data = e.data === undefined ? "" : ` ${JSON.stringify(e.data)}`;
      rows.push({
        label: `  ${e.level}`,
        line: paint(tone, `${" ".repeat(col(e.at))}▲`),
        note: `${e.message}${data}`,
      });
    }
  }
  const last = events.at(-1);
  const status = last.type.replace("run.", "");
  const head = `${paint(COLORS[status] ?? 0, status.padEnd(9))} ${t1 - t0} ms`;
  const body = rows.map((r) => `  ${r.label.padEnd(10)} │${r.line.padEnd(width)} ${r.note}`);
  return [head, ...body].join("\n");
}
