import { describeThrown, describeValue, SystemError } from "@sluice/errors";
import type { EventBus } from "@sluice/events";
import { isPlainObject } from "@sluice/store";
import { subscribe, unsubscribe } from "./bus-subscriptions.js";
import { ControlEvent } from "./control-events.js";
import type { RunResult, RunState } from "./types.js";

// The control events are the bus's way to call abort(), signal() and resume(): a host that holds
// only the bus steers runs through them. Their faults have no caller to throw to: they are reported.

/** The runtime methods the control events call. */
export interface ControlTarget {
  abort(runId: string): Promise<void>;
  signal(runId: string, patch: Record<string, unknown>): void;
  resume(runId: string, patch?: RunState): Promise<RunResult>;
}

type ControlKind = "abort" | "signal" | "resume";

const CONTROL_EVENTS = {
  abort: ControlEvent.Abort,
  signal: ControlEvent.Signal,
  resume: ControlEvent.Resume,
} as const;

/** Each control event's payload, as a malformed one's report states it (`ControlEventMap`'s shapes). */
const PAYLOAD_SHAPES: Readonly<Record<ControlKind, string>> = {
  abort: "{ runId: string }",
  signal: "{ runId: string, patch: object }",
  resume: "{ runId: string, patch?: object }",
};

/**
 * Subscribes `target` to the three control events; returns each event's name and the unsubscribe
 * function the bus returned. When the bus refuses one (see `subscribe`), the ones made are undone
 * and the refusal is thrown: a runtime that is not made leaves nothing subscribed.
 */
export function subscribeControlEvents(
  bus: EventBus<any>,
  target: ControlTarget,
  report: (error: SystemError) => void,
  ignoreUnknownRuns: boolean,
): Array<readonly [string, () => void]> {
  const subscriptions: Array<readonly [string, () => void]> = [];
  for (const kind of ["abort", "signal", "resume"] as const) {
    const event = CONTROL_EVENTS[kind];
    let off: () => void;
    try {
      off = subscribe(
        bus,
        event,
        (payload: unknown) => runControlCommand(target, kind, payload, report, ignoreUnknownRuns),
        (problem, cause) =>
          new SystemError(
            "INVALID_INPUT",
            `new WorkflowRuntime(options): options.bus.on("${event}", handler) ${problem}`,
            {
              cause,
            },
          ),
      );
    } catch (error) {
      for (const [done, undo] of subscriptions) unsubscribe(done, undo, report);
      throw error;
    }
    subscriptions.push([event, off]);
  }
  return subscriptions;
}

function runControlCommand(
  target: ControlTarget,
  kind: ControlKind,
  payload: unknown,
  report: (error: SystemError) => void,
  ignoreUnknownRuns: boolean,
): void {
  let runId: unknown;
  let patch: unknown;
  try {
    if (isPlainObject(payload)) {
      runId = payload.runId;
      patch = payload.patch;
    }
  } catch {
    runId = undefined; // a payload that throws when read is malformed like any other
  }
  if (typeof runId !== "string") {
    const event = CONTROL_EVENTS[kind];
    report(
      new SystemError(
        "INVALID_INPUT",
        `control event "${event}": payload must be ${PAYLOAD_SHAPES[kind]}, got ${describeValue(payload).slice(0, 200)}`,
        { details: { event } },
      ),
    );
    return;
  }
  const fail = (error: unknown) => {
    // (`controlEvents.onUnknownRun: "ignore"`: on a shared bus, another runtime's run)
    if (ignoreUnknownRuns && SystemError.is(error, "NOT_FOUND")) return;
    report(controlEventError(CONTROL_EVENTS[kind], runId as string, error));
  };
  try {
    if (kind === "abort") target.abort(runId).catch(fail);
    else if (kind === "signal") target.signal(runId, patch as Record<string, unknown>);
    else
      target.resume(runId, patch as RunState | undefined).then((r) => {
        if (
          !r.ok &&
          (r.error.code === "NOT_FOUND" ||
            r.error.code === "INVALID_STATE" ||
            r.error.code === "INVALID_INPUT")
        )
          fail(r.error);
      }, fail);
  } catch (error) {
    fail(error);
  }
}

/**
 * What a control event that failed is reported as: the failure's own code (`NOT_FOUND` for a run
 * this runtime does not hold), its message prefixed with the event and run, and
 * `details: { event, runId }`, so a host running several runtimes on one bus can tell a control
 * event meant for another runtime's run from a call of its own.
 */
function controlEventError(event: string, runId: string, error: unknown): SystemError {
  const code = SystemError.is(error) ? error.code : "INVALID_INPUT";
  const reason = SystemError.is(error) ? error.message : describeThrown(error);
  const held = code === "NOT_FOUND" ? " (on a bus shared by several runtimes, another one may hold it)" : "";
  return new SystemError(code, `control event "${event}" for run ${runId}: ${reason}${held}`, {
    cause: error,
    details: { ...(SystemError.is(error) ? error.details : undefined), event, runId },
  });
}
