import { isThenable, SystemError } from "@sluice/errors";
import type { TimelineEvent, TimelineQuery, TimelineStore } from "@sluice/timeline";
import { FilterSelect } from "./filter-select.js";
import { HeldRuns } from "./held-runs.js";
import type { TimelineLayout, TimelineLiveRuns } from "./layout-types.js";
import { type IsLiveRun, readLiveRuns } from "./live-runs.js";
import { isFinished } from "./run-draft.js";
import { frameTimeline, layoutOfFrame, statusWithLiveRuns, type TimelineFrame } from "./timeline-frame.js";
import { type ReadEvent, readTimelineEvent, readTimelineEvents } from "./validate-events.js";
import { METRICS, VIEWER_CSS } from "./viewer-styles.js";
import { WindowedChart } from "./windowed-chart.js";

/** Default `pollMs` of a live viewer. */
export const DEFAULT_POLL_MS = 1000;
/** Default `lookbackMs`: how far behind the newest seen event each live poll re-reads. */
export const DEFAULT_LOOKBACK_MS = 30_000;
const PAGE_LIMIT = 1000;

/**
 * The `<sluice-timeline>` element (see {@link defineTimelineViewer}): a Gantt chart of Sluice runs.
 *
 * Feed it events directly (`events`, `append`, `push`) or give it a `store` (with `live` to keep
 * polling for new events). Filter with `workflowId` / `runId` (attributes `workflow` / `run`) or
 * with the selects in its toolbar. Every drawn item carries `data-kind` (`run`, `span`, `stage`,
 * `step`, `pause`, `resume`, `failure`, `abort`, `log`, `tick`, `axis`, `now`, `empty`; in the
 * toolbar `workflow-filter`, `run-filter`, `state`) and, where they apply, `data-run`,
 * `data-workflow`, `data-stage`, `data-step`, `data-status`, `data-level`, `data-resumed`,
 * `data-resumed-by`; tooltips are `title`s.
 *
 * It dispatches `timeline-error` (a `CustomEvent` whose `detail` is a `SystemError`) when the store
 * fails or returns malformed events; a live viewer keeps polling after an error.
 *
 * It is as tall as all its rows but draws only those in and around what the window shows (the
 * others as the page, or any scrolling ancestor, scrolls them into view), reads each event once
 * when it is added, and on a redraw lays out again only the runs that got new events.
 */
export interface TimelineViewerElement extends HTMLElement {
  /** Every event the viewer holds (one per id). Setting it replaces them all. */
  events: readonly TimelineEvent[];
  /**
   * Adds events (an array, or events as separate arguments); events whose id is already held are
   * ignored. DOM nodes and strings are appended as children, as for any element.
   */
  append(...items: Array<Node | string | TimelineEvent | readonly TimelineEvent[]>): void;
  /** Adds events (one or an array); same as `append` with events. */
  push(events: TimelineEvent | readonly TimelineEvent[]): void;
  /** Where to read events from. Setting it clears the held events and loads the store's, page by page. */
  store: TimelineStore | undefined;
  /** While true (and connected, with a store), polls the store every `pollMs` for new events. Attribute `live`. */
  live: boolean;
  /** Milliseconds between live polls (at least 16; default 1000). Attribute `poll-ms`. */
  pollMs: number;
  /**
   * How far (ms) behind the newest seen event a live poll re-reads, so that events a runtime
   * flushes late still arrive (default 30000).
   */
  lookbackMs: number;
  /** Show only this workflow's runs (`undefined`: all). Attribute `workflow`. */
  workflowId: string | undefined;
  /** Show only this run (`undefined`: all). Attribute `run`. */
  runId: string | undefined;
  /**
   * Which runs a live process still runs (see {@link TimelineLiveRuns}), for a viewer that can
   * know: run ids (read when set: set it again when they change), or a function asked about the
   * runs without a closing event whenever the viewer lays them out (on new events, filter and
   * size changes, every poll while a run is active; setting it again asks it now). When set, a run with no closing event that is
   * not paused and not live is drawn `lost` ("ended without a record"): its process died before
   * recording how the run ended, so its bars stop at its last event instead of growing with the
   * clock. `undefined` (the default): every such run is drawn running. A function that throws or
   * answers with a promise is reported as `timeline-error` (`INVALID_INPUT`) and the runs are
   * drawn as their events say.
   */
  liveRuns: TimelineLiveRuns | undefined;
  /**
   * The layout drawn last, or `undefined` before the first draw: every shown run's row, also those
   * not drawn because they are scrolled out of view (placed when this is first read after a draw).
   */
  readonly layout: TimelineLayout | undefined;
  /** Schedules a redraw on the next animation frame; calls in between coalesce into one. */
  render(): void;
  /** Redraws now, synchronously. */
  renderNow(): void;
  /** Reads new events from the store now (all of them the first time); resolves once drawn. */
  refresh(): Promise<void>;
  /** Drops every event held and loads the store again from the start. */
  reload(): void;
}

