import { describeKind, SystemError } from "@sluice/errors";

/** Throws `INVALID_INPUT` unless `type` is a non-empty string (what `on` and `emit` accept). @internal */
export function assertEventType(type: unknown, method: "emit" | "on"): asserts type is string {
  if (typeof type !== "string" || type.length === 0) {
    throw new SystemError(
      "INVALID_INPUT",
      `eventBus.${method}: the event type must be a non-empty string (got ${describeKind(type)})`,
    );
  }
}

/**
 * Throws `SystemError` `INVALID_INPUT` unless `type` can be emitted: a non-empty string other than
 * the wildcard `"*"`. Every bus's `emit` makes this check (the conformance suite requires it); a bus
 * adapter calls this to make it with the same messages as `createEventBus`.
 *
 * @example
 * ```ts
 * import { assertEmittableType } from "@sluice/events";
 *
 * assertEmittableType("order.placed"); // fine
 * try {
 *   assertEmittableType("*");
 * } catch (error) {
 *   console.log((error as Error).message); // eventBus.emit: "*" is reserved for wildcard subscriptions …
 * }
 * ```
 */
export function assertEmittableType(type: unknown): asserts type is string {
  assertEventType(type, "emit");
  if (type === "*") {
    throw new SystemError(
      "INVALID_INPUT",
      'eventBus.emit: "*" is reserved for wildcard subscriptions and cannot be emitted',
    );
  }
}

/**
 * Throws `SystemError` `INVALID_INPUT` unless `type` and `handler` make a subscription: `type` a
 * non-empty string (`"*"` for every event), `handler` a function. Every bus's `on` makes this check;
 * a bus adapter calls this to make it with the same messages as `createEventBus`.
 *
 * @example
 * ```ts
 * import { assertSubscription } from "@sluice/events";
 *
 * assertSubscription("order.placed", () => {}); // fine
 * try {
 *   assertSubscription("order.placed", "not a function");
 * } catch (error) {
 *   console.log((error as Error).message); // eventBus.on("order.placed"): the handler must be a function (got "not a function")
 * }
 * ```
 */
export function assertSubscription(type: unknown, handler: unknown): asserts type is string {
  assertEventType(type, "on");
  if (typeof handler !== "function") {
    throw new SystemError(
      "INVALID_INPUT",
      `eventBus.on("${type}"): the handler must be a function (got ${describeKind(handler)})`,
    );
  }
}
