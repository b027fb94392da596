import type { SystemError } from "@sluice/errors";
import { createEventBus, type EventBus } from "@sluice/events";
import { StoreRegistry } from "@sluice/store";
import type { TimelineStore } from "@sluice/timeline";
import { createMemoryTimelineStore } from "@sluice/timeline-memory";
import { WorkflowRuntime, type WorkflowRuntimeOptions } from "../src/index.js";

export interface Harness {
  runtime: WorkflowRuntime;
  bus: EventBus<any>;
  storeRegistry: StoreRegistry;
  timeline: TimelineStore;
  errors: SystemError[];
}

/** A runtime on a real mitt bus, a real store registry and the memory timeline. */
export async function harness(options: Partial<WorkflowRuntimeOptions> = {}): Promise<Harness> {
  const bus = createEventBus<any>();
  const storeRegistry = new StoreRegistry();
  const timeline = await createMemoryTimelineStore();
  const errors: SystemError[] = [];
  const runtime = new WorkflowRuntime({
    bus,
    storeRegistry,
    timelineStore: timeline,
    env: {},
    onError: (e) => errors.push(e),
    ...options,
  });
  return { runtime, bus, storeRegistry, timeline, errors };
}

export const tick = (ms = 0) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A deferred promise a test can settle from outside. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
