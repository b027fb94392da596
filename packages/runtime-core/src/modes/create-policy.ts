import type { ExecutionMode } from "../types.js";
import { ExclusivePolicy } from "./exclusive-policy.js";
import type { ExecutionPolicy, PolicyHost } from "./execution-policy.js";
import { KeyedSlotQueuePolicy } from "./keyed-slot-queue-policy.js";
import { SingletonLoopPolicy } from "./singleton-loop-policy.js";
import { SlotQueuePolicy } from "./slot-queue-policy.js";

/** Default queue capacity of `transient` and `serialized` modes. */
export const DEFAULT_QUEUE_CAPACITY = 10_000;

/** Builds the policy for a (validated) mode. */
export function createExecutionPolicy(mode: ExecutionMode, host: PolicyHost): ExecutionPolicy {
  switch (mode.type) {
    case "transient": {
      const capacity = mode.capacity ?? DEFAULT_QUEUE_CAPACITY;
      const prioritised = mode.priority !== undefined;
      if (mode.key === undefined) return new SlotQueuePolicy(host, mode.concurrency, capacity, prioritised);
      return new KeyedSlotQueuePolicy(
        host,
        mode.concurrency,
        mode.keyConcurrency ?? 1,
        capacity,
        prioritised,
      );
    }
    case "serialized": {
      const capacity = mode.capacity ?? DEFAULT_QUEUE_CAPACITY;
      const prioritised = mode.priority !== undefined;
      if (mode.key === undefined) return new SlotQueuePolicy(host, 1, capacity, prioritised);
      return new KeyedSlotQueuePolicy(host, Number.POSITIVE_INFINITY, 1, capacity, prioritised);
    }
    case "singleton_loop":
      return new SingletonLoopPolicy(host, mode.onBusy);
    case "exclusive":
      return new ExclusivePolicy(host, mode.onBusy);
  }
}
