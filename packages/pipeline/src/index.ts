export { MAX_TIMER_MS } from "./abort-timing.js";
export { MAX_CHECKPOINT_SEQ } from "./checkpoint.js";
export { Pipeline } from "./pipeline.js";
export { PipelineRegistry, type RetentionPolicy, type RunInfo } from "./pipeline-registry.js";
export { PipelineRun } from "./pipeline-run.js";
export type {
  AttemptOutcome,
  AttemptStatus,
  DependencyScope,
  IsDefaultState,
  KnownServices,
  LogLevel,
  PauseRequest,
  PipelineCheckpoint,
  PipelineDefinition,
  PipelineEventType,
  PipelineLifecycleEvent,
  PipelineObserver,
  PipelineOutcome,
  PipelineResult,
  PipelineResultMetadata,
  PipelineState,
  PipelineStatus,
  RestoreOptions,
  ResumeCause,
  RetryPolicy,
  RunOptions,
  StageDefinition,
  StateAccess,
  StatePatch,
  StepAttempt,
  StepContext,
  StepDefinition,
  StepLogger,
  UseDependencyContext,
} from "./types.js";
export { validatePipeline } from "./validate-pipeline.js";
