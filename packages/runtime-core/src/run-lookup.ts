import type { IdMap } from "@sluice/id-map";
import type { PipelineRegistry, RunInfo } from "@sluice/pipeline";
import { keptResultsOf } from "./kept-results.js";
import type { RunRecord } from "./run-record.js";
import type { WorkflowRecord } from "./workflow-record.js";

// Reads that answer from the workflows' registries: they hold finished runs too (until retention
// drops them), which the table of unfinished runs does not. Each reads through `currentRegistry`.

/**
 * `wf`'s registry, its finished runs older than `retention.maxAgeMs` dropped first: retention runs
 * as runs end, so a workflow that has gone quiet would otherwise answer (`watch`, `listAllRuns`,
 * `registry(id)`, `result`, `adopt` …) with runs past their age. Without an age limit there is
 * nothing to drop (`maxFinished` holds at every write), and no clock to read on every `watch`.
 */
export function currentRegistry(wf: WorkflowRecord): PipelineRegistry {
  const registry = wf.registry;
  if (wf.options.retention?.maxAgeMs !== undefined) registry.prune();
  return registry;
}

/**
 * The `RunInfo` of run `runId` of workflow `workflowId`, or `undefined`: the registry's, else (an
 * ended run its retention dropped) the one it ended with, while the workflow keeps its result.
 */
export function watchRun(
  workflows: ReadonlyMap<string, WorkflowRecord>,
  runs: IdMap<RunRecord>,
  workflowId: string,
  runId: string,
): RunInfo | undefined {
  const wf = workflows.get(workflowId);
  if (wf === undefined) return undefined;
  const info = currentRegistry(wf).get(runId);
  if (info === undefined) return wf.keptResults?.info(runId);
  return withLiveStage(runs, info);
}

/**
 * The `RunInfo` of run `runId`, whichever registered workflow it belongs to, or `undefined`: `watch`
 * once its workflow is known. An unfinished run names its workflow in its record (no registry is
 * searched); a finished one is looked for in each workflow's registry, then among the kept results.
 */
export function findRun(
  workflows: ReadonlyMap<string, WorkflowRecord>,
  runs: IdMap<RunRecord>,
  runId: string,
): RunInfo | undefined {
  if (typeof runId !== "string") return undefined;
  const workflowId = runs.get(runId)?.workflow.id ?? workflowOfFinished(workflows, runId);
  if (workflowId === undefined) return keptResultsOf(workflows, runId)?.info(runId);
  return watchRun(workflows, runs, workflowId, runId);
}

/** Every run the registries know, across all registered workflows. */
export function listAllRuns(
  workflows: ReadonlyMap<string, WorkflowRecord>,
  runs: IdMap<RunRecord>,
): RunInfo[] {
  const all: RunInfo[] = [];
  for (const wf of workflows.values()) {
    for (const info of currentRegistry(wf).list()) all.push(withLiveStage(runs, info));
  }
  return all;
}

/** The id of the registered workflow whose registry still knows run `runId` (it has finished). */
export function workflowOfFinished(
  workflows: ReadonlyMap<string, WorkflowRecord>,
  runId: string,
): string | undefined {
  for (const wf of workflows.values()) if (currentRegistry(wf).has(runId)) return wf.id;
  return undefined;
}

/** The `RunInfo` (a copy) of run `runId` from the registered workflow whose registry still knows it. */
export function finishedRunInfo(
  workflows: ReadonlyMap<string, WorkflowRecord>,
  runId: string,
): RunInfo | undefined {
  for (const wf of workflows.values()) {
    const info = currentRegistry(wf).get(runId);
    if (info !== undefined) return info;
  }
  return undefined;
}

/** `info` (a copy the caller owns) with the stage a running run is in now: the registry records stages only at status changes. */
function withLiveStage(runs: IdMap<RunRecord>, info: RunInfo): RunInfo {
  const live = info.status === "running" ? runs.get(info.runId)?.pipelineRun?.currentStage : undefined;
  return live === undefined || live === info.stage ? info : { ...info, stage: live };
}
