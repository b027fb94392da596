import type { ArtifactTemplate, ScopedContainer } from "@sluice/artifacts";
import type { Pipeline, PipelineObserver, PipelineRegistry } from "@sluice/pipeline";
import { mapWithout } from "./map-without.js";
import type { ExecutionPolicy } from "./modes/execution-policy.js";
import type { RunRecord } from "./run-record.js";
import type { RegisterOptions, RunState, TriggerDefinition, Workflow } from "./types.js";

/** Everything the runtime holds for one registered workflow. */
export class WorkflowRecord {
  /**
   * Parked runs whose pause window is running, with the time they parked. A Map keeps insertion
   * order (oldest first, since the window is the same for every run of the workflow) and forgets a
   * run in O(1) when it resumes or ends, so nothing outlives its run.
   */
  parked = new Map<RunRecord, number>();
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

  /** Takes `record` out of {@link parked} (see {@link mapWithout}). */
  unpark(record: RunRecord): void {
    if (this.parked.size > 0) this.parked = mapWithout(this.parked, record);
  }
}
