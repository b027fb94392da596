import { quoteName } from "@sluice/errors";
import type { RateLimit } from "./rate-limit.js";

/** Why an event past the limit was dropped: the limit, the key (if keyed), when it is admitted again. */
export function rateLimitReason(limit: RateLimit, key: string | undefined, waitMs: number): string {
  const of = key === undefined ? "" : ` for key ${quoteName(key)}`;
  const events = limit.limit === 1 ? "event" : "events";
  return `rate limit: ${limit.limit} ${events} per ${limit.periodMs} ms${of} already admitted; the next is admitted in ${Math.ceil(waitMs)} ms`;
}
