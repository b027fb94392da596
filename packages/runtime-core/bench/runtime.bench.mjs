// Runtime benchmark: prints figures, asserts nothing. Run after build:
//   node --expose-gc bench/runtime.bench.mjs        (BENCH_QUICK=1 for a smoke run)
import { createEventBus } from "@sluice/events";
import { StoreRegistry } from "@sluice/store";
import { createMemoryTimelineStore } from "@sluice/timeline-memory";
import { WorkflowRuntime } from "../dist/index.js";

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

const linear = {
  id: "linear",
  triggers: { go: { event: "linear.go", pipeline: "p" } },
  pipelines: {
    p: {
      stages: [
        { id: "s1", steps: [{ id: "a", action: async () => ({ a: 1 }) }] },
        { id: "s2", steps: [{ id: "b", action: async () => ({ b: 2 }) }] },
        { id: "s3", steps: [{ id: "c", action: async () => ({ c: 3 }) }] },
      ],
    },
  },
};

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

/** ns per sequential invoke, median of rounds. */
async function measure(fn) {
  for (let i = 0; i < N / 10; i++) await fn(i); // warm-up
  const samples = [];
  for (let r = 0; r < ROUNDS; r++) {
    gc();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) await fn(i);
    samples.push(Number(process.hrtime.bigint() - t0) / N);
  }
  return median(samples);
}

const rows = [];
const plain = await measure((i) => plainChain({ i }));
rows.push(["W1 plain chain of 3 async functions", plain, 1]);

const bare = await makeRuntime(false);
const noTimeline = await measure((i) => bare.invoke("linear", "go", { i }));
rows.push(["invoke, 3 stages, no timeline", noTimeline, noTimeline / plain]);

const withTl = await makeRuntime(true);
const memTimeline = await measure((i) => withTl.invoke("linear", "go", { i }));
await withTl.flushTimeline();
rows.push(["invoke, 3 stages, memory timeline", memTimeline, memTimeline / plain]);

// pause → resume through the bus
const pbus = createEventBus();
const pausing = new WorkflowRuntime({ bus: pbus, storeRegistry: new StoreRegistry(), env: {} });
let resolveDone;
await pausing.register(
  {
    id: "pp",
    triggers: { go: { event: "pp.go", pipeline: "p" } },
    pipelines: {
      p: {
        stages: [
          {
            id: "wait",
            steps: [
              {
                id: "w",
                action: async (ctx) => {
                  const pause = await ctx.use((d) => d.require("__pause_service__"));
                  pause.register({
                    event: "pp.answer",
                    conditions: [{ path: "i", op: "==", value: ctx.state().i }],
                  });
                },
              },
            ],
          },
          { id: "after", steps: [{ id: "a", action: async () => ({ done: true }) }] },
        ],
      },
    },
  },
  { retention: { maxFinished: 100 }, onComplete: () => resolveDone?.() },
);
const cycle = await measure(async (i) => {
  await pausing.invoke("pp", "go", { i });
  const done = new Promise((r) => {
    resolveDone = r;
  });
  pbus.emit("pp.answer", { i });
  await done;
});
rows.push(["pause → bus event → resume → complete", cycle, cycle / plain]);

// 100k bus events into a transient workflow
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
const t0 = process.hrtime.bigint();
for (let i = 0; i < E; i++) dbus.emit("linear.go", { i });
await finished;
const dispatchNs = Number(process.hrtime.bigint() - t0) / E;
rows.push([`${E} bus events → transient (concurrency 100), per event`, dispatchNs, dispatchNs / plain]);

// heap per parked run after its pause window
const P = QUICK ? 2_000 : 10_000;
const parkRt = new WorkflowRuntime({ bus: createEventBus(), storeRegistry: new StoreRegistry(), env: {} });
await parkRt.register(
  {
    id: "park",
    triggers: { go: { event: "park.go", pipeline: "p" } },
    pipelines: {
      p: {
        stages: [
          {
            id: "wait",
            steps: [
              {
                id: "w",
                action: async (ctx) => {
                  const pause = await ctx.use((d) => d.require("__pause_service__"));
                  pause.register({
                    event: "park.answer",
                    conditions: [{ path: "orderId", op: "==", value: ctx.state().orderId }],
                  });
                },
              },
            ],
          },
          { id: "after", steps: [{ id: "a", action: async () => ({ done: true }) }] },
        ],
      },
    },
  },
  { pauseWindowMs: 0, mode: { type: "transient", concurrency: 1000 } },
);
gc();
gc();
const heap0 = process.memoryUsage().heapUsed;
for (let i = 0; i < P; i++) await parkRt.invoke("park", "go", { orderId: `order-${i}` });
await new Promise((r) => setTimeout(r, 50));
gc();
gc();
const perParked = (process.memoryUsage().heapUsed - heap0) / P;

console.log(
  `\n@sluice/runtime-core benchmark — node ${process.version}, ${N} sequential runs x ${ROUNDS} rounds (median)\n`,
);
console.log(`${"case".padEnd(58)} ${"ns/op".padStart(10)} ${"× plain".padStart(9)}`);
for (const [name, ns, ratio] of rows) {
  console.log(`${name.padEnd(58)} ${ns.toFixed(0).padStart(10)} ${ratio.toFixed(2).padStart(9)}`);
}
console.log(
  `\nmemory timeline overhead vs none: ${(((memTimeline - noTimeline) / noTimeline) * 100).toFixed(1)} % (goal ≤ 15 %)`,
);
console.log(
  `heap per parked run after its pause window (${P} parked): ${(perParked / 1024).toFixed(2)} KiB (goal ≤ 2 KiB)`,
);
console.log(`goals: invoke ≤ 3× plain → ${(noTimeline / plain).toFixed(2)}×`);
await Promise.all([bare.stop(), withTl.stop(), pausing.stop(), dispatchRt.stop()]);
process.exit(0);
