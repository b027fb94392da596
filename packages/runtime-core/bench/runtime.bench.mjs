// Runtime benchmark: prints figures, asserts nothing. Run after build:
//   node --expose-gc bench/runtime.bench.mjs        (BENCH_QUICK=1 for a smoke run)
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createEventBus } from "@sluice/events";
import { StoreRegistry } from "@sluice/store";
import { createMemoryTimelineStore } from "@sluice/timeline-memory";
import { WorkflowRuntime } from "../dist/index.js";
import { linear, waitingWorkflow } from "./workflows.mjs";

const QUICK = process.env.BENCH_QUICK === "1";
const N = QUICK ? 2_000 : 20_000;
const ROUNDS = QUICK ? 3 : 7;
const gc = globalThis.gc ?? (() => {});
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const step1 = async (s) => ({ ...s, a: 1 });
const step2 = async (s) => ({ ...s, b: 2 });
const step3 = async (s) => ({ ...s, c: 3 });
async function plainChain(input) {
  return step3(await step2(await step1(input)));
}

async function makeRuntime(timeline) {
  const runtime = new WorkflowRuntime({
    bus: createEventBus(),
    storeRegistry: new StoreRegistry(),
    env: {},
    ...(timeline && { timelineStore: await createMemoryTimelineStore({ maxEvents: 50_000 }) }),
  });
  await runtime.register(linear, { retention: { maxFinished: 100 } });
  return runtime;
}

// CPU time of this process (user + system), not wall time: on a shared machine other processes
// steal wall time but not our CPU time, so ratios stay comparable between runs.
const cpuNs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};

/** CPU ns per sequential operation, median of rounds. */
async function measure(fn) {
  for (let i = 0; i < N / 10; i++) await fn(i); // warm-up
  const samples = [];
  for (let r = 0; r < ROUNDS; r++) {
    gc();
    const t0 = cpuNs();
    for (let i = 0; i < N; i++) await fn(i);
    samples.push((cpuNs() - t0) / N);
  }
  return median(samples);
}

const section = process.argv[2];
if (section === undefined) {
  // Each section runs in a fresh process so one section's garbage does not skew the next.
  const self = fileURLToPath(import.meta.url);
  const out = {};
  for (const name of ["invoke", "pause", "dispatch", "parked"]) {
    const r = spawnSync(process.execPath, ["--expose-gc", self, name], {
      encoding: "utf8",
      env: process.env,
    });
    if (r.status !== 0) {
      console.error(r.stderr || r.stdout);
      process.exit(1);
    }
    Object.assign(out, JSON.parse(r.stdout.trim().split("\n").at(-1)));
  }
  const plain = out.plain;
  console.log(
    `\n@sluice/runtime-core benchmark — node ${process.version}, ${N} sequential runs x ${ROUNDS} rounds (median)\n`,
  );
  console.log(`${"case".padEnd(58)} ${"CPU ns/op".padStart(10)} ${"× plain".padStart(9)}`);
  const rows = [
    ["plain chain of 3 async functions", plain],
    ["invoke, 3 stages, no timeline", out.noTimeline],
    ["invoke, 3 stages, memory timeline", out.memTimeline],
    ["pause → bus event → resume → complete", out.cycle],
    [`${out.events} bus events → transient (concurrency 100), per event`, out.dispatch],
  ];
  for (const [name, ns] of rows)
    console.log(`${name.padEnd(58)} ${ns.toFixed(0).padStart(10)} ${(ns / plain).toFixed(2).padStart(9)}`);
  console.log(
    `\nmemory timeline overhead vs none: ${(((out.memTimeline - out.noTimeline) / out.noTimeline) * 100).toFixed(1)} % (goal ≤ 15 %)`,
  );
  console.log(`invoke vs plain chain: ${(out.noTimeline / plain).toFixed(2)}× (goal ≤ 3×)`);
  console.log(
    `heap per parked run after its pause window (${out.parkedRuns} parked): ${(out.perParked / 1024).toFixed(2)} KiB (goal ≤ 2 KiB); with a wait timeout: ${(out.perParkedWithTimeout / 1024).toFixed(2)} KiB`,
  );
  process.exit(0);
}
const result = {};
if (section === "invoke") {
  const bare = await makeRuntime(false);
  const withTl = await makeRuntime(true);
  // interleave so load changes on the machine hit every case alike
  const plain = [];
  const none = [];
  const mem = [];
  for (let r = 0; r < 3; r++) {
    plain.push(await measure((i) => plainChain({ i })));
    none.push(await measure((i) => bare.invoke("linear", "go", { i })));
    mem.push(await measure((i) => withTl.invoke("linear", "go", { i })));
    await withTl.flushTimeline();
  }
  result.plain = median(plain);
  result.noTimeline = median(none);
  result.memTimeline = median(mem);
}

if (section === "pause") {
  const pbus = createEventBus();
  const pausing = new WorkflowRuntime({ bus: pbus, storeRegistry: new StoreRegistry(), env: {} });
  let resolveDone;
  await pausing.register(waitingWorkflow("pp", "i"), {
    retention: { maxFinished: 100 },
    onComplete: () => resolveDone?.(),
  });
  const cycle = await measure(async (i) => {
    await pausing.invoke("pp", "go", { i });
    const done = new Promise((r) => {
      resolveDone = r;
    });
    pbus.emit("pp.answer", { i });
    await done;
  });
  result.cycle = cycle;
}

if (section === "dispatch") {
  const E = QUICK ? 10_000 : 100_000;
  const dbus = createEventBus();
  const dispatchRt = new WorkflowRuntime({ bus: dbus, storeRegistry: new StoreRegistry(), env: {} });
  let completed = 0;
  let allDone;
  const finished = new Promise((r) => {
    allDone = r;
  });
  await dispatchRt.register(linear, {
    mode: { type: "transient", concurrency: 100, capacity: E },
    retention: { maxFinished: 100 },
    onComplete: () => {
      if (++completed === E) allDone();
    },
  });
  gc();
  const t0 = cpuNs();
  for (let i = 0; i < E; i++) dbus.emit("linear.go", { i });
  await finished;
  const dispatchNs = (cpuNs() - t0) / E;
  result.dispatch = dispatchNs;
  result.events = E;
}

/** Heap per run parked after its pause window, `P` of them, each waiting `timeoutMs` at most (or forever). */
async function heapPerParked(P, timeoutMs) {
  const parkRt = new WorkflowRuntime({ bus: createEventBus(), storeRegistry: new StoreRegistry(), env: {} });
  await parkRt.register(waitingWorkflow("park", "orderId", timeoutMs), {
    pauseWindowMs: 0,
    mode: { type: "transient", concurrency: 1000 },
  });
  gc();
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  for (let i = 0; i < P; i++) await parkRt.invoke("park", "go", { orderId: `order-${i}` });
  await new Promise((r) => setTimeout(r, 50));
  gc();
  gc();
  const perParked = (process.memoryUsage().heapUsed - heap0) / P;
  await parkRt.stop().catch(() => {});
  return perParked;
}

if (section === "parked") {
  const P = QUICK ? 2_000 : 10_000;
  result.perParked = await heapPerParked(P);
  // a week's wait timeout, as an approval step would have
  result.perParkedWithTimeout = await heapPerParked(P, 7 * 24 * 3_600_000);
  result.parkedRuns = P;
}
console.log(JSON.stringify(result));
process.exit(0);
