export {
  type BroadcastChannelConstructor,
  type BroadcastChannelLike,
  type BroadcastEventBus,
  type BroadcastEventBusOptions,
  createBroadcastEventBus,
} from "./broadcast-event-bus.js";
