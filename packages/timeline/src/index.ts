export { appendTimelineBatch, holdsRows, TimelineBatch, validateTimelineBatch } from "./batch.js";
export { decodeCursor, encodeCursor } from "./cursor.js";
export { isTimelineEventField } from "./event-fields.js";
export { DEFAULT_QUERY_LIMIT, MAX_DATA_DEPTH, MAX_QUERY_LIMIT } from "./limits.js";
export { matchesDeleteFilter, matchesQuery } from "./match.js";
export { compareTimelineEvents, type TimelinePosition } from "./order.js";
export {
  makeTimelinePage,
  type ResolvedTimelineQuery,
  resolveDeleteFilter,
  resolveQuery,
  validateDeleteFilter,
  validateQuery,
} from "./query.js";
export { readTimelineEvents, unreadableTimelineEvent } from "./read-events.js";
export {
  type TimelineDeleteFilter,
  type TimelineEvent,
  TimelineEventType,
  type TimelineLevel,
  type TimelinePage,
  type TimelineQuery,
  type TimelineSource,
  type TimelineStore,
} from "./types.js";
export { validateTimelineEvent, validateTimelineEvents } from "./validate-event.js";
