// Timing and heap helpers shared by every workload. They run inside the worker process, which is
// started with --expose-gc so heap figures are taken after a full collection.
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";

/** A full, settled collection: gc twice with a macrotask between so finalizers and weak refs settle. */
export async function fullGc() {
  if (typeof globalThis.gc !== "function") throw new Error("run the worker with --expose-gc");
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await sleep(5);
  }
}

/** V8 heap in use, bytes. */
export function heapUsed() {
  return process.memoryUsage().heapUsed;
}

let probeOn = false;
let probeCalls = 0;
let probePeak = 0;

/**
 * Called from every contender's step body. Off, it costs one branch; on (W2 only), it samples the
 * heap every 256 calls, so a run that never yields to a timer is still sampled while it runs.
 */
export function probe() {
  if (probeOn && (++probeCalls & 255) === 0) {
    const used = process.memoryUsage().heapUsed;
    if (used > probePeak) probePeak = used;
  }
}

/** `probe()`, then `value`: the body of a step that returns a patch. */
export function probed(value) {
  probe();
  return value;
}

/** Samples the heap from step bodies and from a 2 ms timer until `stop()`; returns the peak seen. */
export function startHeapSampler() {
  probeOn = true;
  probeCalls = 0;
  probePeak = heapUsed();
  const timer = setInterval(() => {
    const used = process.memoryUsage().heapUsed;
    if (used > probePeak) probePeak = used;
  }, 2);
  return {
    stop() {
      clearInterval(timer);
      probeOn = false;
      const used = heapUsed();
      return Math.max(used, probePeak);
    },
  };
}

/**
 * Runs `fn(i)` back to back for about `ms` milliseconds, in chunks that grow while they take under
 * 5 ms, so reading the clock never weighs on a fast `fn`. Returns iterations and elapsed time.
 */
export async function loopFor(fn, ms, minIters, start = 0) {
  let i = start;
  let n = 0;
  let chunk = 1;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < ms || n < minIters) {
    const c0 = performance.now();
    for (let k = 0; k < chunk; k++) await fn(i++);
    n += chunk;
    const now = performance.now();
    if (now - c0 < 5 && chunk < 4096) chunk *= 2;
    elapsed = now - t0;
  }
  return { n, elapsed, next: i };
}

/**
 * Microseconds per call of `fn`: a warm-up, then `rounds` timed rounds of `measureMs / rounds`
 * each; the figure is the median round.
 */
export async function microsPerOp(fn, { warmupMs, measureMs, rounds = 5, minIters = 5 }) {
  let { next } = await loopFor(fn, warmupMs, minIters);
  await fullGc();
  const perOp = [];
  let total = 0;
  for (let r = 0; r < rounds; r++) {
    const round = await loopFor(fn, measureMs / rounds, minIters, next);
    next = round.next;
    total += round.n;
    perOp.push((round.elapsed * 1000) / round.n);
  }
  return { value: median(perOp), iterations: total };
}

/** Median of a non-empty list of numbers. */
export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Runs `count` calls of `fn(i)` with at most `width` in flight, in order of `i`. */
export async function inWaves(count, width, fn) {
  const out = new Array(count);
  for (let base = 0; base < count; base += width) {
    const end = Math.min(count, base + width);
    const wave = [];
    for (let i = base; i < end; i++) wave.push(fn(i));
    const done = await Promise.all(wave);
    for (let i = base; i < end; i++) out[i] = done[i - base];
  }
  return out;
}

export { performance, sleep };
