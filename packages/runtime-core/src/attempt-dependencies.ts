import type { UseDependencyContext } from "@sluice/artifacts";
import type { PauseService } from "@sluice/pause";
import type { StepAttempt } from "@sluice/pipeline";
import { AttemptPauseService } from "./attempt-pause-service.js";
import type { HeldWaits } from "./held-waits.js";
import { requirePauseService, resolvePauseService } from "./run-pause-service.js";
import type { RunRecord } from "./run-record.js";
import { PAUSE_SERVICE_ID } from "./service-containers.js";
import type { RunState } from "./types.js";

/**
 * What `fn` of a step's `ctx.use` gets: the run's dependencies `deps`, except that
 * `__pause_service__` is an {@link AttemptPauseService} acting for the step's `attempt` on the
 * run's own service (`runService`) of `record`, whose waits on events it holds in `held` for the
 * step's retry if the attempt fails. It is made when a step asks for it, so a step that never
 * pauses makes none. (A run service that resolves `__pause_service__` in its factory gets the run's
 * own: it is built once for every attempt of the run.)
 */
export function attemptDependencies(
  deps: UseDependencyContext<RunState>,
  attempt: StepAttempt,
  runService: () => PauseService,
  record: RunRecord,
  held: HeldWaits,
): UseDependencyContext<RunState> {
  const pauseService = (): AttemptPauseService =>
    new AttemptPauseService(runService(), attempt, record, held);
  return {
    resolve: <T>(key: string, param?: string | number) =>
      key === PAUSE_SERVICE_ID ? resolvePauseService<T>(pauseService) : deps.resolve<T>(key, param),
    require: <T>(key: string, param?: string | number) =>
      key === PAUSE_SERVICE_ID ? requirePauseService<T>(pauseService) : deps.require<T>(key, param),
    select: deps.select,
  };
}
