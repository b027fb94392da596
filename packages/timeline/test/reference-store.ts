// The simplest correct TimelineStore: an array, the package's helpers, copies in and out. It checks
// the conformance suite itself (a correct adapter passes) and is the base of deliberately broken
// variants (each must fail the suite).
import { SystemError } from "@sluice/errors";
import {
  compareTimelineEvents,
  makeTimelinePage,
  matchesDeleteFilter,
  matchesQuery,
  readTimelineEvents,
  resolveDeleteFilter,
  resolveQuery,
  type TimelineBatch,
  type TimelineDeleteFilter,
  type TimelineEvent,
  type TimelineStore,
  validateDeleteFilter,
  validateTimelineBatch,
  validateTimelineEvents,
} from "../src/index.js";

export interface ReferenceFaults {
  duplicates?: boolean;
  noCopy?: boolean;
  partialBatches?: boolean;
  ignoreTo?: boolean;
  /** `query`'s `from` is exclusive: an event at `from` is left out. */
  exclusiveFrom?: boolean;
  offsetCursor?: boolean;
  nullForAbsent?: boolean;
  noDisposeCheck?: boolean;
  /** `append` copies the events before checking them: what a getter throws escapes raw. */
  copyBeforeCheck?: boolean;
  /** `append` checks the caller's events, then copies them (a second read) to store them. */
  readsTwice?: boolean;
  /** `append` freezes the caller's events once it has stored them. */
  freezesEvents?: boolean;
  /** `append` deletes the caller's event properties whose value is `undefined` (tidying them in place). */
  deletesUndefinedKeys?: boolean;
  /** `appendBatch` freezes the caller's batch (its column arrays and data objects). */
  freezesBatch?: boolean;
  /** `query` returns frozen events. */
  freezesReturned?: boolean;
  /** `delete` checks the caller's filter, then deletes by reading it again (not by the checked copy). */
  rereadsDeleteFilter?: boolean;
  /** `query` and `delete` read the caller's filter fields as `filter.runId`, inherited keys and all. */
  inheritedFilterKeys?: boolean;
  /** Has `appendBatch`: the batch's events, through `append`. */
  batches?: boolean;
  /** `appendBatch` loses the last event of every batch. */
  batchLosesLast?: boolean;
  /** `appendBatch` derives ids as `runId#seq`. */
  batchWrongIds?: boolean;
  /** `appendBatch` stores a batch without checking it. */
  batchUnchecked?: boolean;
  /** `appendBatch` keeps the batch and reads its events from the columns whenever they are read. */
  batchKept?: boolean;
  /** `appendBatch` checks and stores the rows below the batch's `length`, not the length itself. */
  batchTrustsLength?: boolean;
}

