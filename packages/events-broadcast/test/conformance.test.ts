import { randomUUID } from "node:crypto";
import { describeEventBusConformance } from "@sluice/events/conformance/vitest";
import { type BroadcastEventBus, createBroadcastEventBus } from "../src/index.js";

const channels = new WeakMap<object, string>();

// Messages another bus posted wait in the channel's port until the event loop polls for I/O;
// setImmediate runs after that poll. Local deliveries (and those they cause) before and after it.
async function settled(bus: BroadcastEventBus): Promise<void> {
  await bus.delivered();
  await new Promise((resolve) => setImmediate(resolve));
  await bus.delivered();
}

describeEventBusConformance("createBroadcastEventBus", {
  create: () => {
    const channel = `conformance-${randomUUID()}`;
    const bus = createBroadcastEventBus({ channel, onError: () => {} });
    channels.set(bus, channel);
    return bus;
  },
  // a second bus on the same channel: events cross between them as between two tabs
  peer: (bus) => createBroadcastEventBus({ channel: channels.get(bus)!, onError: () => {} }),
  settled,
  cleanup: (bus) => bus.close(),
});
