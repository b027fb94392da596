import type { TimelineEvent } from "@sluice/timeline";

/** Zero-padded so that run ids sort as their numbers do: `run-000042`. */
export function manyRunId(i: number): string {
  return `run-${String(i).padStart(6, "0")}`;
}

/**
 * `count` finished runs of about 14 events each (run.started, three stages of one step, run.completed),
 * started 10 ms apart from `start`. Every 5th run's second stage runs two steps at once (a second
 * step lane) and every 7th logs a line, so rows are not all the same height.
 */
export function manyRuns(count: number, start = 1_700_000_000_000): TimelineEvent[] {
  const events: TimelineEvent[] = [];
  for (let i = 0; i < count; i++) {
    const runId = manyRunId(i);
    const workflowId = ["orders", "reports", "sync"][i % 3]!;
    let seq = 0;
    let at = start + i * 10;
    const add = (type: string, extra: Partial<TimelineEvent> = {}) => {
      events.push({
        id: `${runId}:${seq}`,
        runId,
        workflowId,
        seq: seq++,
        at,
        source: "pipeline",
        type,
        ...extra,
      });
    };
    add("run.started");
    for (const stage of ["fetch", "check", "store"]) {
      add("stage.started", { stage });
      add("step.started", { stage, step: "work" });
      if (stage === "check" && i % 5 === 0) add("step.started", { stage, step: "audit" });
      at += 4;
      if (stage === "check" && i % 7 === 0)
        add("log", { stage, step: "work", level: "info", message: "checked" });
      add("step.completed", { stage, step: "work" });
      if (stage === "check" && i % 5 === 0) add("step.completed", { stage, step: "audit" });
      add("stage.completed", { stage });
    }
    add("run.completed");
  }
  return events;
}