export function createReferenceStore(faults: ReferenceFaults = {}): TimelineStore {
  let events: TimelineEvent[] = [];
  let closed = false;
  const live = () => {
    if (closed && !faults.noDisposeCheck) throw new SystemError("DISPOSED", "store is closed");
  };
  // a JSON copy, as the contract describes what a store keeps (undefined properties dropped)
  const copy = (e: TimelineEvent): TimelineEvent => (faults.noCopy ? e : JSON.parse(JSON.stringify(e)));
  const store: TimelineStore = {
    async append(batch) {
      live();
      if (faults.partialBatches && Array.isArray(batch)) {
        for (let i = 0; i < batch.length; i++) {
          validateTimelineEvents([batch[i]]);
          events.push(copy(batch[i]!));
        }
      }
      if (faults.copyBeforeCheck && Array.isArray(batch)) batch.map(copy);
      // each event's fields read once, into the copy that is checked and stored
      let read: readonly TimelineEvent[];
      if (faults.readsTwice) {
        validateTimelineEvents(batch);
        read = batch;
      } else read = readTimelineEvents(batch, (e) => ({ ...e }) as TimelineEvent);
      for (const e of read) {
        if (!faults.duplicates && events.some((s) => s.id === e.id)) continue;
        events.push(copy(e));
      }
      if (faults.freezesEvents) for (const e of batch) Object.freeze(e);
      if (faults.deletesUndefinedKeys) {
        for (const e of batch as unknown as Array<Record<string, unknown>>) {
          for (const key of Object.keys(e)) if (e[key] === undefined) delete e[key];
        }
      }
      events.sort(compareTimelineEvents);
    },
    async query(filter) {
      live();
      const q = resolveQuery(filter);
      if (faults.inheritedFilterKeys && filter !== undefined) {
        const caller = filter as Record<string, unknown>;
        for (const key of ["runId", "workflowId"] as const) {
          if (caller[key] !== undefined) q[key] = caller[key] as string;
        }
      }
      const f = faults.ignoreTo ? { ...q, to: undefined } : q;
      const matching = events.filter(
        (e) => matchesQuery(e, f as typeof q) && !(faults.exclusiveFrom && e.at === q.from),
      );
      let start = 0;
      if (q.after !== undefined) {
        const after = q.after;
        start = matching.findIndex((e) => compareTimelineEvents(e, after) > 0);
        if (start === -1) start = matching.length;
        if (faults.offsetCursor) start = Math.max(0, start - 1);
      }
      const rows = matching.slice(start, start + q.limit + 1).map(copy);
      if (faults.nullForAbsent) for (const r of rows) (r as { stage?: unknown }).stage ??= null;
      if (faults.freezesReturned) for (const r of rows) Object.freeze(r);
      return makeTimelinePage(rows, q);
    },
    async delete(filter) {
      live();
      let f: Record<string, unknown>;
      if (faults.rereadsDeleteFilter) {
        validateDeleteFilter(filter);
        f = { runId: filter.runId, workflowId: filter.workflowId, before: filter.before };
      } else {
        f = { ...resolveDeleteFilter(filter) };
        if (faults.inheritedFilterKeys)
          Object.assign(f, { runId: filter.runId, workflowId: filter.workflowId });
      }
      for (const key of Object.keys(f)) if (f[key] === undefined) delete f[key];
      const before = events.length;
      events = events.filter((e) => !matchesDeleteFilter(e, f as TimelineDeleteFilter));
      return before - events.length;
    },
    async close() {
      closed = true;
    },
  };
  if (
    faults.batches ||
    faults.batchLosesLast ||
    faults.batchWrongIds ||
    faults.batchUnchecked ||
    faults.batchKept ||
    faults.batchTrustsLength ||
    faults.freezesBatch
  ) {
    store.appendBatch = async (batch) => {
      live();
      if (faults.freezesBatch) {
        validateTimelineBatch(batch);
        await store.append(batch.toEvents());
        for (const column of Object.values(batch)) if (Array.isArray(column)) Object.freeze(column);
        for (const data of batch.data) if (typeof data === "object" && data !== null) Object.freeze(data);
        return;
      }
      if (faults.batchTrustsLength) {
        const rows: TimelineEvent[] = [];
        for (let i = 0; i < batch.length; i++) rows.push(batch.event(i));
        await store.append(rows);
        return;
      }
      if (!faults.batchUnchecked) validateTimelineBatch(batch);
      if (faults.batchKept) {
        validateTimelineBatch(batch);
        for (let i = 0; i < batch.length; i++) events.push(readingBatch(batch, i));
        events.sort(compareTimelineEvents);
        return;
      }
      let given = batch.toEvents();
      if (faults.batchLosesLast) given = given.slice(0, -1);
      if (faults.batchWrongIds) {
        given = given.map((e, i) => (batch.ids[i] === undefined ? { ...e, id: `${e.runId}#${e.seq}` } : e));
      }
      if (faults.batchUnchecked) {
        for (const e of given) events.push(structuredClone(e));
        events.sort(compareTimelineEvents);
        return;
      }
      await store.append(given);
    };
  }
  return store;
}

/**
 * An event whose fields are read from `batch` at `i` whenever it is read (a store that kept the
 * batch instead of copying it), except `data`, copied at once: so only refilling the batch shows.
 */
function readingBatch(batch: TimelineBatch, i: number): TimelineEvent {
  const event = {} as Record<string, unknown>;
  const now = batch.event(i) as unknown as Record<string, unknown>;
  for (const [field, value] of Object.entries(now)) {
    if (value === undefined) continue;
    if (field === "data") event.data = structuredClone(value);
    else {
      Object.defineProperty(event, field, {
        enumerable: true,
        get: () => (batch.event(i) as unknown as Record<string, unknown>)[field],
      });
    }
  }
  return event as unknown as TimelineEvent;
}

/**
 * A persistent reference store, as a log-structured file store is: its appends and deletes are
 * kept as JSON lines in `journal` and replayed into a new reference store when it opens.
 * `infinityAsNull`: a delete's filter is written with plain `JSON.stringify`, so `before: Infinity`
 * is kept as `null`; replaying it is refused and skipped, and the deleted events come back.
 */
export async function openJournaledReferenceStore(
  journal: string[],
  faults: { infinityAsNull?: boolean } = {},
): Promise<TimelineStore> {
  const store = createReferenceStore();
  for (const line of journal) {
    const entry = JSON.parse(line) as { append?: TimelineEvent[]; delete?: Record<string, unknown> };
    if (entry.append !== undefined) await store.append(entry.append);
    else {
      const filter = { ...entry.delete };
      if (filter.before === "Infinity") filter.before = Number.POSITIVE_INFINITY;
      await store.delete(filter as TimelineDeleteFilter).catch(() => 0); // an unreadable line: skipped
    }
  }
  return {
    async append(events) {
      await store.append(events);
      journal.push(JSON.stringify({ append: events }));
    },
    query: (filter) => store.query(filter),
    async delete(filter) {
      const f = resolveDeleteFilter(filter);
      const count = await store.delete(f);
      const kept =
        faults.infinityAsNull || f.before !== Number.POSITIVE_INFINITY
          ? { ...f }
          : { ...f, before: "Infinity" };
      journal.push(JSON.stringify({ delete: kept }));
      return count;
    },
    close: () => store.close(),
  };
}
