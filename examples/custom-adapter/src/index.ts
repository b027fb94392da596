export {
  createJsonLinesTimelineStore,
  type JsonLinesTimelineStoreOptions,
} from "./json-lines-timeline-store.js";
