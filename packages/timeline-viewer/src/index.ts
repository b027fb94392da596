export { defineTimelineViewer } from "./define-timeline-viewer.js";
export { formatDuration } from "./format-duration.js";
export { layoutTimeline } from "./layout-timeline.js";
export type {
  TimelineAxisTick,
  TimelineBar,
  TimelineBarStatus,
  TimelineLayout,
  TimelineLayoutOptions,
  TimelineLiveRuns,
  TimelineLogTick,
  TimelineMarker,
  TimelinePause,
  TimelineRow,
  TimelineRunStatus,
  TimelineRunSummary,
  TimelineSpan,
} from "./layout-types.js";
export {
  DEFAULT_LOOKBACK_MS,
  DEFAULT_POLL_MS,
  type TimelineViewerConstructor,
  type TimelineViewerElement,
} from "./timeline-viewer-element.js";
