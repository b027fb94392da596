export { createDeferredEventBus, type DeferredEventBus } from "./deferred-event-bus.js";
export {
  createEventBus,
  type EventBus,
  type EventBusOptions,
  type EventHandler,
  type EventMap,
  type WildcardHandler,
} from "./event-bus.js";
export { assertEmittableType, assertSubscription } from "./event-type.js";
export { LaterDelivery } from "./later-delivery.js";
export { reportToOnError } from "./report-to-on-error.js";
