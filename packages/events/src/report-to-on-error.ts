import { catchRejection, printFault } from "@sluice/errors";

/**
 * Hands a fault to a bus's `onError(error, type, payload)` the way `createEventBus` does for a
 * throwing handler: an `onError` that throws, or returns a promise that rejects, never throws into
 * the bus; what it threw is printed instead (`printFault`, which cannot throw on a hostile value),
 * as `[${source}] onError threw while reporting ${about}:`. For a bus adapter reporting a fault of
 * its own (an event its transport lost) through the `onError` its user gave.
 *
 * @example
 * ```ts
 * reportToOnError(onError, lostError, "order.placed", undefined, "sluice/events-broadcast", 'a lost "order.placed"');
 * ```
 */
export function reportToOnError(
  onError: (error: unknown, type: string, payload: unknown) => unknown,
  error: unknown,
  type: string,
  payload: unknown,
  source: string,
  about: string,
): void {
  try {
    const out: unknown = onError(error, type, payload);
    if (out !== undefined) {
      catchRejection(out, (reportError) =>
        printFault(`[${source}] onError rejected while reporting ${about}:`, reportError),
      );
    }
  } catch (reportError) {
    // (a default onError's console.error can throw on such a value too: printFault cannot)
    printFault(`[${source}] onError threw while reporting ${about}:`, reportError);
  }
}
