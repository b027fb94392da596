import { isTimelineEventField, readTimelineEvents, type TimelineEvent } from "@sluice/timeline";

/**
 * `events` as plain objects, each field read once from the caller's event, checked by the shared
 * validator (see `readTimelineEvents`): what is stored is what was checked. Every snapshot has all
 * twelve fields (`undefined` where absent), so code reading them sees one object shape.
 *
 * @throws `SystemError` `INVALID_INPUT` as `validateTimelineEvents` does, also when reading the
 *   array or an event throws (naming `events[i]`, with what was thrown as `cause`).
 */
export function snapshotEvents(events: unknown): TimelineEvent[] {
  return readTimelineEvents(events, snapshotOf);
}

// Named reads, one per field: this runs for every event appended.
function snapshotOf(event: object): TimelineEvent {
  const e = event as Record<string, unknown>;
  const snapshot: Record<string, unknown> = {
    id: e.id,
    runId: e.runId,
    workflowId: e.workflowId,
    seq: e.seq,
    at: e.at,
    source: e.source,
    type: e.type,
    stage: e.stage,
    step: e.step,
    level: e.level,
    message: e.message,
    data: e.data,
  };
  // A field that is not an event field is named in the snapshot (not read) so that the validator
  // rejects it by name. for-in walks V8's enum cache without allocating a key array.
  for (const key in e) if (!isTimelineEventField(key) && Object.hasOwn(e, key)) snapshot[key] = null;
  return snapshot as unknown as TimelineEvent;
}
