// The two built-in services' types, so `d.require<PauseService>("__pause_service__")` needs no extra import.

// The pipeline and artifact types the runtime's API names (`watch` gives a RunInfo, `registry` a
// PipelineRegistry, steps and service factories get these contexts; a run.resumed event's data is
// `{ nextStage, ...ResumeCause }`), so a host needs no import of @sluice/pipeline or
// @sluice/artifacts, which it does not install itself.
export type { ArtifactFactoryContext } from "@sluice/artifacts";
export type { EnvService } from "@sluice/env";
export type {
  Condition,
  PauseHandle,
  PauseRegistration,
  PauseRequestData,
  PauseService,
} from "@sluice/pause";
export type {
  PipelineDefinition,
  PipelineRegistry,
  ResumeCause,
  RetentionPolicy,
  RunInfo,
  StageDefinition,
  StepContext,
  StepDefinition,
  StepLogger,
  UseDependencyContext,
} from "@sluice/pipeline";
// The timeline types a host names (`timelineStore`, a run's events), with no import of @sluice/timeline.
export type { TimelineEvent, TimelineQuery, TimelineStore } from "@sluice/timeline";
export type { BuiltInServices } from "./built-in-services.js";
export { ControlEvent, type ControlEventMap } from "./control-events.js";
export { defineWorkflow } from "./define-workflow.js";
export { DEFAULT_QUEUE_CAPACITY } from "./modes/create-policy.js";
export type { RunCheckpoint } from "./run-checkpoint.js";
export type {
  BatchPayload,
  CancelOn,
  ConcurrencyKey,
  ControlEventOptions,
  DispatchOutcome,
  DispatchResult,
  DispatchResultBase,
  DrainOptions,
  DrainReport,
  EndedRunResult,
  ExclusiveMode,
  ExecutionMode,
  FailedRunMetadata,
  PauseContext,
  PrepareContext,
  RegisterOptions,
  ResumeContext,
  RunPriority,
  RunResult,
  RunResultMetadata,
  RunState,
  SerializedMode,
  ServiceDefinition,
  SingletonLoopMode,
  StartedRunMetadata,
  TransientMode,
  TriggerBatch,
  TriggerDebounce,
  TriggerDefinition,
  TriggerRateLimit,
  TriggerThrottle,
  Workflow,
  WorkflowRuntimeOptions,
  WorkflowServiceDefinition,
  WorkflowServiceScope,
} from "./types.js";
export { RESERVED_SERVICE_IDS } from "./validate-workflow.js";
export { WorkflowRuntime } from "./workflow-runtime.js";
