// Type-checked (never run) in the consumer project under each module resolution the check tries:
// the published declaration files used as a user's code uses them. entries.ts beside it imports
// every export path.

import type { SystemError } from "@sluice/errors";
import { createEventBus, type EventBus } from "@sluice/events";
import { describeEventBusConformance } from "@sluice/events/conformance/vitest";
import { type BroadcastEventBus, createBroadcastEventBus } from "@sluice/events-broadcast";
import {
  defineWorkflow,
  type RunCheckpoint,
  type RunResultMetadata,
  WorkflowRuntime,
} from "@sluice/runtime-core";
import { StoreRegistry } from "@sluice/store";
import type { TimelineEvent, TimelineStore } from "@sluice/timeline";
import { runTimelineConformance } from "@sluice/timeline/conformance";
import { describeTimelineConformance } from "@sluice/timeline/conformance/vitest";
import { createIndexedDBTimelineStore } from "@sluice/timeline-indexeddb";
import { createMemoryTimelineStore } from "@sluice/timeline-memory";
import { createSqliteTimelineStore, type SqliteTimelineStoreOptions } from "@sluice/timeline-sqlite";
import { layoutTimeline, type TimelineLayout } from "@sluice/timeline-viewer";

type Counter = { n: number };

const workflow = defineWorkflow<Counter>({
  id: "two-steps",
  triggers: { go: { event: "go", pipeline: "main" } },
  pipelines: {
    main: {
      stages: [
        {
          id: "add",
          steps: [
            {
              id: "add",
              // the built-in services are typed by id through the published declarations' augmentation
              action: async (ctx) => {
                const env = await ctx.use((d) => d.require("__env__"));
                return { n: ctx.state().n + Number(env.get("STEP") ?? 1) };
              },
            },
          ],
        },
        {
          id: "scale",
          steps: [
            {
              id: "scale",
              action: (ctx) => {
                ctx.logger.info("scaling", { n: ctx.state().n });
                return { n: ctx.state().n * 10 };
              },
            },
          ],
        },
      ],
    },
  },
});

export async function run(timelineStore: TimelineStore, bus: EventBus = createEventBus()): Promise<number> {
  const runtime = new WorkflowRuntime({ bus, storeRegistry: new StoreRegistry(), timelineStore });
  await runtime.register(workflow, { mode: { type: "transient", concurrency: 2 } });
  const result = await runtime.invoke("two-steps", "go", { n: 1 });
  const metadata: RunResultMetadata = result.metadata;
  if (!result.ok) {
    const error: SystemError = result.error;
    throw error;
  }
  const checkpoint: RunCheckpoint | undefined = undefined;
  void checkpoint;
  await runtime.flushTimeline();
  // an ok result's run id is a string
  const page = await timelineStore.query({ runId: result.metadata.runId, limit: 100 });
  void metadata;
  const events: readonly TimelineEvent[] = page.events;
  const layout: TimelineLayout = layoutTimeline(events, { width: 600 });
  await runtime.stop();
  return layout.runs.length + (result.value.state as Counter).n;
}

export async function stores(): Promise<TimelineStore[]> {
  const options: SqliteTimelineStoreOptions = { filename: ":memory:" };
  return [
    await createMemoryTimelineStore({ maxEvents: 1000 }),
    await createSqliteTimelineStore(options),
    await createIndexedDBTimelineStore({ database: "sluice" }),
    await WorkflowRuntime.createTestTimelineStore(),
  ];
}

export const broadcast: BroadcastEventBus = createBroadcastEventBus({ channel: "sluice" });
export const conformance = [describeEventBusConformance, describeTimelineConformance, runTimelineConformance];
