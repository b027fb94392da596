export {
  createIndexedDBTimelineStore,
  type IndexedDBTimelineStoreOptions,
} from "./indexeddb-timeline-store.js";
export { INDEXEDDB_SCHEMA_VERSION } from "./schema.js";
