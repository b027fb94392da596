import { SystemError } from "@sluice/errors";
import type { PauseHandle, PauseRegistration, PauseRequestData, PauseService } from "@sluice/pause";
import type { StepAttempt } from "@sluice/pipeline";
import type { HeldWaits } from "./held-waits.js";
import type { RunRecord } from "./run-record.js";

/** The methods of `PauseService` a step calls: what the attempt's own pause service has too. */
type PauseServiceMethods = Pick<
  PauseService,
  "register" | "cancel" | "release" | "request" | "pending" | "patchMapper"
>;

/**
 * The `__pause_service__` a step's `ctx.use` resolves: the run's pause service, acting for the step
 * attempt that resolved it, so that an attempt which fails or is abandoned leaves no pause on the
 * run. When the attempt fails (it throws, or times out), whether it is retried or its step fails
 * for good, the waits it registered are withdrawn from the stage's pause requests and from the
 * run's service, so the next attempt may register the same id and no list or checkpoint shows
 * them; its waits on events are *held* for the step's later attempts meanwhile (see
 * {@link HeldWaits}): they keep buffering their events, and a later attempt of the step that
 * registers an equal wait takes them over. Once the attempt is over (it timed out, returned or
 * threw, or its run has moved on), `register` is refused and `cancel` does nothing. Reading
 * (`request`, `pending`, `patchMapper`) and `release` are the run's service's: a wait belongs to
 * the run once its attempt has succeeded.
 */
export class AttemptPauseService implements PauseServiceMethods {
  constructor(
    private readonly runService: PauseService,
    private readonly attempt: StepAttempt,
    private readonly record: RunRecord,
    private readonly held: HeldWaits,
  ) {}

  /**
   * Registers a wait for the run, as `PauseService.register` does, on behalf of this attempt: if
   * the attempt fails, the wait is withdrawn (a wait on an event held for the step's retry). A
   * wait equal to one that an earlier attempt of the step left held takes that one over: the
   * events it kept count for this one, when they meet its conditions.
   *
   * @throws SystemError `INVALID_STATE` when the attempt is over (timed out, ended, or its run has
   * moved on): nothing is registered. Otherwise whatever `PauseService.register` throws.
   */
  register(registration: PauseRegistration): PauseHandle {
    const attempt = this.attempt;
    const status = attempt.status;
    if (status !== "running") throw attemptOver(attempt, status === "timed-out");
    const record = this.record;
    // read before registering: a hostile `id` getter is the pause service's to report
    const explicitId = hasOwnId(registration);
    const runService = this.runService;
    const handle = runService.register(registration);
    // the very request registered (the run's buffering waits may hold an earlier one with its id)
    const request = runService.request(handle.id);
    if (request?.event === undefined) {
      // the handle withdraws this very registration only (a later one with the same id is not its)
      attempt.onFailure(handle.cancel);
      return handle;
    }
    // a wait on an event: it has joined the run's buffering waits
    const mapsWithFunction = runService.patchMapper(handle.id) !== undefined;
    const held = this.held;
    held.takeOver(record, attempt, request, mapsWithFunction);
    attempt.onFailure(() => {
      held.hold(record, attempt, request, explicitId, mapsWithFunction);
      handle.cancel();
    });
    return handle;
  }

  /**
   * Withdraws the run's registration `id` (or, without an id, every registration of the run's
   * current stage), as `PauseService.cancel` does, while this attempt runs; once it is over, does
   * nothing: an attempt that has moved on no longer changes the run's waits.
   */
  cancel(id?: string): void {
    if (this.attempt.status === "running") this.runService.cancel(id);
  }

  /** Forgets registration `id` (or all) without withdrawing it, as `PauseService.release` does. */
  release(id?: string): void {
    this.runService.release(id);
  }

  /** The request data of the run's registration `id`, while the run's service holds it. */
  request(id: string): PauseRequestData | undefined {
    return this.runService.request(id);
  }

  /** The request data of every registration the run's service holds, in registration order. */
  pending(): readonly PauseRequestData[] {
    return this.runService.pending();
  }

  /** The `patch` function given with the run's registration `id`, if any. */
  patchMapper(id: string): ((payload: any) => object) | undefined {
    return this.runService.patchMapper(id);
  }
}

/** Whether `registration` gives an `id` of its own (read once, never throwing). */
function hasOwnId(registration: PauseRegistration): boolean {
  try {
    return typeof registration === "object" && registration !== null && registration.id !== undefined;
  } catch {
    return false;
  }
}

/** The error of a `register` from an attempt that is over. */
function attemptOver(attempt: StepAttempt, timedOut: boolean): SystemError {
  const which = `attempt ${attempt.attempt} of step "${attempt.step}" (stage "${attempt.stage}", run ${attempt.runId})`;
  return new SystemError(
    "INVALID_STATE",
    timedOut
      ? `pause.register: ${which} timed out and the run has moved on without it, so nothing was registered; register the wait before the attempt can time out, or stop the attempt's work when ctx.signal fires`
      : `pause.register: ${which} has ended (it returned or threw, or its run has moved on), so nothing was registered; a wait belongs to the attempt that registers it: register it before the step returns`,
    {
      details: {
        runId: attempt.runId,
        stage: attempt.stage,
        step: attempt.step,
        attempt: attempt.attempt,
        reason: timedOut ? "timed-out" : "ended",
      },
    },
  );
}
