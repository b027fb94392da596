export {
  createEventBus,
  type EventBus,
  type EventBusOptions,
  type EventHandler,
  type EventMap,
  type WildcardHandler,
} from "./event-bus.js";
