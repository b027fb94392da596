import type { ArtifactTemplate, ScopedContainer } from "@sluice/artifacts";
import type { Pipeline, PipelineObserver, PipelineRegistry } from "@sluice/pipeline";
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

  /**
   * Takes `record` out of {@link parked}. Its last run is not deleted: a fresh map replaces it. A
   * long-lived map that goes 0 → 1 → 0 on every pause and resume makes V8 shrink and regrow its
   * table each time, and once the map is old-generation each new table is kept alive by the old
   * one through the next young-generation GCs (see WaitIndex.remove).
   */
  unpark(record: RunRecord): void {
    const parked = this.parked;
    if (parked.size === 0) return;
    if (parked.size === 1) {
      if (parked.has(record)) this.parked = new Map();
    } else parked.delete(record);
  }
}
