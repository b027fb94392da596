import { randomUUID } from "node:crypto";
import { describeEventBusConformance } from "@sluice/events/conformance/vitest";
import { createBroadcastEventBus } from "../src/index.js";

describeEventBusConformance("createBroadcastEventBus", {
  create: () => createBroadcastEventBus({ channel: `conformance-${randomUUID()}`, onError: () => {} }),
  settled: (bus) => bus.delivered(),
  cleanup: (bus) => bus.close(),
});
