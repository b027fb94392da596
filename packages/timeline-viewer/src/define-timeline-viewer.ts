import { SystemError } from "@sluice/errors";
import { createTimelineViewerClass, type TimelineViewerConstructor } from "./timeline-viewer-element.js";

// The custom-element name grammar, simplified to ASCII: lowercase, starts with a letter, has a dash.
const TAG_NAME = /^[a-z][a-z0-9._]*-[a-z0-9._-]*$/;

/**
 * Registers the timeline viewer as a custom element named `tagName` and returns its constructor.
 * Safe to call more than once: when `tagName` is already defined it returns what is registered
 * there and defines nothing. Where there is no `customElements` (Node, workers) it does nothing
 * and returns `undefined`. Importing this package registers nothing by itself.
 *
 * @example
 * ```ts
 * import { defineTimelineViewer } from "@sluice/timeline-viewer";
 * defineTimelineViewer(); // <sluice-timeline>
 * const viewer = document.createElement("sluice-timeline");
 * viewer.store = timelineStore;
 * viewer.live = true;
 * document.body.append(viewer);
 * ```
 * @throws SystemError `INVALID_INPUT` when `tagName` is not a valid custom element name.
 */
export function defineTimelineViewer(tagName = "sluice-timeline"): TimelineViewerConstructor | undefined {
  if (typeof tagName !== "string" || !TAG_NAME.test(tagName)) {
    throw new SystemError(
      "INVALID_INPUT",
      `defineTimelineViewer: tagName must be a custom element name like "sluice-timeline" (lowercase, with a dash); got ${JSON.stringify(tagName)}`,
      { details: { tagName } },
    );
  }
  const registry = (globalThis as { customElements?: CustomElementRegistry }).customElements;
  if (registry === undefined || typeof HTMLElement !== "function") return undefined;
  const existing = registry.get(tagName);
  if (existing !== undefined) return existing as unknown as TimelineViewerConstructor;
  const ViewerClass = createTimelineViewerClass(HTMLElement);
  registry.define(tagName, ViewerClass as unknown as CustomElementConstructor);
  return ViewerClass;
}

declare global {
  interface HTMLElementTagNameMap {
    "sluice-timeline": import("./timeline-viewer-element.js").TimelineViewerElement;
  }
}
