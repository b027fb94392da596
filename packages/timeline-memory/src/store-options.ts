import { describeKind, describeValue, refuseUnknownKeys, SystemError } from "@sluice/errors";

/** Events kept when `maxEvents` is not given. */
export const DEFAULT_MAX_EVENTS = 100_000;

/** Options of {@link createMemoryTimelineStore}. */
export interface MemoryTimelineStoreOptions {
  /**
   * Most events kept (a positive integer; default {@link DEFAULT_MAX_EVENTS}). When an append goes
   * past it, the events appended longest ago are evicted, whatever their `at`.
   */
  maxEvents?: number;
}

const OPTIONS: ReadonlySet<string> = new Set(["maxEvents"]);

/**
 * The `maxEvents` that `options` ask for ({@link DEFAULT_MAX_EVENTS} when they give none). Throws
 * `INVALID_INPUT` for options that are not an object (or `undefined`), or for a `maxEvents` that is
 * not a positive integer, or for a key it does not know
 * (`createMemoryTimelineStore: options.maxEvent is not an option (options: maxEvents)`).
 */
export function resolveMaxEvents(options: MemoryTimelineStoreOptions): number {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new SystemError(
      "INVALID_INPUT",
      `createMemoryTimelineStore: options must be an object such as { maxEvents: 10_000 }, or left out for the defaults; got ${describeKind(options)}`,
      { details: { path: "options" } },
    );
  }
  refuseUnknownKeys(options, OPTIONS, "options", { caller: "createMemoryTimelineStore" });
  const maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
  if (typeof maxEvents !== "number" || !Number.isSafeInteger(maxEvents) || maxEvents < 1) {
    throw new SystemError(
      "INVALID_INPUT",
      `createMemoryTimelineStore: maxEvents must be a positive integer, got ${describeValue(maxEvents)}`,
      { details: { path: "options.maxEvents" } },
    );
  }
  return maxEvents;
}
