// The vitest entry points as a user's test file imports them (they load only inside a vitest run).
import { createEventBus } from "@sluice/events";
import { describeEventBusConformance } from "@sluice/events/conformance/vitest";
import { describeTimelineConformance } from "@sluice/timeline/conformance/vitest";
import { createMemoryTimelineStore } from "@sluice/timeline-memory";

describeEventBusConformance("createEventBus", { create: () => createEventBus({ onError: () => {} }) });
describeTimelineConformance("createMemoryTimelineStore", { create: () => createMemoryTimelineStore() });
