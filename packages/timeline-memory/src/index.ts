export {
  createMemoryTimelineStore,
  DEFAULT_MAX_EVENTS,
  type MemoryTimelineStore,
  type MemoryTimelineStoreOptions,
} from "./memory-timeline-store.js";
