function trim(value: number): string {
  // Up to two decimals without trailing zeros: 1.5, 2.25, 3.
  return String(Math.round(value * 100) / 100);
}

/**
 * A duration as people read it on an axis or a tooltip: `0`, `250 ms`, `1.5 s`, `2 m 30 s`, `1 h 5 m`.
 * From a minute on it is rounded to whole seconds, and from an hour on to whole minutes, before it is
 * split into units, so a rounded-up remainder carries over (119.6 s is `2 m`, never `1 m 60 s`).
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "?";
  const sign = ms < 0 ? "-" : "";
  ms = Math.abs(ms);
  if (ms === 0) return "0";
  if (ms < 1000) return `${sign}${trim(ms)} ms`;
  if (ms < 60_000) return `${sign}${trim(ms / 1000)} s`;
  const totalSeconds = Math.round(ms / 1000);
  if (totalSeconds < 3600) {
    const minutes = Math.floor(totalSeconds / 60);
    const seconds = totalSeconds - minutes * 60;
    return seconds === 0 ? `${sign}${minutes} m` : `${sign}${minutes} m ${seconds} s`;
  }
  const totalMinutes = Math.round(ms / 60_000);
  const hours = Math.floor(totalMinutes / 60);
  const minutes = totalMinutes - hours * 60;
  return minutes === 0 ? `${sign}${hours} h` : `${sign}${hours} h ${minutes} m`;
}
