import type { ArtifactContainer } from "@sluice/artifacts";
import type { SystemError } from "@sluice/errors";
import { Pipeline, PipelineRegistry } from "@sluice/pipeline";
import { PauseWindow } from "./pause-window.js";
import type { RunRecord } from "./run-record.js";
import { createWorkflowServices } from "./service-containers.js";
import type { RegisterOptions, RunState, TriggerDefinition, Workflow } from "./types.js";
import { WorkflowRecord } from "./workflow-record.js";

const DEFAULT_PAUSE_WINDOW_MS = 30_000;

/**
 * The record of a workflow being registered, built from the runtime's read of its definition and
 * options (`readDefinition`: checked already, and never the host's objects; each pipeline's
 * definition `new Pipeline()` reads once itself): its pipelines built,
 * its triggers, its service scope over the global services and env, its run registry and pause
 * window. The runtime then gives it its execution policy and timeline observer, which reach back
 * into the runtime.
 */
export function createWorkflowRecord(
  workflow: Workflow<any>,
  options: RegisterOptions<any>,
  globalServices: ArtifactContainer,
  globalEnv: Readonly<Record<string, string | undefined>>,
  /** The runtime's `hookTimeoutMs`, for a workflow that sets none. */
  defaultHookTimeoutMs: number,
  onPauseWindowEnd: (record: RunRecord) => void,
  /** Where an eager workflow service's failed build is reported. */
  onError: (error: SystemError) => void,
): WorkflowRecord {
  const pipelines = new Map<string, Pipeline<RunState>>();
  for (const [pipelineId, definition] of Object.entries(workflow.pipelines)) {
    pipelines.set(pipelineId, new Pipeline<RunState>(pipelineId, definition as never));
  }
  const triggers = new Map(Object.entries(workflow.triggers) as [string, TriggerDefinition<any, RunState>][]);

  const { scope, runTemplates } = createWorkflowServices(globalServices, workflow, globalEnv, onError);
  const registry = new PipelineRegistry({
    workflowId: workflow.id,
    ...(options.retention !== undefined && { retention: options.retention }),
  });
  return new WorkflowRecord(
    workflow.id,
    workflow,
    options,
    triggers,
    pipelines,
    scope,
    runTemplates,
    registry,
    new PauseWindow(options.pauseWindowMs ?? DEFAULT_PAUSE_WINDOW_MS, onPauseWindowEnd),
    options.hookTimeoutMs ?? defaultHookTimeoutMs,
  );
}
