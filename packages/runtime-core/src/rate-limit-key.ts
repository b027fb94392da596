import { quoteName } from "@sluice/errors";
import type { RateLimit } from "./rate-limit.js";
import { readKey } from "./trigger-key.js";

/**
 * The key a trigger's `rateLimit.key` gives for `payload`.
 *
 * @throws SystemError `INVALID_INPUT` when it throws or returns anything but a non-empty string
 * (a promise too), naming the workflow and the trigger.
 */
export function rateLimitKey(
  workflowId: string,
  triggerId: string,
  key: (payload: any) => string,
  payload: unknown,
): string {
  return readKey(
    {
      where: `workflow "${workflowId}" trigger "${triggerId}": rateLimit.key()`,
      name: "rateLimit.key",
      gives: "the key its rate limit counts the event under",
      from: "payload",
    },
    { workflowId, triggerId },
    () => key(payload),
  );
}

/** Why an event past the limit was dropped: the limit, the key (if keyed), when it is admitted again. */
export function rateLimitReason(limit: RateLimit, key: string | undefined, waitMs: number): string {
  const of = key === undefined ? "" : ` for key ${quoteName(key)}`;
  return `rate limit: ${limit.limit} events per ${limit.periodMs} ms${of} already admitted; the next is admitted in ${Math.ceil(waitMs)} ms`;
}
