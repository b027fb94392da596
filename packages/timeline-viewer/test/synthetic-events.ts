import type { TimelineEvent } from "@sluice/timeline";

type Extra = Partial<Omit<TimelineEvent, "runId" | "workflowId" | "seq" | "at" | "type">>;

/** Builds one run's events with increasing `seq`, the way the runtime writes them. */
export function runEvents(workflowId: string, runId: string) {
  const events: TimelineEvent[] = [];
  const add = (at: number, type: string, extra: Extra = {}) => {
    const seq = events.length;
    const source = extra.source ?? (type === "log" ? "logger" : "pipeline");
    events.push({ id: `${runId}:${seq}`, runId, workflowId, seq, at, source, type, ...extra });
    return api;
  };
  const api = { events, add };
  return api;
}

/**
 * Three runs: `order-1` (validate → review → [paused 1000..1600] → ship, a log in ship, completed),
 * `order-2` (validate fails at 900) and `report-1` (still running stage `collect`).
 */
export function scenario(): TimelineEvent[] {
  const order1 = runEvents("order", "order-1")
    .add(0, "run.started")
    .add(0, "stage.started", { stage: "validate" })
    .add(0, "step.started", { stage: "validate", step: "check" })
    .add(200, "step.completed", { stage: "validate", step: "check" })
    .add(200, "stage.completed", { stage: "validate" })
    .add(200, "stage.started", { stage: "review" })
    .add(1000, "stage.completed", { stage: "review" })
    .add(1000, "run.paused", { stage: "review", data: { nextStage: "ship" } })
    .add(1600, "run.resumed", { data: { nextStage: "ship" } })
    .add(1600, "stage.started", { stage: "ship" })
    .add(1700, "log", {
      stage: "ship",
      step: "send",
      level: "info",
      message: "shipping",
      data: { carrier: "dhl" },
    })
    .add(2000, "stage.completed", { stage: "ship" })
    .add(2000, "run.completed").events;
  const order2 = runEvents("order", "order-2")
    .add(500, "run.started")
    .add(500, "stage.started", { stage: "validate" })
    .add(500, "step.started", { stage: "validate", step: "check" })
    .add(900, "step.failed", {
      stage: "validate",
      step: "check",
      message: "card declined",
      data: { error: { code: "STEP_FAILED", message: "card declined" } },
    })
    .add(900, "stage.failed", { stage: "validate", message: "card declined" })
    .add(900, "run.failed", { stage: "validate", message: "card declined" }).events;
  const report1 = runEvents("report", "report-1")
    .add(1000, "run.started")
    .add(1000, "stage.started", { stage: "collect" })
    .add(1200, "log", { stage: "collect", level: "warn", message: "slow source" }).events;
  return [...order1, ...order2, ...report1];
}
