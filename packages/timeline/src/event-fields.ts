import type { TimelineEvent } from "./types.js";

/** True for the twelve fields a {@link TimelineEvent} may have. */
export function isTimelineEventField(key: string): boolean {
  switch (key) {
    case "id":
    case "runId":
    case "workflowId":
    case "seq":
    case "at":
    case "source":
    case "type":
    case "stage":
    case "step":
    case "level":
    case "message":
    case "data":
      return true;
    default:
      return false;
  }
}
