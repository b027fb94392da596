import type { ArtifactTemplate, ScopedContainer } from "@sluice/artifacts";
import type { Pipeline, PipelineObserver, PipelineRegistry } from "@sluice/pipeline";
import type { ExecutionPolicy } from "./modes/execution-policy.js";
import { FifoQueue } from "./modes/fifo-queue.js";
import type { RunRecord } from "./run-record.js";
import type { RegisterOptions, RunState, TriggerDefinition, Workflow } from "./types.js";

/** A parked run waiting for its pause window to end. */
export interface ParkedEntry {
  readonly record: RunRecord;
  readonly parkedAt: number;
}

/** Everything the runtime holds for one registered workflow. */
export class WorkflowRecord {
  readonly runs = new Set<RunRecord>();
  readonly parkQueue = new FifoQueue<ParkedEntry>();
  parkTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  policy!: ExecutionPolicy;
  observer: PipelineObserver | undefined = undefined;

  constructor(
    readonly id: string,
    readonly definition: Workflow<any>,
    readonly options: RegisterOptions<any>,
    readonly triggers: ReadonlyMap<string, TriggerDefinition<any, RunState>>,
    readonly pipelines: ReadonlyMap<string, Pipeline<RunState>>,
    readonly scope: ScopedContainer,
    readonly runTemplates: readonly ArtifactTemplate[],
    readonly registry: PipelineRegistry,
    readonly pauseWindowMs: number,
  ) {}
}
