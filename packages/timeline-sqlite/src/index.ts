export { SQLITE_SCHEMA_VERSION } from "./schema.js";
export { createSqliteTimelineStore, type SqliteTimelineStoreOptions } from "./sqlite-timeline-store.js";
