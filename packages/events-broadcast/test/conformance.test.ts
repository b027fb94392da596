import { randomUUID } from "node:crypto";
import { describeEventBusConformance } from "@sluice/events/conformance/vitest";
import { type BroadcastEventBus, createBroadcastEventBus } from "../src/index.js";

describeEventBusConformance("createBroadcastEventBus", {
  create: () => createBroadcastEventBus({ channel: `conformance-${randomUUID()}`, onError: () => {} }),
  settled: (bus) => (bus as BroadcastEventBus).delivered(),
  cleanup: (bus) => (bus as BroadcastEventBus).close(),
});
