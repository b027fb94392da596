import { readPath } from "@sluice/pause";
import type { RunRecord } from "./run-record.js";
import type { CancelOn, RunState, TriggerDefinition } from "./types.js";

/** A trigger's unfinished runs, as its `cancelOn` rules look them up. */
interface TriggerRuns {
  readonly rules: readonly CancelOn[];
  /** Every unfinished run of the trigger: kept only when a rule has no `match`. */
  readonly all: Set<RunRecord> | undefined;
  /** By rule (its index in `cancelOn`): the runs by the value at its `match` (none for a rule without). */
  readonly byValue: ReadonlyArray<Map<unknown, Set<RunRecord>> | undefined>;
}

/**
 * One workflow's unfinished runs, indexed for its triggers' `cancelOn` rules: a cancelling event
 * finds its runs by the value at the rule's `match` (one lookup), not by looking at every run. A
 * run is added when it is made or adopted, with the values its trigger payload had then, and
 * removed when it leaves the unfinished runs (`RunEnding.forgetRun`, the one way out).
 */
export class CancelIndex {
  private readonly byTrigger = new Map<string, TriggerRuns>();

  /** The index for `triggers`, or `undefined` when none declares `cancelOn` (most workflows). */
  static of(triggers: ReadonlyMap<string, TriggerDefinition<any, RunState>>): CancelIndex | undefined {
    let index: CancelIndex | undefined;
    for (const [triggerId, trigger] of triggers) {
      const rules = trigger.cancelOn;
      if (rules === undefined || rules.length === 0) continue;
      index ??= new CancelIndex();
      index.byTrigger.set(triggerId, {
        rules,
        all: rules.some((rule) => rule.match === undefined) ? new Set() : undefined,
        byValue: rules.map((rule) => (rule.match === undefined ? undefined : new Map())),
      });
    }
    return index;
  }

  /**
   * Indexes `record`, made by trigger `triggerId` from `payload` (nothing for a trigger without
   * `cancelOn`). Each rule's value is read now: a payload the host mutates later, or one that went
   * into a checkpoint, compares the same.
   */
  add(record: RunRecord, payload: unknown): void {
    const runs = this.byTrigger.get(record.triggerId);
    if (runs === undefined) return;
    runs.all?.add(record);
    const values: unknown[] = new Array(runs.rules.length);
    for (let i = 0; i < values.length; i++) {
      const byValue = runs.byValue[i];
      if (byValue === undefined) continue;
      const value = matchable(payload, runs.rules[i]!.match!);
      values[i] = value;
      if (value === undefined) continue;
      const same = byValue.get(value);
      if (same === undefined) byValue.set(value, new Set([record]));
      else same.add(record);
    }
    record.cancelValues = values;
  }

  /** Forgets `record` (it left the unfinished runs); a second call does nothing. */
  remove(record: RunRecord): void {
    const values = record.cancelValues;
    if (values === undefined) return;
    record.cancelValues = undefined;
    const runs = this.byTrigger.get(record.triggerId)!;
    runs.all?.delete(record);
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (value === undefined) continue;
      const byValue = runs.byValue[i]!;
      const same = byValue.get(value)!;
      same.delete(record);
      if (same.size === 0) byValue.delete(value);
    }
  }

  /**
   * Adds to `found` the unfinished runs of `triggerId` that rule `index` of its `cancelOn` cancels
   * for an event (its `when` already met) whose value at the rule's `match` is `wanted` (see
   * {@link matchable}; ignored for a rule without `match`, which cancels them all).
   */
  collect(triggerId: string, index: number, wanted: unknown, found: RunRecord[]): void {
    const runs = this.byTrigger.get(triggerId)!;
    const matching = runs.rules[index]!.match === undefined ? runs.all : runs.byValue[index]!.get(wanted);
    if (matching !== undefined) for (const record of matching) found.push(record);
  }
}

/**
 * The value at `path` in `payload` when a cancel compares it (`===`): a string, a boolean or a
 * number other than NaN; else `undefined` (it matches nothing).
 */
export function matchable(payload: unknown, path: string): unknown {
  const { found, value } = readPath(payload, path);
  if (!found) return undefined;
  return typeof value === "string" ||
    typeof value === "boolean" ||
    (typeof value === "number" && !Number.isNaN(value))
    ? value
    : undefined;
}
