import { describeEventBusConformance } from "@sluice/events/conformance/vitest";
import { createTcpEventBus, startTcpBroker, type TcpBroker, type TcpEventBus } from "../src/index.js";

// Each bus on a broker of its own, its peers on the same one; the broker goes with its last bus.
const family = new WeakMap<TcpEventBus, { broker: TcpBroker; buses: TcpEventBus[] }>();

async function join(members: { broker: TcpBroker; buses: TcpEventBus[] }): Promise<TcpEventBus> {
  const bus = await createTcpEventBus({ port: members.broker.port, onError: () => {} });
  members.buses.push(bus);
  family.set(bus, members);
  return bus;
}

/**
 * Everything emitted so far, on `bus` and its peers, and what their handlers emitted in turn, has
 * reached `bus`: a ping through each peer (the broker has read its emits and forwarded them), then
 * one through `bus` (they have arrived), repeated until no bus received anything meanwhile.
 */
async function settled(bus: TcpEventBus): Promise<void> {
  const { buses } = family.get(bus)!;
  const total = () => buses.reduce((sum, b) => sum + b.received, 0);
  for (;;) {
    const before = total();
    for (const other of buses) if (other !== bus) await other.roundTrip();
    await bus.roundTrip();
    if (total() === before) return;
  }
}

describeEventBusConformance("tcp bus", {
  create: async () => join({ broker: await startTcpBroker(), buses: [] }),
  peer: (bus) => join(family.get(bus)!),
  settled,
  cleanup: async (bus) => {
    bus.close();
    const members = family.get(bus)!;
    members.buses = members.buses.filter((b) => b !== bus);
    if (members.buses.length === 0) await members.broker.close();
  },
});
