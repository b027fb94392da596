import { type PauseRequestData, readPath } from "@sluice/pause";
import { sweepIsDue } from "./idle-sweep.js";
import { mapWithout } from "./map-without.js";
import type { RunRecord } from "./run-record.js";

/** One run, or several runs, under one index key. Almost every key holds exactly one run. */
type Holders = RunRecord | RunRecord[];

/**
 * Runs waiting on one event name, indexed by the value of their first `==` condition, so a
 * matching event finds its run without scanning every waiting run (10k parked runs resumed by 10k
 * events is linear, not quadratic). Waits without an `==` condition are kept in a plain list.
 *
 * A run is added and removed on every pause and resume, so the common case allocates nothing: a
 * key's single run is stored as is (a list only once a second run shares the key), and a per-path
 * map left empty stays for the next wait on that path (usually there are a handful of paths). Empty
 * ones are swept once they outnumber the rest, so paths made from data (`votes.<userId>`) cannot
 * grow the index, nor the paths every event is read at, with every run that ever waited.
 */
export class WaitIndex {
  private readonly byPath = new Map<string, Map<unknown, Holders>>();
  private unkeyed: RunRecord[] | undefined;
  private count = 0;
  /** Per-path maps left empty (kept for reuse until swept). */
  private emptyPaths = 0;

  /** How many (run, key) entries the index holds. */
  get size(): number {
    return this.count;
  }

  /** How many condition paths it keeps a map for: used by a wait now, or emptied and kept for reuse. */
  get paths(): number {
    return this.byPath.size;
  }

  add(record: RunRecord, wait: PauseRequestData): void {
    const at = keyCondition(wait);
    if (at === -1) {
      const unkeyed = (this.unkeyed ??= []);
      if (unkeyed.includes(record)) return;
      unkeyed.push(record);
      this.count++;
      return;
    }
    const condition = wait.conditions![at]!;
    let byValue = this.byPath.get(condition.path);
    if (byValue === undefined) this.byPath.set(condition.path, (byValue = new Map()));
    else if (byValue.size === 0) this.emptyPaths--;
    const value = condition.value;
    const held = byValue.get(value);
    // Two waits of one run under the same key are one entry: the run is a candidate either way.
    if (held === undefined) byValue.set(value, record);
    else if (held === record) return;
    else if (Array.isArray(held)) {
      if (held.includes(record)) return;
      held.push(record);
    } else byValue.set(value, [held, record]);
    this.count++;
  }

  remove(record: RunRecord, wait: PauseRequestData): void {
    const at = keyCondition(wait);
    if (at === -1) {
      const unkeyed = this.unkeyed;
      const i = unkeyed === undefined ? -1 : unkeyed.indexOf(record);
      if (i === -1) return;
      unkeyed!.splice(i, 1);
      this.count--;
      return;
    }
    const condition = wait.conditions![at]!;
    const byValue = this.byPath.get(condition.path);
    if (byValue === undefined) return;
    const value = condition.value;
    const held = byValue.get(value);
    if (held === record) {
      const rest = mapWithout(byValue, value);
      if (rest !== byValue) this.byPath.set(condition.path, rest);
      if (rest.size === 0 && sweepIsDue(++this.emptyPaths, this.byPath.size)) this.sweepEmptyPaths();
    } else if (Array.isArray(held)) {
      const i = held.indexOf(record);
      if (i === -1) return;
      held.splice(i, 1);
      if (held.length === 1) byValue.set(value, held[0]!);
    } else return;
    this.count--;
  }

  private sweepEmptyPaths(): void {
    for (const [path, byValue] of this.byPath) if (byValue.size === 0) this.byPath.delete(path);
    this.emptyPaths = 0;
  }

  /** The runs whose waits may match `payload` (conditions still have to be checked). */
  candidates(payload: unknown): RunRecord[] {
    const out: RunRecord[] = this.unkeyed === undefined ? [] : this.unkeyed.slice();
    for (const [path, byValue] of this.byPath) {
      if (byValue.size === 0) continue;
      const read = readPath(payload, path);
      if (!read.found) continue;
      const held = byValue.get(read.value);
      if (held === undefined) continue;
      if (Array.isArray(held)) for (let i = 0; i < held.length; i++) out.push(held[i]!);
      else out.push(held);
    }
    return out;
  }
}

/** Index of the wait's first `==` condition, the one it is indexed by; -1 when it has none. */
function keyCondition(wait: PauseRequestData): number {
  const conditions = wait.conditions;
  if (conditions === undefined) return -1;
  for (let i = 0; i < conditions.length; i++) if (conditions[i]!.op === "==") return i;
  return -1;
}

/**
 * Event name → {@link WaitIndex}. An index left empty is kept for reuse (a workflow that pauses
 * on one event empties and refills its index on every cycle); empty ones are swept once they
 * outnumber the rest, so dynamic event names (`order.<id>.approved`) cannot grow it without bound.
 */
export class WaitIndexes {
  private readonly byEvent = new Map<string, WaitIndex>();
  private empty = 0;

  /** The index of one event name, if any run waits (or recently waited) on it. */
  get(event: string): WaitIndex | undefined {
    return this.byEvent.get(event);
  }

  /** Adds (`on`) or removes the (run, wait) entries of `waits` that name an event. */
  update(record: RunRecord, waits: readonly PauseRequestData[], on: boolean): void {
    for (let i = 0; i < waits.length; i++) {
      if (on) this.add(record, waits[i]!);
      else this.remove(record, waits[i]!);
    }
  }

  /** Adds the (run, wait) entry, if the wait names an event. */
  add(record: RunRecord, wait: PauseRequestData): void {
    const event = wait.event;
    if (event === undefined) return;
    let index = this.byEvent.get(event);
    if (index === undefined) this.byEvent.set(event, (index = new WaitIndex()));
    else if (index.size === 0) this.empty--;
    index.add(record, wait);
  }

  /** Removes the (run, wait) entry, if held. */
  remove(record: RunRecord, wait: PauseRequestData): void {
    const event = wait.event;
    if (event === undefined) return;
    const index = this.byEvent.get(event);
    if (index === undefined || index.size === 0) return;
    index.remove(record, wait);
    if (index.size === 0 && sweepIsDue(++this.empty, this.byEvent.size)) this.sweep();
  }

  private sweep(): void {
    for (const [event, index] of this.byEvent) if (index.size === 0) this.byEvent.delete(event);
    this.empty = 0;
  }
}
