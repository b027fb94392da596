function trim(value: number): string {
  // Up to two decimals without trailing zeros: 1.5, 2.25, 3.
  return String(Math.round(value * 100) / 100);
}

/**
 * A duration as people read it on an axis or a tooltip: `0`, `250 ms`, `1.5 s`, `2 m 30 s`, `1 h 5 m`.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "?";
  const sign = ms < 0 ? "-" : "";
  ms = Math.abs(ms);
  if (ms === 0) return "0";
  if (ms < 1000) return `${sign}${trim(ms)} ms`;
  if (ms < 60_000) return `${sign}${trim(ms / 1000)} s`;
  if (ms < 3_600_000) {
    const minutes = Math.floor(ms / 60_000);
    const seconds = Math.round((ms - minutes * 60_000) / 1000);
    return seconds === 0 ? `${sign}${minutes} m` : `${sign}${minutes} m ${seconds} s`;
  }
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.round((ms - hours * 3_600_000) / 60_000);
  return minutes === 0 ? `${sign}${hours} h` : `${sign}${hours} h ${minutes} m`;
}
