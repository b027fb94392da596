/** Events in one page when a query gives no `limit`. */
export const DEFAULT_QUERY_LIMIT = 1000;

/** The largest `limit` a query may ask for; a larger one is rejected with `INVALID_INPUT`. */
export const MAX_QUERY_LIMIT = 10_000;

/**
 * How deeply an event's `data` may nest (objects and arrays). Deeper data is rejected with
 * `INVALID_INPUT`, which also keeps validators and backends clear of stack overflows.
 */
export const MAX_DATA_DEPTH = 256;
