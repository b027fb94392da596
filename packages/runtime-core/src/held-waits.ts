import { type Condition, matchPauseRequest, type PauseRequestData } from "@sluice/pause";
import type { StepAttempt } from "@sluice/pipeline";
import { firstMatch } from "./resume-events.js";
import type { RunRecord } from "./run-record.js";
import type { WaitIndexes } from "./wait-index.js";

/** A wait on an event that a failed step attempt registered, held for the step's retry. */
export interface HeldWait {
  readonly request: PauseRequestData;
  readonly stage: string;
  readonly step: string;
  /** The attempt that registered it: only a later attempt of the same step takes it over. */
  readonly attempt: number;
  /** Registered with an `id` of its own: then only a registration with that id takes it over. */
  readonly explicitId: boolean;
  /** Registered with a `patch` function (not a name, which is in `request`). */
  readonly mapsWithFunction: boolean;
}

/**
 * Waits of step attempts that failed (threw, returned a refused patch, or timed out), held for the
 * step's retry so that an event which comes during the backoff, or before the retry registers
 * again, is not lost. A held wait keeps buffering its events in the run's buffer, marked as kept
 * for held waits only (`BufferedEvent.heldOnly`), but never makes the run pause: it is no longer a
 * pause request nor a registration of the run's pause service. A later attempt of the same step
 * that registers an equal wait takes it over, and its events count for that registration (when
 * they meet its conditions). Held waits not taken over are withdrawn, with the events kept for
 * them only, once the run pauses or ends (by then every attempt of the stage is over); taking one
 * over withdraws only that one. Nothing tells them that a later attempt of their step returned, so
 * until then they keep their events while the run is in their stage: the buffer drops such events
 * first when it is full (see `ResumeEvents`).
 *
 * A run's held waits share the index of the run's buffering waits (one entry per run and key).
 */
export class HeldWaits {
  private readonly byRun = new Map<RunRecord, HeldWait[]>();

  constructor(private readonly bufferFilters: WaitIndexes) {}

  /**
   * Whether a held wait of `record` would keep `event`: one of its current stage (a wait held in a
   * stage the run has left holds nothing more) that the event meets.
   */
  holdsFor(record: RunRecord, event: string, payload: unknown): boolean {
    if (this.byRun.size === 0) return false;
    const held = this.byRun.get(record);
    if (held === undefined) return false;
    const stage = record.pipelineRun?.currentStage;
    for (const wait of held)
      if (wait.stage === stage && matchPauseRequest(wait.request, event, payload)) return true;
    return false;
  }

  /**
   * `attempt` failed: its wait `request`, if it is still one of the run's buffering waits (not
   * cancelled), is held from now on instead of being withdrawn. Events buffered already that no
   * other buffering wait holds are kept for it only. Call it before the registration is cancelled.
   */
  hold(
    record: RunRecord,
    attempt: StepAttempt,
    request: PauseRequestData,
    explicitId: boolean,
    mapsWithFunction: boolean,
  ): void {
    const waits = record.bufferWaits;
    if (record.status !== "running" || !waits.includes(request)) return;
    // its index entry stays: it is the held wait's now (the cancel that follows finds no buffering
    // wait to withdraw)
    record.bufferWaits = waits.filter((wait) => wait !== request);
    const held = this.byRun.get(record) ?? [];
    held.push({
      request,
      stage: attempt.stage,
      step: attempt.step,
      attempt: attempt.attempt,
      explicitId,
      mapsWithFunction,
    });
    this.byRun.set(record, held);
    for (const item of record.buffer ?? []) {
      if (
        !item.heldOnly &&
        matchPauseRequest(request, item.event, item.payload) &&
        firstMatch(record.bufferWaits, item.event, item.payload) === undefined
      )
        item.heldOnly = true;
    }
  }

  /**
   * `attempt` has just registered `request` (a wait on an event, already one of the run's
   * buffering waits): it takes over the held waits of earlier attempts of its step that it equals
   * (see `takesOver`). The events kept for them that meet `request` count for it from now on;
   * the others are dropped with them.
   */
  takeOver(
    record: RunRecord,
    attempt: StepAttempt,
    request: PauseRequestData,
    mapsWithFunction: boolean,
  ): void {
    if (this.byRun.size === 0) return;
    const held = this.byRun.get(record);
    if (held === undefined) return;
    const taken: HeldWait[] = [];
    const kept: HeldWait[] = [];
    for (const wait of held) {
      const own =
        wait.stage === attempt.stage && wait.step === attempt.step && wait.attempt < attempt.attempt;
      (own && takesOver(wait, request, mapsWithFunction) ? taken : kept).push(wait);
    }
    if (taken.length === 0) return;
    for (const item of record.buffer ?? []) {
      if (
        item.heldOnly &&
        matchPauseRequest(request, item.event, item.payload) &&
        taken.some((wait) => matchPauseRequest(wait.request, item.event, item.payload))
      )
        item.heldOnly = false;
    }
    this.withdraw(record, taken, kept);
  }

  /** `record` pauses or ends: its held waits are withdrawn, with the events kept for them only. */
  dropAll(record: RunRecord): void {
    if (this.byRun.size === 0) return;
    const held = this.byRun.get(record);
    if (held !== undefined) this.withdraw(record, held, []);
  }

  /** Puts back the index entries of `record`'s held waits (after a shared one was removed). */
  restoreEntries(record: RunRecord): void {
    if (this.byRun.size === 0) return;
    const held = this.byRun.get(record);
    if (held !== undefined) for (const wait of held) this.bufferFilters.add(record, wait.request);
  }

  private withdraw(record: RunRecord, gone: readonly HeldWait[], kept: HeldWait[]): void {
    for (const wait of gone) this.bufferFilters.remove(record, wait.request);
    // the index holds one entry per run and key, shared by waits with the same one: put back those
    // of the waits that stay
    this.bufferFilters.update(record, record.bufferWaits, true);
    for (const wait of kept) this.bufferFilters.add(record, wait.request);
    if (kept.length === 0) this.byRun.delete(record);
    else this.byRun.set(record, kept);
    const buffer = record.buffer;
    if (buffer === undefined) return;
    const left = buffer.filter(
      (item) =>
        !item.heldOnly || kept.some((wait) => matchPauseRequest(wait.request, item.event, item.payload)),
    );
    if (left.length !== buffer.length) record.buffer = left;
  }
}

/**
 * Whether a later attempt's registration `request` takes `held` over: the same `id` if `held` was
 * registered with one of its own; otherwise the same event, the same conditions (in the same order)
 * and the same patch mapper: the same name, or a function for both. (A function is compared by
 * kind, not identity: a step's inline mapper is a new function on every attempt, and the retry's
 * mapper is the one that makes the patch anyway.)
 */
function takesOver(held: HeldWait, request: PauseRequestData, mapsWithFunction: boolean): boolean {
  const wait = held.request;
  if (held.explicitId) return wait.id === request.id;
  return (
    wait.event === request.event &&
    wait.patch === request.patch &&
    held.mapsWithFunction === mapsWithFunction &&
    sameConditions(wait.conditions, request.conditions)
  );
}

function sameConditions(a: readonly Condition[] | undefined, b: readonly Condition[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  // values are JSON primitives (the pause service refuses anything else)
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.path !== y.path || x.op !== y.op || x.value !== y.value) return false;
  }
  return true;
}
