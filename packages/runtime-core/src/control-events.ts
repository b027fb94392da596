/**
 * Bus events the runtime listens to for run control, so hosts that only hold the bus (another
 * module, a worker bridge, a remote bus later) can steer runs.
 */
export const ControlEvent = {
  /** Payload `{ runId: string }`: aborts the run, like `runtime.abort(runId)`. */
  Abort: "sluice.run.abort",
  /** Payload `{ runId: string; patch: object }`: merges the patch into the run's state, like `runtime.signal`. */
  Signal: "sluice.run.signal",
  /**
   * Payload `{ runId: string; patch?: object }`: resumes a paused run, like `runtime.resume`; its
   * `run.resumed` says `by: "control"` (a `resume()` call's says `by: "resume"`).
   */
  Resume: "sluice.run.resume",
} as const;

const CONTROL_EVENT_NAMES = new Set<string>(Object.values(ControlEvent));

/** @internal True for the name of one of the runtime's control events. */
export function isControlEvent(event: string): boolean {
  return CONTROL_EVENT_NAMES.has(event);
}

/**
 * Payloads of the control events, for a typed bus: `createEventBus<MyEvents & ControlEventMap>()`.
 * A `patch` is typed as `signal(runId, patch)` and `resume(runId, patch)` without a state type
 * argument type it: any `object` (a value typed with an interface too); it must be a plain object
 * when it arrives.
 */
export type ControlEventMap = {
  [ControlEvent.Abort]: { runId: string };
  [ControlEvent.Signal]: { runId: string; patch: object };
  [ControlEvent.Resume]: { runId: string; patch?: object | undefined };
};
