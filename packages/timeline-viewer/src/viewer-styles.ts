/** Pixel metrics the renderer and its stylesheet share. */
export const METRICS = {
  labelWidth: 240,
  axisHeight: 26,
  rightPad: 16,
  rowPad: 7,
  stageHeight: 22,
  stageGap: 3,
  stepHeight: 11,
  stepGap: 2,
  logHeight: 9,
  minBarWidth: 2,
  fallbackWidth: 720,
} as const;

// Colours are custom properties so a host page can theme the chart without touching its shadow root.
export const VIEWER_CSS = `
:host {
  display: block;
  --st-bg: #ffffff;
  --st-fg: #1f2937;
  --st-muted: #6b7280;
  --st-grid: #eef0f3;
  --st-border: #e5e7eb;
  --st-stage: #2563eb;
  --st-step: #93c5fd;
  --st-running: #0891b2;
  --st-failed: #dc2626;
  --st-retried: #f59e0b;
  --st-skipped: #cbd5e1;
  --st-pause: #d97706;
  --st-resume: #16a34a;
  --st-log-debug: #94a3b8;
  --st-log-info: #2563eb;
  --st-log-warn: #d97706;
  --st-log-error: #dc2626;
  --st-lost: #7c3aed;
  font: 12px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--st-fg);
  background: var(--st-bg);
}
:host([hidden]) { display: none; }
* { box-sizing: border-box; }
.toolbar {
  display: flex; flex-wrap: wrap; align-items: center; gap: 6px 14px;
  padding: 8px 10px; border-bottom: 1px solid var(--st-border);
}
.toolbar label { display: inline-flex; align-items: center; gap: 6px; color: var(--st-muted); }
.toolbar select { font: inherit; color: var(--st-fg); padding: 2px 4px; max-width: 260px; }
.legend { display: inline-flex; flex-wrap: wrap; gap: 4px 12px; margin-left: auto; color: var(--st-muted); }
.legend span { display: inline-flex; align-items: center; gap: 5px; }
.legend span[hidden] { display: none; }
.swatch { display: inline-block; width: 14px; height: 9px; border-radius: 2px; }
.swatch.tick { width: 3px; height: 11px; border-radius: 1px; }
.swatch.dot { width: 8px; height: 8px; border-radius: 50%; }
.state { color: var(--st-muted); }
.state.live::before { content: "●"; color: var(--st-resume); margin-right: 4px; }
.error { color: var(--st-failed); }
.chart { position: relative; overflow: hidden; }
.axis { position: relative; height: ${METRICS.axisHeight}px; border-bottom: 1px solid var(--st-border); }
.axis .origin {
  position: absolute; left: 10px; top: 6px; width: ${METRICS.labelWidth - 20}px;
  color: var(--st-muted); white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
}
.tick-label {
  position: absolute; top: 6px; transform: translateX(-50%); color: var(--st-muted);
  white-space: nowrap; font-variant-numeric: tabular-nums;
}
.tick-label.first { transform: none; }
.grid { position: absolute; top: 0; bottom: 0; pointer-events: none; }
.grid-line { position: absolute; top: 0; bottom: 0; width: 1px; background: var(--st-grid); }
.now-line { position: absolute; top: 0; bottom: 0; width: 0; border-left: 1px dashed var(--st-running); opacity: 0.6; }
.rows { position: relative; }
.row { position: relative; display: flex; border-bottom: 1px solid var(--st-border); }
.label {
  flex: 0 0 ${METRICS.labelWidth}px; padding: 6px 10px; overflow: hidden;
  display: flex; flex-direction: column; justify-content: center; gap: 2px;
}
.label .wf { font-weight: 600; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.label .meta { display: flex; align-items: center; gap: 6px; white-space: nowrap; }
.label .rid { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: var(--st-muted); }
.pill { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 11px; font-weight: 600; color: #fff; }
.pill.running { background: var(--st-running); }
.pill.paused { background: var(--st-pause); }
.pill.completed { background: var(--st-resume); }
.pill.failed { background: var(--st-failed); }
.pill.aborted { background: var(--st-muted); }
.pill.lost { background: var(--st-lost); }
.track { position: relative; flex: 0 0 auto; }
.span-line { position: absolute; height: 2px; background: #d1d5db; border-radius: 1px; }
.bar {
  position: absolute; border-radius: 3px; overflow: hidden; white-space: nowrap; text-overflow: ellipsis;
  color: #fff; font-size: 11px; line-height: ${METRICS.stageHeight}px; padding: 0 5px;
}
.bar.step { border-radius: 2px; padding: 0; }
.bar.stage.completed { background: var(--st-stage); }
.bar.step.completed { background: var(--st-step); }
.bar.running {
  background: repeating-linear-gradient(-45deg, var(--st-running) 0 6px, #22b8d4 6px 12px);
}
.bar.step.running { opacity: 0.7; }
/* Open when its run was lost: it stopped where the record does, it is not running. */
.row[data-status="lost"] .bar.running {
  background: repeating-linear-gradient(-45deg, var(--st-lost) 0 6px, #a78bfa 6px 12px);
  border-right: 2px dashed var(--st-bg);
}
.bar.failed { background: var(--st-failed); }
.bar.step.failed { background: #f87171; }
.bar.retried { background: var(--st-retried); }
.bar.skipped { background: var(--st-skipped); }
.pause {
  position: absolute; top: 2px; bottom: 2px;
  background: repeating-linear-gradient(45deg, #e5e7eb 0 4px, #f9fafb 4px 8px);
  border-left: 2px solid var(--st-pause); border-radius: 0 3px 3px 0;
  color: var(--st-pause); font-size: 11px; font-weight: 600; padding: 2px 4px; white-space: nowrap; overflow: hidden;
}
.pause.open { border-right: none; }
.marker { position: absolute; top: 2px; bottom: 2px; width: 0; }
.marker.resume { border-left: 2px solid var(--st-resume); }
.marker.resume::before {
  content: ""; position: absolute; top: -1px; left: 0;
  border-left: 7px solid var(--st-resume); border-top: 5px solid transparent; border-bottom: 5px solid transparent;
}
.marker.failure, .marker.abort { border-left: 2px solid var(--st-failed); }
.marker.abort { border-left-color: var(--st-muted); }
.marker.failure::before, .marker.abort::before {
  content: "✕"; position: absolute; top: -2px; left: 1px; color: var(--st-failed); font-weight: 700; font-size: 12px;
}
.marker.abort::before { color: var(--st-muted); }
.marker .note {
  position: absolute; left: 14px; top: 2px; color: var(--st-failed); font-size: 11px; font-weight: 500;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
}
.marker.abort .note { color: var(--st-muted); }
.log {
  position: absolute; width: ${METRICS.logHeight}px; height: ${METRICS.logHeight}px; border-radius: 50%;
  margin-left: -${METRICS.logHeight / 2}px; box-shadow: 0 0 0 1.5px var(--st-bg);
}
.log.debug { background: var(--st-log-debug); }
.log.info { background: var(--st-log-info); }
.log.warn { background: var(--st-log-warn); }
.log.error { background: var(--st-log-error); }
.empty { padding: 24px 10px; color: var(--st-muted); }
`;
