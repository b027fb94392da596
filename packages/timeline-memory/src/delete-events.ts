import type { TimelineDeleteFilter } from "@sluice/timeline";
import type { EventLog } from "./event-log.js";
import type { LogIndexes } from "./log-indexes.js";
import { WORKFLOW_ID } from "./text-rows.js";

/**
 * Marks deleted the live events of `log` that the validated `filter` matches, takes them off
 * `live` and out of the id table, and returns how many. Their slots stay in the log until `head`
 * passes them or the log is compacted; the indexes drop them when next read.
 */
export function deleteEvents(log: EventLog, indexes: LogIndexes, filter: TimelineDeleteFilter): number {
  const { runId, workflowId, before } = filter;
  let count = 0;
  if (runId === undefined && workflowId === undefined) {
    // `before` alone: one pass over the log beats building and sorting an index of everything
    const { ats, gone, mask } = log;
    for (let position = log.head; position < log.tail; position++) {
      const slot = position & mask;
      if (gone[slot] === 0 && ats[slot]! < before!) {
        log.remove(slot, position);
        count++;
      }
    }
  } else {
    const map = runId !== undefined ? indexes.runs : indexes.workflows;
    const key = runId ?? workflowId!;
    const index = indexes.find(map, key);
    if (index === undefined) return 0;
    indexes.prepare(index);
    const { positions, start } = index;
    const { ats, mask } = log;
    const checkWorkflow = runId !== undefined && workflowId !== undefined;
    for (let i = start; i < positions.length; i++) {
      const position = positions[i]!;
      const slot = position & mask;
      if (before !== undefined && !(ats[slot]! < before)) break;
      if (checkWorkflow && log.rows.get(position, WORKFLOW_ID) !== workflowId) continue;
      log.remove(slot, position);
      count++;
    }
    if (count === positions.length - start) map.byKey.delete(key);
  }
  if (count > 0) {
    indexes.deletes++;
    log.live -= count;
  }
  return count;
}
