// The six workloads. Each takes the contender module and the settings and returns its figures as
// [{ key, label, value }], lower is better for every figure.
import { checkLinear, checkResumed, die } from "./checks.mjs";
import { fullGc, heapUsed, inWaves, microsPerOp, performance, sleep, startHeapSampler } from "./measure.mjs";

function factory(contender, name) {
  const create = contender[name];
  if (typeof create !== "function") throw new Error(`the contender does not export ${name}()`);
  return create;
}

async function W1(contender, s) {
  const engine = await factory(contender, "createLinear")();
  const stateOf = engine.stateOf ?? ((state) => state);
  const { value, iterations } = await microsPerOp(
    async (i) => checkLinear(stateOf(await engine.invoke(i)), i),
    s.timed,
  );
  await engine.close();
  return [{ key: "us_per_run", label: "µs / run", value, iterations }];
}

async function W2(contender, s) {
  const engine = await factory(contender, "createLinear")();
  const n = s.concurrentRuns;
  const all = (offset, count) =>
    Promise.all(Array.from({ length: count }, (_, i) => engine.invoke(offset + i)));
  const stateOf = engine.stateOf ?? ((state) => state);
  for (const [i, resolved] of (await all(0, 200)).entries()) checkLinear(stateOf(resolved), i);
  await fullGc();
  const base = heapUsed();
  const sampler = startHeapSampler();
  const t0 = performance.now();
  const states = await all(0, n);
  const ms = performance.now() - t0;
  const peak = sampler.stop();
  for (const [i, resolved] of states.entries()) checkLinear(stateOf(resolved), i);
  await engine.close();
  return [
    { key: "ms_total", label: `ms for ${n / 1000}k runs`, value: ms },
    { key: "peak_heap_mib", label: "peak heap Δ MiB", value: (peak - base) / 2 ** 20 },
  ];
}

async function W3(contender, s) {
  const engine = await factory(contender, "createPausing")();
  const cycle = async (i) => checkResumed(await engine.resume(await engine.start(i), i), i);
  const { value, iterations } = await microsPerOp(cycle, s.timed);
  await engine.close();
  return [{ key: "us_per_cycle", label: "µs / cycle", value, iterations }];
}

async function W4(contender, s) {
  const engine = await factory(contender, "createPausing")();
  const n = s.parkedRuns;
  // Warm the code paths (and any lazily built caches) so they do not count as per-run memory.
  const warm = await inWaves(200, 100, (i) => engine.start(-1 - i));
  // Resumes go one at a time: W4 measures parking, and Sluice buffers bus events for running runs.
  for (let i = 0; i < 200; i++) checkResumed(await engine.resume(warm[i], -1 - i), -1 - i);
  warm.length = 0;
  await sleep(50);
  await fullGc();
  const base = heapUsed();
  const t0 = performance.now();
  const handles = await inWaves(n, 100, (i) => engine.start(i));
  const parkMs = performance.now() - t0;
  // Let pause windows and deferred releases run before measuring.
  await sleep(100);
  await fullGc();
  const bytes = (heapUsed() - base) / n;
  // Parked must mean resumable: resume a spread sample (all of them would take minutes for some peers).
  const step = Math.max(1, Math.floor(n / 100));
  for (let i = 0; i < n; i += step) checkResumed(await engine.resume(handles[i], i), i);
  await engine.close();
  return [
    { key: "bytes_per_parked", label: "bytes / parked run", value: bytes },
    { key: "us_per_park", label: "µs / park (100 in flight)", value: (parkMs * 1000) / n },
  ];
}

async function W5(contender, s) {
  let done = 0;
  let target = 0;
  let finished = () => {};
  const engine = await factory(
    contender,
    "createDispatch",
  )({
    concurrency: 100,
    capacity: 200_000,
    onComplete(state) {
      if (state?.c !== 3) die("W5: a dispatched run ended with an unexpected state", state);
      if (++done === target) finished();
    },
  });
  const burst = (count) =>
    new Promise((resolve) => {
      done = 0;
      target = count;
      finished = resolve;
      for (let i = 0; i < count; i++) engine.emit(i);
    });
  await burst(2_000);
  await fullGc();
  const n = s.dispatchedEvents;
  const t0 = performance.now();
  await burst(n);
  const ms = performance.now() - t0;
  await engine.close();
  return [{ key: "us_per_event", label: `µs / event (${n / 1000}k)`, value: (ms * 1000) / n }];
}

function makeEvents(prefix, count) {
  const events = new Array(count);
  for (let n = 0; n < count; n++) {
    const run = n % 64;
    events[n] = {
      id: `${prefix}${n}`,
      runId: `run-${prefix}${run}`,
      workflowId: `wf-${run % 4}`,
      seq: Math.floor(n / 64),
      at: 1_700_000_000_000 + n,
      source: "pipeline",
      type: "step.completed",
      stage: "fulfil",
      step: "charge",
      data: { ms: n % 17 },
    };
  }
  return events;
}

async function appendFor(store, events, batch, ms) {
  const t0 = performance.now();
  let appended = 0;
  while (appended + batch <= events.length) {
    await store.append(events.slice(appended, appended + batch));
    appended += batch;
    if ((appended / batch) % 16 === 0 && performance.now() - t0 >= ms) break;
  }
  return { appended, elapsed: performance.now() - t0 };
}

async function W6(contender, s) {
  const create = factory(contender, "createTimeline");
  const figures = [];
  for (const batch of [1, 100, 1000]) {
    const store = await create();
    await appendFor(store, makeEvents("w", Math.min(20 * batch, 10_000)), batch, s.timeline.warmupMs);
    const events = makeEvents("e", s.timeline.poolEvents[batch]);
    await fullGc();
    const { appended, elapsed } = await appendFor(store, events, batch, s.timeline.measureMs);
    await store.close();
    figures.push({
      key: `us_per_event_b${batch}`,
      label: `µs / event, batch ${batch}`,
      value: (elapsed * 1000) / appended,
      iterations: appended,
    });
  }
  return figures;
}

export const RUNS = { W1, W2, W3, W4, W5, W6 };
