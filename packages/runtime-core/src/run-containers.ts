import { ArtifactContainer, type ArtifactTemplate, type UseDependencyContext } from "@sluice/artifacts";
import { SystemError } from "@sluice/errors";
import type { IdMap } from "@sluice/id-map";
import type { PauseService } from "@sluice/pause";
import type { StepAttempt } from "@sluice/pipeline";
import { attemptDependencies } from "./attempt-dependencies.js";
import type { HeldWaits } from "./held-waits.js";
import {
  createDirectDependencies,
  type OnEventWait,
  type OnEventWaitWithdrawn,
  runPauseService,
} from "./run-pause-service.js";
import type { RunContainerFactory, RunRecord } from "./run-record.js";
import { PAUSE_SERVICE_ID } from "./service-containers.js";
import type { RunState } from "./types.js";

/**
 * Builds a run's service access on its first `ctx.use`: a container of its own when its workflow
 * declares run services, else container-free access. Either way the run's `__pause_service__` is
 * its own, found through the table of unfinished runs; a step gets it acting for its attempt.
 */
export class RunContainers implements RunContainerFactory {
  /** One template for every run container: the factory finds its run through the container's runId. */
  private readonly pauseTemplate: ArtifactTemplate;

  constructor(
    /** The unfinished runs, by id. */
    private readonly runs: IdMap<RunRecord>,
    private readonly onEventWait: OnEventWait,
    private readonly onEventWaitWithdrawn: OnEventWaitWithdrawn,
    /** Where a failed attempt's waits on events are held for its step's retry. */
    private readonly held: HeldWaits,
    private readonly report: (error: SystemError) => void,
  ) {
    this.pauseTemplate = {
      key: PAUSE_SERVICE_ID,
      factory: (ctx) => this.pauseServiceFor(ctx.runId),
    };
  }

  containerFor(record: RunRecord): ArtifactContainer<RunState> {
    const container = new ArtifactContainer<RunState>({
      // named in its errors ("factory of artifact "db" in container "run:…" failed")
      name: `run:${record.runId}`,
      store: record.store!, // RunRecord.use lends services only while the run has its store
      runId: record.runId,
      onError: this.report,
    });
    container.extend(record.workflow.scope);
    container.register(this.pauseTemplate);
    const templates = record.workflow.runTemplates;
    for (let i = 0; i < templates.length; i++) container.register(templates[i]!);
    record.container = container;
    return container;
  }

  directDependencies(record: RunRecord): UseDependencyContext<RunState> {
    return createDirectDependencies(record, this.pauseServiceOf);
  }

  attemptDependencies(
    record: RunRecord,
    deps: UseDependencyContext<RunState>,
    attempt: StepAttempt,
  ): UseDependencyContext<RunState> {
    return attemptDependencies(deps, attempt, () => this.pauseServiceOf(record), record, this.held);
  }

  /** The `__pause_service__` of run `runId`, for the run containers' template. */
  private pauseServiceFor(runId: string | undefined): PauseService {
    const record = runId === undefined ? undefined : this.runs.get(runId);
    if (record === undefined) {
      throw new SystemError("INVALID_STATE", `__pause_service__: run ${runId} is not active`);
    }
    return this.pauseServiceOf(record);
  }

  private readonly pauseServiceOf = (record: RunRecord): PauseService =>
    runPauseService(record, this.onEventWait, this.onEventWaitWithdrawn);
}
