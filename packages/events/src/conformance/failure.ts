/**
 * A broken rule of the `EventBus` contract: what the conformance cases reject with when a bus
 * misbehaves. The message says which rule and what the bus did instead.
 */
export class EventBusConformanceFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EventBusConformanceFailure";
  }
}
