import type { DrawNode } from "./reconcile.js";
import { reconcile } from "./reconcile.js";
import { chartNodes, rowHeight, rowNode } from "./render-chart.js";
import { arrangeBars } from "./run-draft.js";
import { placeRow, type ShownRun, type TimelineFrame } from "./timeline-frame.js";
import { METRICS } from "./viewer-styles.js";

// Rows are drawn within this many pixels (at least) of what the window shows, so scrolling a
// little draws nothing new; a screen is never less.
const MIN_MARGIN_PX = 800;

interface DrawnRow {
  run: ShownRun;
  start: number;
  end: number;
  width: number;
  node: DrawNode;
}

/** Index of the last offset at or before `y` (offsets ascending, the first 0). */
function rowAt(offsets: Float64Array, y: number): number {
  let low = 0;
  let high = offsets.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (offsets[mid]! <= y) low = mid;
    else high = mid - 1;
  }
  return low;
}

/**
 * The chart of a viewer, drawing only the rows in and around what the browser window shows: the
 * chart keeps the height of all its rows (they have fixed heights, so where each one is is known
 * without drawing it), and scrolling it, the page or any ancestor draws the rows that come into
 * view. A row whose run, status and axis did not change keeps its elements untouched.
 */
export class WindowedChart {
  readonly #element: HTMLElement;
  #frame: TimelineFrame | undefined;
  #nowLine = false;
  /** `offsets[i]` is where row `i` starts; the last entry is the height of every row. */
  #offsets = new Float64Array(1);
  /** Rows drawn, as pixels from the top of the first row: [top, bottom). */
  #drawnTop = 0;
  #drawnBottom = 0;
  #rows = new Map<string, DrawnRow>();

  constructor(element: HTMLElement) {
    this.#element = element;
  }

  /** How many rows are drawn now. */
  get drawnRows(): number {
    return this.#rows.size;
  }

  /** Draws `frame`: its axis, and its rows in and around the visible part of the chart. */
  show(frame: TimelineFrame, nowLine: boolean): void {
    this.#frame = frame;
    this.#nowLine = nowLine;
    const offsets = new Float64Array(frame.shown.length + 1);
    frame.shown.forEach((run, i) => {
      const { stageLanes, stepLanes } = arrangeBars(run.draft, run.runEnd);
      offsets[i + 1] = offsets[i]! + rowHeight(stageLanes, stepLanes, run.draft.logs.length > 0);
    });
    this.#offsets = offsets;
    this.#draw();
  }

  /** The visible part may have moved (a scroll, a resize): draws other rows when it left the drawn ones. */
  scrolled(): void {
    if (this.#frame === undefined || this.#frame.shown.length === 0) return;
    const { visibleTop, visibleBottom, margin } = this.#visible();
    const total = this.#offsets[this.#offsets.length - 1]!;
    const needTop = Math.max(0, visibleTop - margin / 2);
    const needBottom = Math.min(total, visibleBottom + margin / 2);
    if (this.#drawnTop <= needTop && this.#drawnBottom >= needBottom) return;
    this.#draw();
  }

  /** The part of the rows the window shows, in pixels from the top of the first row. */
  #visible(): { visibleTop: number; visibleBottom: number; margin: number } {
    const total = this.#offsets[this.#offsets.length - 1]!;
    const view = this.#element.ownerDocument.defaultView;
    const viewport = view !== null && view.innerHeight > 0 ? view.innerHeight : MIN_MARGIN_PX;
    const margin = Math.max(viewport, MIN_MARGIN_PX);
    const rowsTop = this.#element.getBoundingClientRect().top + METRICS.axisHeight;
    const clamp = (y: number) => Math.min(total, Math.max(0, y));
    return { visibleTop: clamp(-rowsTop), visibleBottom: clamp(viewport - rowsTop), margin };
  }

  #draw(): void {
    const frame = this.#frame!;
    const offsets = this.#offsets;
    const total = offsets[offsets.length - 1]!;
    let from = 0;
    let to = 0;
    if (frame.shown.length > 0) {
      // A window of at least two margins around what is visible, kept inside the rows: a chart
      // scrolled out of view still has its nearest rows drawn, and a short chart all of them.
      const { visibleTop, visibleBottom, margin } = this.#visible();
      const half = (visibleBottom - visibleTop) / 2 + margin;
      const top = Math.min(
        Math.max(0, (visibleTop + visibleBottom) / 2 - half),
        Math.max(0, total - 2 * half),
      );
      from = rowAt(offsets, top);
      to = Math.min(frame.shown.length, rowAt(offsets, top + 2 * half) + 1);
    }
    const previous = this.#rows;
    const rows = new Map<string, DrawnRow>();
    const nodes: DrawNode[] = [];
    for (let i = from; i < to; i++) {
      const run = frame.shown[i]!;
      let row = previous.get(run.draft.runId);
      if (
        row === undefined ||
        row.run.draft !== run.draft ||
        row.run.status !== run.status ||
        row.run.shortRunId !== run.shortRunId ||
        row.run.runEnd !== run.runEnd ||
        row.start !== frame.start ||
        row.end !== frame.end ||
        row.width !== frame.width
      ) {
        const node = rowNode(placeRow(run, frame.scale), frame.width);
        row = { run, start: frame.start, end: frame.end, width: frame.width, node };
      }
      rows.set(run.draft.runId, row);
      nodes.push(row.node);
    }
    this.#rows = rows;
    this.#drawnTop = offsets[from]!;
    this.#drawnBottom = offsets[to]!;
    const drawnRows = frame.shown.length === 0 ? undefined : { nodes, top: offsets[from]!, height: total };
    reconcile(this.#element, chartNodes(frame, drawnRows, this.#nowLine));
  }
}
