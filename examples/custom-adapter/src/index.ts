export {
  createJsonLinesTimelineStore,
  type JsonLinesTimelineStoreOptions,
} from "./json-lines-timeline-store.js";
export { type BrokerFrame, startTcpBroker, type TcpBroker } from "./tcp-broker.js";
export { createTcpEventBus, type TcpEventBus, type TcpEventBusOptions } from "./tcp-event-bus.js";
