import type { ResolveResult, UseDependencyContext } from "@sluice/artifacts";
import { SystemError } from "@sluice/errors";
import { type PauseRequestData, PauseService, type PauseSink } from "@sluice/pause";
import { isControlEvent } from "./control-events.js";
import type { RunRecord } from "./run-record.js";
import { PAUSE_SERVICE_ID } from "./service-containers.js";
import type { RunState } from "./types.js";

/** Told of each wait a running run registers on an event, as it registers it. */
export type OnEventWait = (record: RunRecord, request: PauseRequestData) => void;

/** Told when a running run cancels waits: `withdrawn` says which. */
export type OnEventWaitWithdrawn = (
  record: RunRecord,
  withdrawn: (request: PauseRequestData) => boolean,
) => void;

/**
 * The run's `__pause_service__`: one per live context (the container path caches it as a
 * singleton the same way). Its registrations become pause requests of the run's pipeline run, and
 * `onEventWait` hears of each wait on an event, so such events are buffered from then on, until
 * `onEventWaitWithdrawn` hears it was cancelled.
 */
export function runPauseService(
  record: RunRecord,
  onEventWait: OnEventWait,
  onEventWaitWithdrawn: OnEventWaitWithdrawn,
): PauseService {
  if (record.finished) {
    throw new SystemError("INVALID_STATE", `__pause_service__: run ${record.runId} is not active`);
  }
  if (record.pauseService !== undefined) return record.pauseService;
  const sink: PauseSink = {
    requestPause: (request) => {
      const run = record.pipelineRun;
      if (run === undefined || record.status !== "running") {
        throw new SystemError(
          "INVALID_STATE",
          `run ${record.runId} is ${record.status}: register pauses from a step while the run is running`,
        );
      }
      if (request.event !== undefined && isControlEvent(request.event)) {
        // a control event is the runtime's: a wait on it would turn one run's abort into another's resume
        throw new SystemError(
          "INVALID_INPUT",
          `registration.event: "${request.event}" is a runtime control event; wait on an event of your own`,
        );
      }
      run.requestPause(request as never);
      if (request.event !== undefined) onEventWait(record, request);
    },
    withdrawPause: (predicate) => {
      record.pipelineRun?.withdrawPause(predicate as never);
      // a cancelled wait holds no more early events for the run
      onEventWaitWithdrawn(record, predicate as (request: PauseRequestData) => boolean);
    },
  };
  const service = new PauseService(sink, { knownPatches: record.workflow.patchNames });
  record.pauseService = service;
  return service;
}

/**
 * Container-free dependency access for runs of workflows without run services: the run's pause
 * service (from `pauseServiceOf`), then the workflow's scope.
 */
export function createDirectDependencies(
  record: RunRecord,
  pauseServiceOf: (record: RunRecord) => PauseService,
): UseDependencyContext<RunState> {
  const scope = record.workflow.scope;
  const pauseService = (): PauseService => pauseServiceOf(record);
  return {
    resolve: <T>(key: string, param?: string | number) =>
      key === PAUSE_SERVICE_ID ? resolvePauseService<T>(pauseService) : scope.resolve<T>(key, param),
    require: <T>(key: string, param?: string | number) =>
      key === PAUSE_SERVICE_ID ? requirePauseService<T>(pauseService) : scope.require<T>(key, param),
    select: <R>(selector: (state: RunState) => R) => {
      const store = record.store;
      if (store === undefined) {
        throw new SystemError(
          "INVALID_STATE",
          `run ${record.runId} is ${record.status}: its state is not available`,
        );
      }
      return selector(store.get());
    },
  };
}

/**
 * `require("__pause_service__")` answered with what `make` returns: a promise of it, rejected with
 * what `make` throws (a run that is not active).
 */
export function requirePauseService<T>(make: () => unknown): Promise<T> {
  return new Promise<T>((resolve) => resolve(make() as T));
}

/**
 * `resolve("__pause_service__")` answered with what `make` returns: `{ ok: true, value }`, or
 * `{ ok: false, error }` with what it throws as a `SystemError` (`INVALID_STATE` if it is none).
 */
export function resolvePauseService<T>(make: () => unknown): Promise<ResolveResult<T>> {
  return new Promise<ResolveResult<T>>((resolve) => {
    resolve({ ok: true, value: make() as T });
  }).catch((error: unknown) => ({
    ok: false as const,
    error: SystemError.from(error, "INVALID_STATE", PAUSE_SERVICE_ID),
  }));
}
