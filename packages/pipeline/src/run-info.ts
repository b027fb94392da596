import type { ErrorCode } from "@sluice/errors";

/** What a workflow's registry knows about one run. */
export interface RunInfo {
  /** The run's id. */
  runId: string;
  /** The workflow the run belongs to. */
  workflowId: string;
  /** The pipeline it runs. */
  pipelineId: string;
  /** The trigger that started it. */
  triggerId: string;
  /**
   * The run's idempotency key, when its trigger declares `key` (`@sluice/runtime-core`): while the
   * run is unfinished, no other run of its workflow is started under the same key.
   */
  key?: string;
  /** Where the run is. */
  status: "queued" | "running" | "paused" | "completed" | "failed" | "aborted";
  /** The current (or last) stage. */
  stage?: string;
  /** Epoch ms when the run was created. */
  startedAt: number;
  /** Epoch ms of the last change. */
  updatedAt: number;
  /**
   * Why it failed, as plain data. `code` is the code of the `SystemError` the run failed with, typed
   * as the stable codes so that a `switch` on it completes them; any other string is accepted too
   * (`string & {}` keeps the completion), since a registry also holds runs set or adopted by hand,
   * and a checkpoint from a newer version may carry a code this one does not know.
   */
  error?: { code: ErrorCode | (string & {}); message: string };
}

/** @internal {@link RunInfo.error} given: one type for every place a registry keeps it. */
export type RunError = NonNullable<RunInfo["error"]>;

/** How many finished runs a registry keeps. Queued, running and paused runs are always kept. */
export interface RetentionPolicy {
  /** Finished (completed / failed / aborted) runs kept, newest first; default 1000. */
  maxFinished?: number | undefined;
  /** Finished runs older than this (by `updatedAt`) are dropped by `prune()`; default: no age limit. */
  maxAgeMs?: number | undefined;
}
