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
 * step's later attempts so that an event which comes during the backoff, or before a retry
 * registers again, is not lost. A held wait keeps buffering its events in the run's buffer, marked
 * as kept for held waits only (`BufferedEvent.heldOnly`), but never makes the run pause: it is no
 * longer a pause request nor a registration of the run's pause service. A later attempt of the same
 * step that registers an equal wait takes it over, and its events count for that registration
 * (when they meet its conditions); taking one over withdraws only that one. The step's held waits
 * that no attempt took over are withdrawn, with the events kept for them only, as soon as an
 * attempt of the step ends without being retried: it returned, or it failed for good (which fails
 * the run); an attempt that fails and is retried leaves them, and its own waits, held for the next
 * one. The pipeline tells each attempt's retry (`StepAttempt.onRetry`) and end (`onEnd`), so this
 * follows a step's attempts whether or not they use the pause service. Whatever is left goes when
 * the run pauses or ends.
 *
 * A wait of the failed attempt that was cancelled before it failed is not held, and the events it
 * kept that no buffering wait holds go (a failed attempt leaves nothing of its own but its held
 * waits; the buffer does not say which wait kept an event, so one that a sibling's cancelled wait
 * kept too goes as well).
 *
 * A run's held waits share the index of the run's buffering waits (one entry per run and key).
 */
export class HeldWaits {
  private readonly byRun = new Map<RunRecord, HeldWait[]>();
  /**
   * Failed attempts whose retry, and attempts whose end, is being looked out for (by `follow`):
   * one chain per step with held waits.
   */
  private readonly followed = new WeakSet<StepAttempt>();

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
   * `attempt` failed: its wait `request`, if it is still one of the run's buffering waits, is held
   * from now on instead of being withdrawn. Events buffered already that no other buffering wait
   * holds are kept for it only. If the attempt had cancelled it, it is not held and the events that
   * only it kept go (see `letGo`). Call it before the registration is cancelled.
   */
  hold(
    record: RunRecord,
    attempt: StepAttempt,
    request: PauseRequestData,
    explicitId: boolean,
    mapsWithFunction: boolean,
  ): void {
    const waits = record.bufferWaits;
    if (record.status !== "running") return;
    if (!waits.includes(request)) {
      this.letGo(record, request);
      return;
    }
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
    if (!this.followed.has(attempt)) this.follow(record, attempt);
  }

  /**
   * The failed attempt's wait `request` was cancelled before the attempt failed: the events it kept
   * that no buffering wait holds are kept only for a held wait they meet, if there is one, and
   * dropped otherwise. (A later wait of the attempt, held after this, keeps what it meets: it is a
   * buffering wait until then.)
   */
  private letGo(record: RunRecord, request: PauseRequestData): void {
    const buffer = record.buffer;
    if (buffer === undefined) return;
    const left = buffer.filter((item) => {
      if (
        item.heldOnly ||
        !matchPauseRequest(request, item.event, item.payload) ||
        firstMatch(record.bufferWaits, item.event, item.payload) !== undefined
      )
        return true;
      if (!this.holdsFor(record, item.event, item.payload)) return false;
      item.heldOnly = true;
      return true;
    });
    if (left.length !== buffer.length) record.buffer = left;
  }

  /**
   * Looks out for the end of the step's next attempt after `failed` (which left held waits): if it
   * fails and is retried, for the one after it, and so on; once one ends otherwise, the step's held
   * waits not taken over go.
   */
  private follow(record: RunRecord, failed: StepAttempt): void {
    this.followed.add(failed);
    failed.onRetry((next) => {
      this.followed.add(next);
      next.onEnd((outcome) => {
        // retried (or failed for good, which fails the run: its held waits go with it)
        if ((outcome === "failed" || outcome === "timed-out") && this.holdsAnyOf(record, next)) {
          this.follow(record, next);
        } else this.expire(record, next);
      });
    });
  }

  /** Whether `record` has held waits of `attempt`'s step. */
  private holdsAnyOf(record: RunRecord, attempt: StepAttempt): boolean {
    const held = this.byRun.get(record);
    return held?.some((wait) => ofStep(wait, attempt)) === true;
  }

  /** An attempt of `attempt`'s step has ended unretried: its held waits go, with their events. */
  private expire(record: RunRecord, attempt: StepAttempt): void {
    const held = this.byRun.get(record);
    if (held === undefined || !held.some((wait) => ofStep(wait, attempt))) return;
    const gone: HeldWait[] = [];
    const kept: HeldWait[] = [];
    for (const wait of held) (ofStep(wait, attempt) ? gone : kept).push(wait);
    this.withdraw(record, gone, kept);
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
      const own = ofStep(wait, attempt) && wait.attempt < attempt.attempt;
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

/** Whether `wait` was held for `attempt`'s step. */
function ofStep(wait: HeldWait, attempt: StepAttempt): boolean {
  return wait.stage === attempt.stage && wait.step === attempt.step;
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
