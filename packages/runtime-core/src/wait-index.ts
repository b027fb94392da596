import { type PauseRequestData, readPath } from "@sluice/pause";
import type { RunRecord } from "./run-record.js";

/**
 * Parked runs waiting on one event name, indexed by the value of their first `==` condition, so a
 * matching event finds its run without scanning every parked run (10k parked runs resumed by 10k
 * events is linear, not quadratic). Waits without an `==` condition are kept in a plain set.
 */
export class WaitIndex {
  private readonly byPath = new Map<string, Map<unknown, Set<RunRecord>>>();
  private readonly unkeyed = new Set<RunRecord>();
  private count = 0;

  /** How many (run, wait) entries the index holds. */
  get size(): number {
    return this.count;
  }

  add(record: RunRecord, wait: PauseRequestData): void {
    const key = indexKeyOf(wait);
    let set: Set<RunRecord> | undefined = this.unkeyed;
    if (key !== undefined) {
      let byValue = this.byPath.get(key.path);
      if (byValue === undefined) this.byPath.set(key.path, (byValue = new Map()));
      set = byValue.get(key.value);
      if (set === undefined) byValue.set(key.value, (set = new Set()));
    }
    // Two waits of one run under the same key are one entry: the run is a candidate either way.
    if (set.has(record)) return;
    set.add(record);
    this.count++;
  }

  remove(record: RunRecord, wait: PauseRequestData): void {
    const key = indexKeyOf(wait);
    if (key === undefined) {
      if (this.unkeyed.delete(record)) this.count--;
      return;
    }
    const byValue = this.byPath.get(key.path);
    const set = byValue?.get(key.value);
    if (set === undefined || !set.delete(record)) return;
    this.count--;
    if (set.size === 0) {
      byValue!.delete(key.value);
      if (byValue!.size === 0) this.byPath.delete(key.path);
    }
  }

  /** The runs whose waits may match `payload` (conditions still have to be checked). */
  candidates(payload: unknown): RunRecord[] {
    const out: RunRecord[] = [];
    for (const record of this.unkeyed) out.push(record);
    for (const [path, byValue] of this.byPath) {
      const read = readPath(payload, path);
      if (!read.found) continue;
      const set = byValue.get(read.value);
      if (set !== undefined) for (const record of set) out.push(record);
    }
    return out;
  }
}

function indexKeyOf(wait: PauseRequestData): { path: string; value: unknown } | undefined {
  const conditions = wait.conditions;
  if (conditions === undefined) return undefined;
  for (let i = 0; i < conditions.length; i++) {
    const c = conditions[i]!;
    if (c.op === "==") return { path: c.path, value: c.value };
  }
  return undefined;
}
