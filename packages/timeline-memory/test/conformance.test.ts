import { describeTimelineConformance } from "@sluice/timeline/conformance/vitest";
import { createMemoryTimelineStore } from "../src/index.js";

describeTimelineConformance("timeline-memory", { create: () => createMemoryTimelineStore() });
