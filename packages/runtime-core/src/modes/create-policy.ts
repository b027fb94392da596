import type { ExecutionMode } from "../types.js";
import { ExclusivePolicy } from "./exclusive-policy.js";
import type { ExecutionPolicy, PolicyHost } from "./execution-policy.js";
import { SingletonLoopPolicy } from "./singleton-loop-policy.js";
import { SlotQueuePolicy } from "./slot-queue-policy.js";

/** Default queue capacity of `transient` and `serialized` modes. */
export const DEFAULT_QUEUE_CAPACITY = 10_000;

/** Builds the policy for a (validated) mode. */
export function createExecutionPolicy(mode: ExecutionMode, host: PolicyHost): ExecutionPolicy {
  switch (mode.type) {
    case "transient":
      return new SlotQueuePolicy(host, mode.concurrency, mode.capacity ?? DEFAULT_QUEUE_CAPACITY);
    case "serialized":
      return new SlotQueuePolicy(host, 1, mode.capacity ?? DEFAULT_QUEUE_CAPACITY);
    case "singleton_loop":
      return new SingletonLoopPolicy(host, mode.onBusy);
    case "exclusive":
      return new ExclusivePolicy(host, mode.onBusy);
  }
}
