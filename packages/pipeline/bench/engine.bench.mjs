// The engine's own cost: a 3-stage pipeline of trivial async steps, against the same three
// functions chained with plain `await` (same state object, same patch merging). Prints figures;
// it is never a timed test. Run after `pnpm --filter @sluice/pipeline build`:
//   pnpm --filter @sluice/pipeline bench
import { Pipeline } from "../dist/index.js";

const gc = globalThis.gc;
if (typeof gc !== "function") {
  console.error("run with node --expose-gc (pnpm bench does)");
  process.exit(2);
}

class State {
  constructor() {
    this.value = { orderId: "o-1" };
  }
  get() {
    return this.value;
  }
  set(patch) {
    this.value = { ...this.value, ...patch };
  }
}

const validate = async () => ({ valid: true });
const reserve = async (ctx) => ({ reserved: ctx.state().valid === true });
const ship = async () => ({ shipped: true });

const pipeline = new Pipeline("bench", {
  stages: [
    { id: "validate", steps: [{ id: "validate", action: validate }] },
    { id: "reserve", steps: [{ id: "reserve", action: reserve }] },
    { id: "ship", steps: [{ id: "ship", action: ship }] },
  ],
});

let events = 0;
const observer = {
  onEvent() {
    events++;
  },
};

async function plainChain() {
  const state = new State();
  const ctx = { state: () => state.get() };
  state.set(await validate(ctx));
  state.set(await reserve(ctx));
  state.set(await ship(ctx));
  return state.get();
}

// Both sides hand the loop one promise per run: the engine's `execute()` is not wrapped in an
// extra async function, so the comparison charges the engine for exactly its own work.
const engine = () => pipeline.start({ runId: "r", state: new State() }).execute();
const engineObserved = () => pipeline.start({ runId: "r", state: new State(), observer }).execute();

// The figures only count if every run really completed.
for (const fn of [engine, engineObserved]) {
  const result = await fn();
  if (!result.ok || result.value.status !== "completed" || result.value.state.shipped !== true) {
    throw new Error("bench pipeline did not complete");
  }
}

// Runs per second of this process's CPU time (user + system), not wall time: on a shared machine
// other processes steal wall time unevenly between cases, CPU time is what the engine itself costs.
async function opsPerSecond(fn, runs) {
  const start = process.cpuUsage();
  for (let i = 0; i < runs; i++) await fn();
  const used = process.cpuUsage(start);
  return runs / ((used.user + used.system) / 1e6);
}

// Heap growth over `runs` runs after a full GC: bytes allocated per run. A scavenge during a sample
// can only shrink the growth, so the largest of several small samples is the estimate.
async function bytesPerRun(fn, runs) {
  let most = 0;
  for (let s = 0; s < 9; s++) {
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < runs; i++) await fn();
    const after = process.memoryUsage().heapUsed;
    most = Math.max(most, (after - before) / runs);
  }
  return most;
}

const cases = [
  ["plain await chain", plainChain],
  ["engine, no observer", engine],
  ["engine, with observer", engineObserved],
];

// Warm up every case so each is measured optimised.
for (const [, fn] of cases) await opsPerSecond(fn, 20_000);

const RUNS = 50_000;
const ROUNDS = 10;
const best = new Map();
for (let round = 0; round < ROUNDS; round++) {
  // Interleave the cases so drift (thermal, other load) hits all of them alike.
  for (const [name, fn] of cases) {
    const ops = await opsPerSecond(fn, RUNS);
    best.set(name, Math.max(best.get(name) ?? 0, ops));
  }
}

const plain = best.get("plain await chain");
console.log(
  `3-stage pipeline of trivial async steps; best of ${ROUNDS} rounds of ${RUNS} runs each, per CPU second`,
);
console.log("case                      ops/s       µs/run   × plain   bytes/run");
for (const [name, fn] of cases) {
  const ops = best.get(name);
  const bytes = await bytesPerRun(fn, 100);
  console.log(
    `${name.padEnd(24)}  ${Math.round(ops).toString().padStart(9)}  ${(1e6 / ops).toFixed(2).padStart(8)}  ${(plain / ops).toFixed(2).padStart(7)}  ${Math.round(bytes).toString().padStart(9)}`,
  );
}
const noObs = plain / best.get("engine, no observer");
const withObs = plain / best.get("engine, with observer");
console.log(
  `\nratio to plain chain: no observer ${noObs.toFixed(2)}× (goal ≤ 2), with observer ${withObs.toFixed(2)}× (goal ≤ 3)`,
);
console.log(`observer saw ${events} events`);