/** A constructor of {@link TimelineViewerElement}s, as registered by {@link defineTimelineViewer}. */
export type TimelineViewerConstructor = new () => TimelineViewerElement;

function isEventList(value: unknown): boolean {
  return Array.isArray(value);
}

function asSystemError(error: unknown, context: string): SystemError {
  return SystemError.from(error, "STORAGE_FAILED", context);
}

/**
 * Builds the element class. Done lazily (from `defineTimelineViewer`) because `HTMLElement` does
 * not exist in Node, and importing the package must have no effects.
 */
export function createTimelineViewerClass(Base: typeof HTMLElement): TimelineViewerConstructor {
  class SluiceTimelineViewer extends Base implements TimelineViewerElement {
    static get observedAttributes(): string[] {
      return ["workflow", "run", "live", "poll-ms"];
    }

    #held = new HeldRuns();
    #newest = Number.NEGATIVE_INFINITY;
    #store: TimelineStore | undefined;
    #loadedStore: TimelineStore | undefined;
    #live = false;
    #pollMs = DEFAULT_POLL_MS;
    #lookbackMs = DEFAULT_LOOKBACK_MS;
    #workflowId: string | undefined;
    #runId: string | undefined;
    #liveRuns: TimelineLiveRuns | undefined;
    #isLive: IsLiveRun | undefined;
    // What liveRuns' function last threw, reported once rather than on every draw.
    #liveRunsError: string | undefined;
    #frame: TimelineFrame | undefined;
    // Made from #frame when read: placing every row of a large chart is work a draw does not need.
    #layout: TimelineLayout | undefined;
    #error: string | undefined;
    // Bumped whenever polling must stop (disconnect, new store, live off): loops with an older
    // generation end at their next await.
    #generation = 0;
    #looping = false;
    #timer: ReturnType<typeof setTimeout> | undefined;
    #wake: (() => void) | undefined;
    #cancelFrame: (() => void) | undefined;
    #resize: ResizeObserver | undefined;
    // Where scrolls that move the chart are heard: its document and every shadow root it is in
    // (scroll events do not leave a shadow tree).
    #scrollRoots: Node[] = [];
    readonly #onScroll = (): void => this.render();
    #lastWidth = 0;
    // What the last draw depended on; a draw with the same inputs and no active run is skipped.
    #version = 0;
    #drawnKey = "";
    #drawnActive = false;

    readonly #root: ShadowRoot;
    readonly #chart: HTMLElement;
    readonly #rows: WindowedChart;
    readonly #workflowSelect: HTMLSelectElement;
    readonly #runSelect: HTMLSelectElement;
    readonly #workflowFilter: FilterSelect;
    readonly #runFilter: FilterSelect;
    readonly #state: HTMLElement;
    readonly #lostLegend: HTMLElement;

    constructor() {
      super();
      const doc = this.ownerDocument;
      this.#root = this.attachShadow({ mode: "open" });
      const style = doc.createElement("style");
      style.textContent = VIEWER_CSS;
      const toolbar = doc.createElement("div");
      toolbar.className = "toolbar";
      toolbar.setAttribute("part", "toolbar");
      this.#workflowSelect = doc.createElement("select");
      this.#workflowSelect.setAttribute("data-kind", "workflow-filter");
      this.#workflowSelect.setAttribute("aria-label", "Workflow");
      this.#runSelect = doc.createElement("select");
      this.#runSelect.setAttribute("data-kind", "run-filter");
      this.#runSelect.setAttribute("aria-label", "Run");
      const workflowLabel = doc.createElement("label");
      workflowLabel.append("Workflow", this.#workflowSelect);
      const runLabel = doc.createElement("label");
      runLabel.append("Run", this.#runSelect);
      this.#state = doc.createElement("span");
      this.#state.className = "state";
      this.#state.setAttribute("data-kind", "state");
      const legend = this.#legend(doc);
      this.#lostLegend = legend.querySelector('[data-status="lost"]')!;
      toolbar.append(workflowLabel, runLabel, this.#state, legend);
      this.#chart = doc.createElement("div");
      this.#chart.className = "chart";
      this.#chart.setAttribute("part", "chart");
      this.#root.append(style, toolbar, this.#chart);
      this.#rows = new WindowedChart(this.#chart);
      this.#workflowFilter = new FilterSelect(this.#workflowSelect);
      this.#runFilter = new FilterSelect(this.#runSelect);
      this.#workflowSelect.addEventListener("change", () => {
        this.workflowId = this.#workflowSelect.value || undefined;
        // A run of another workflow would show nothing.
        this.runId = undefined;
      });
      this.#runSelect.addEventListener("change", () => {
        this.runId = this.#runSelect.value || undefined;
      });
    }

    #legend(doc: Document): HTMLElement {
      const legend = doc.createElement("span");
      legend.className = "legend";
      const items: Array<[string, string, string]> = [
        ["stage", "var(--st-stage)", ""],
        ["step", "var(--st-step)", ""],
        ["running", "repeating-linear-gradient(-45deg, var(--st-running) 0 3px, #22b8d4 3px 6px)", ""],
        ["failed", "var(--st-failed)", ""],
        ["retried", "var(--st-retried)", ""],
        ["paused", "repeating-linear-gradient(45deg, #d1d5db 0 2px, #f9fafb 2px 4px)", ""],
        ["resumed", "var(--st-resume)", "tick"],
        ["log", "var(--st-log-info)", "dot"],
        ["lost", "var(--st-lost)", ""],
      ];
      for (const [name, background, extra] of items) {
        const item = doc.createElement("span");
        // Only a viewer told which runs are live can draw a run lost.
        if (name === "lost") {
          item.setAttribute("data-status", "lost");
          item.title = "ended without a record: no live process runs it, and none recorded how it ended";
          item.hidden = true;
        }
        const swatch = doc.createElement("i");
        swatch.className = extra === "" ? "swatch" : `swatch ${extra}`;
        swatch.style.background = background;
        item.append(swatch, name);
        legend.append(item);
      }
      return legend;
    }

    // ───────────── lifecycle ─────────────

    connectedCallback(): void {
      // Properties set on the element before it was upgraded shadow the accessors: re-apply them.
      for (const name of [
        "events",
        "store",
        "pollMs",
        "lookbackMs",
        "live",
        "workflowId",
        "runId",
        "liveRuns",
      ] as const) {
        if (Object.hasOwn(this, name)) {
          const value = (this as Record<string, unknown>)[name];
          delete (this as Record<string, unknown>)[name];
          (this as Record<string, unknown>)[name] = value;
        }
      }
      if (this.#resize === undefined && typeof ResizeObserver === "function") {
        this.#resize = new ResizeObserver(() => {
          if (this.#chart.clientWidth !== this.#lastWidth) this.render();
        });
      }
      this.#resize?.observe(this);
      this.#listenForScrolls();
      if (this.#store !== undefined) this.#startLoop();
      this.render();
    }

    disconnectedCallback(): void {
      this.#resize?.disconnect();
      this.#stopListeningForScrolls();
      this.#stopLoop();
      this.#cancelFrame?.();
      this.#cancelFrame = undefined;
    }

    #listenForScrolls(): void {
      this.#stopListeningForScrolls();
      // (node types, not instanceof: the element may come from another window's document)
      for (let root = this.getRootNode(); ; root = (root as ShadowRoot).host.getRootNode()) {
        root.addEventListener("scroll", this.#onScroll, { capture: true, passive: true });
        this.#scrollRoots.push(root);
        if (root.nodeType !== Node.DOCUMENT_FRAGMENT_NODE || !(root as ShadowRoot).host) break;
      }
      this.ownerDocument.defaultView?.addEventListener("resize", this.#onScroll, { passive: true });
    }

    #stopListeningForScrolls(): void {
      for (const root of this.#scrollRoots)
        root.removeEventListener("scroll", this.#onScroll, { capture: true });
      this.#scrollRoots = [];
      this.ownerDocument.defaultView?.removeEventListener("resize", this.#onScroll);
    }

    attributeChangedCallback(name: string, _old: string | null, value: string | null): void {
      switch (name) {
        case "workflow":
          if ((value ?? undefined) !== this.#workflowId) {
            this.#workflowId = value === null || value === "" ? undefined : value;
            this.render();
          }
          break;
        case "run":
          if ((value ?? undefined) !== this.#runId) {
            this.#runId = value === null || value === "" ? undefined : value;
            this.render();
          }
          break;
        case "live": {
          const live = value !== null;
          if (live !== this.#live) {
            this.#live = live;
            // Off ends the polling after a load in progress finishes; it does not abandon the load.
            if (live) this.#startLoop();
            else this.#wakeLoop();
            this.render();
          }
          break;
        }
        case "poll-ms": {
          const ms = Number(value);
          // A bad attribute keeps the previous interval: markup cannot be made to throw here.
          if (value !== null && Number.isFinite(ms) && ms >= 16) this.#pollMs = ms;
          else if (value === null) this.#pollMs = DEFAULT_POLL_MS;
          break;
        }
      }
    }

    // ───────────── events ─────────────

    get events(): readonly TimelineEvent[] {
      return this.#held.events;
    }

    set events(events: readonly TimelineEvent[]) {
      const reads = readTimelineEvents(events, "<sluice-timeline>.events");
      this.#held = new HeldRuns();
      this.#newest = Number.NEGATIVE_INFINITY;
      this.#version++;
      this.#add(events, reads);
      this.render();
    }

    override append(...items: Array<Node | string | TimelineEvent | readonly TimelineEvent[]>): void {
      if (
        items.every(
          (item) => typeof item === "string" || (typeof Node === "function" && item instanceof Node),
        )
      ) {
        super.append(...(items as Array<Node | string>));
        return;
      }
      const events: TimelineEvent[] = [];
      const reads: ReadEvent[] = [];
      items.forEach((item, i) => {
        if (isEventList(item)) {
          const list = item as readonly TimelineEvent[];
          for (const read of readTimelineEvents(list, `<sluice-timeline>.append(…) argument ${i}`)) {
            reads.push(read);
          }
          for (const event of list) events.push(event);
        } else {
          reads.push(readTimelineEvent(item, `<sluice-timeline>.append(…) argument ${i}`));
          events.push(item as TimelineEvent);
        }
      });
      this.#add(events, reads);
      this.render();
    }

    push(events: TimelineEvent | readonly TimelineEvent[]): void {
      this.append(isEventList(events) ? (events as readonly TimelineEvent[]) : [events as TimelineEvent]);
    }

    /** Adds the events whose id is not held yet; `reads[i]` is `events[i]` as read and checked. */
    #add(events: readonly TimelineEvent[], reads: readonly ReadEvent[]): void {
      // An event stamped further ahead of this clock than the lookback (a runtime whose clock was
      // wrong, a bad import) is drawn but does not move where live polls read from: if it did,
      // every poll would start after it and miss what runtimes append at the real time.
      const horizon = Date.now() + this.#lookbackMs;
      const added = this.#held.add(events, reads);
      if (added.length > 0) this.#version++;
      for (const read of added) {
        if (read.at > this.#newest && read.at <= horizon) this.#newest = read.at;
      }
    }

    // ───────────── store and live polling ─────────────

    get store(): TimelineStore | undefined {
      return this.#store;
    }

    set store(store: TimelineStore | undefined | null) {
      if (isThenable(store)) {
        // the adapters' factories are async: the likeliest mistake is a missing await
        throw new SystemError(
          "INVALID_INPUT",
          "<sluice-timeline>.store is a Promise: await the store's factory first (viewer.store = await createIndexedDBTimelineStore(…))",
        );
      }
      if (
        store !== undefined &&
        store !== null &&
        (typeof store !== "object" || typeof (store as TimelineStore).query !== "function")
      ) {
        throw new SystemError(
          "INVALID_INPUT",
          "<sluice-timeline>.store must be a TimelineStore (an object with query()), or undefined",
        );
      }
      if (store === this.#store) return;
      this.#stopLoop();
      this.#store = store ?? undefined;
      this.#loadedStore = undefined;
      this.#version++;
      this.#held = new HeldRuns();
      this.#newest = Number.NEGATIVE_INFINITY;
      this.#error = undefined;
      if (this.#store !== undefined && this.isConnected) this.#startLoop();
      this.render();
    }

    /**
     * Drops every event held and loads the store again from the start (after the store was
     * cleared or changed behind the viewer's back). Assigning the same `store` again is a no-op,
     * so that frameworks re-setting properties on each render do not reload.
     */
    reload(): void {
      const store = this.#store;
      this.store = undefined;
      this.store = store;
    }

    get live(): boolean {
      return this.#live;
    }

    set live(live: boolean) {
      this.toggleAttribute("live", Boolean(live));
    }

    get pollMs(): number {
      return this.#pollMs;
    }

    set pollMs(ms: number) {
      if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 16) {
        throw new SystemError(
          "INVALID_INPUT",
          `<sluice-timeline>.pollMs must be a number of milliseconds >= 16 (got ${String(ms)})`,
        );
      }
      this.setAttribute("poll-ms", String(ms));
    }

    get lookbackMs(): number {
      return this.#lookbackMs;
    }

    set lookbackMs(ms: number) {
      if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) {
        throw new SystemError(
          "INVALID_INPUT",
          `<sluice-timeline>.lookbackMs must be a number of milliseconds >= 0 (got ${String(ms)})`,
        );
      }
      this.#lookbackMs = ms;
    }

    async refresh(): Promise<void> {
      const store = this.#store;
      if (store !== undefined) await this.#sync(store, this.#generation);
      this.renderNow();
    }

    #startLoop(): void {
      if (this.#looping || this.#store === undefined || !this.isConnected) return;
      this.#looping = true;
      void this.#loop(this.#store, this.#generation);
    }

    #stopLoop(): void {
      this.#generation++;
      this.#looping = false;
      this.#wakeLoop();
    }

    #wakeLoop(): void {
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = undefined;
      const wake = this.#wake;
      this.#wake = undefined;
      wake?.();
    }

    async #loop(store: TimelineStore, generation: number): Promise<void> {
      for (;;) {
        await this.#sync(store, generation);
        if (generation !== this.#generation) return;
        this.render();
        if (!this.#live || !this.isConnected) break;
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          this.#timer = setTimeout(resolve, this.#pollMs);
        });
        this.#wake = undefined;
        this.#timer = undefined;
        if (generation !== this.#generation) return;
        if (!this.#live) break;
      }
      this.#looping = false;
    }

    // Reads everything the first time, then only what is at most lookbackMs older than the newest
    // held event; ids already held are ignored. Never rejects: failures are reported.
    async #sync(store: TimelineStore, generation: number): Promise<void> {
      const full = this.#loadedStore !== store;
      const from =
        full || this.#newest === Number.NEGATIVE_INFINITY ? undefined : this.#newest - this.#lookbackMs;
      let next: string | undefined;
      try {
        do {
          const filter: TimelineQuery = { limit: PAGE_LIMIT };
          if (from !== undefined) filter.from = from;
          if (next !== undefined) filter.next = next;
          const page = await store.query(filter);
          if (generation !== this.#generation || store !== this.#store) return;
          const events = page !== null && typeof page === "object" ? page.events : undefined;
          if (!Array.isArray(events)) {
            throw new SystemError(
              "INVALID_INPUT",
              "store.query() must resolve to { events: TimelineEvent[], next? }",
            );
          }
          this.#addFromStore(events);
          next = typeof page.next === "string" ? page.next : undefined;
        } while (next !== undefined);
        this.#loadedStore = store;
        this.#error = undefined;
      } catch (error) {
        if (generation !== this.#generation) return;
        this.#report(asSystemError(error, "<sluice-timeline> could not read its store"));
      }
    }

    #addFromStore(events: readonly unknown[]): void {
      const good: TimelineEvent[] = [];
      const reads: ReadEvent[] = [];
      let bad: SystemError | undefined;
      for (let i = 0; i < events.length; i++) {
        try {
          reads.push(readTimelineEvent(events[i], `store.query() events[${i}]`));
          good.push(events[i] as TimelineEvent);
        } catch (error) {
          bad ??= error as SystemError;
        }
      }
      this.#add(good, reads);
      // One malformed event from a store must not hide every other run: skip it, say so.
      if (bad !== undefined) this.#report(bad);
    }

    #report(error: SystemError): void {
      this.#error = error.message;
      this.dispatchEvent(new CustomEvent("timeline-error", { detail: error }));
      this.render();
    }

    // ───────────── filters ─────────────

    get workflowId(): string | undefined {
      return this.#workflowId;
    }

    set workflowId(id: string | undefined) {
      if (id === undefined || id === null || id === "") this.removeAttribute("workflow");
      else this.setAttribute("workflow", String(id));
    }

    get runId(): string | undefined {
      return this.#runId;
    }

    set runId(id: string | undefined) {
      if (id === undefined || id === null || id === "") this.removeAttribute("run");
      else this.setAttribute("run", String(id));
    }

    // ───────────── live runs ─────────────

    get liveRuns(): TimelineLiveRuns | undefined {
      return this.#liveRuns;
    }

    set liveRuns(liveRuns: TimelineLiveRuns | undefined | null) {
      this.#isLive = readLiveRuns(liveRuns, "<sluice-timeline>.liveRuns");
      this.#liveRuns = liveRuns ?? undefined;
      this.#liveRunsError = undefined;
      // Also when the same function is set again: its answers may have changed.
      this.#version++;
      this.render();
    }

    // ───────────── drawing ─────────────

    get layout(): TimelineLayout | undefined {
      if (this.#layout === undefined && this.#frame !== undefined) this.#layout = layoutOfFrame(this.#frame);
      return this.#layout;
    }

    render(): void {
      if (this.#cancelFrame !== undefined) return;
      const draw = () => {
        this.#cancelFrame = undefined;
        this.renderNow();
      };
      if (typeof requestAnimationFrame === "function") {
        const frame = requestAnimationFrame(draw);
        this.#cancelFrame = () => cancelAnimationFrame(frame);
      } else {
        const timer = setTimeout(draw, 16);
        this.#cancelFrame = () => clearTimeout(timer);
      }
    }

    renderNow(): void {
      const chartWidth = this.#chart.clientWidth;
      this.#lastWidth = chartWidth;
      const available = chartWidth > 0 ? chartWidth : METRICS.fallbackWidth + METRICS.labelWidth;
      const width = Math.max(120, available - METRICS.labelWidth - METRICS.rightPad);
      const key = [this.#version, width, this.#workflowId, this.#runId, this.#live, this.#error].join(
        "\u0000",
      );
      // Running and paused runs grow with the clock; anything else only changes with its inputs,
      // and then only a scroll can ask for other rows.
      if (key === this.#drawnKey && !this.#drawnActive) {
        this.#rows.scrolled();
        return;
      }
      const held = this.#held;
      const input = {
        width,
        now: Math.max(Date.now(), held.newest),
        workflowId: this.#workflowId,
        runId: this.#runId,
        shortIds: held.shortIds(),
        workflows: held.workflows(),
      };
      const isLive = this.#isLive;
      let frame: TimelineFrame;
      let failure: SystemError | undefined;
      try {
        frame = frameTimeline(held.drafts(), {
          ...input,
          statusOf: isLive === undefined ? undefined : statusWithLiveRuns(isLive),
        });
      } catch (error) {
        // Only liveRuns' function can throw here: draw the runs as their events say.
        failure = error as SystemError;
        frame = frameTimeline(held.drafts(), input);
      }
      const report = failure !== undefined && failure.message !== this.#liveRunsError;
      this.#liveRunsError = failure?.message;
      this.#frame = frame;
      this.#layout = undefined;
      this.#drawnKey = key;
      this.#drawnActive = frame.shown.some((run) => !isFinished(run.status));
      this.#rows.show(frame, this.#live && this.#drawnActive);
      this.#renderToolbar(frame);
      if (report) this.dispatchEvent(new CustomEvent("timeline-error", { detail: failure }));
    }

    #renderToolbar(frame: TimelineFrame): void {
      this.#workflowFilter.show(
        `all (${frame.workflows.length})`,
        frame.workflows.map((w) => [w, w]),
        this.#workflowId,
      );
      this.#runFilter.show(
        `all (${frame.runs.length})`,
        frame.runs.map((r) => [r.runId, `${r.shortRunId} · ${r.status}`]),
        this.#runId,
      );
      const count = frame.shown.length;
      let active = 0;
      let lost = 0;
      for (const run of frame.shown) {
        if (!isFinished(run.status)) active++;
        else if (run.status === "lost") lost++;
      }
      this.#lostLegend.hidden = this.#isLive === undefined;
      const error = this.#error ?? this.#liveRunsError;
      this.#state.className = this.#live && this.#store !== undefined ? "state live" : "state";
      this.#state.classList.toggle("error", error !== undefined);
      const text =
        error !== undefined
          ? error
          : `${count} run${count === 1 ? "" : "s"}${active > 0 ? `, ${active} active` : ""}${
              lost > 0 ? `, ${lost} lost` : ""
            }${this.#live && this.#store !== undefined ? " · live" : ""}`;
      // (the same text again would still replace the text node: a change for observers)
      if (this.#state.textContent !== text) this.#state.textContent = text;
    }
  }
  return SluiceTimelineViewer;
}
