// Snapshot strategy benchmark for @sluice/store. Prints figures; it is never a timed test.
// Run: pnpm --filter @sluice/store bench   (builds nothing: run `build` first)
//
// A "run" on the runtime's hot path = create a store from a 6-key payload, 3 sets, 10 get() reads.
// Strategies compared (all make a new snapshot object per change, so old snapshots stay valid):
//   freeze    - Object.freeze every new snapshot (what @sluice/store shipped first)
//   freeze-on-read - freeze a snapshot when it is first handed out (what @sluice/store shipped in 0.2)
//   write-until-read - freeze-on-read, and a set writes into the snapshot nobody has been handed
//                  yet instead of copying it (what @sluice/store ships)
//   cow       - copy-on-write, no freeze (cheapest, but a caller can mutate a snapshot)
//   copy-get  - no freeze, get() returns a fresh copy (safe, but every read allocates)
import { createStateStore } from "../dist/index.js";

const UNSAFE = new Set(["__proto__", "constructor", "prototype"]);

function makeStrategy(freeze, copyOnGet, freezeOnRead = false, inPlace = false) {
  return (initial) => {
    let state = {};
    let frozen = false;
    for (const k of Object.keys(initial)) if (!UNSAFE.has(k)) state[k] = initial[k];
    if (freeze) Object.freeze(state);
    return {
      get: () => {
        if (copyOnGet) return { ...state };
        if (freezeOnRead && !frozen) {
          Object.freeze(state);
          frozen = true;
        }
        return state;
      },
      set(patch) {
        if (inPlace && !frozen) {
          for (const k in patch) if (!UNSAFE.has(k)) state[k] = patch[k];
          return;
        }
        const keys = Object.keys(patch);
        let changed = false;
        for (const k of keys) {
          if (UNSAFE.has(k)) continue;
          if (!Object.is(state[k], patch[k]) || !Object.hasOwn(state, k)) {
            changed = true;
            break;
          }
        }
        if (!changed) return;
        const next = { ...state };
        for (const k of keys) if (!UNSAFE.has(k)) next[k] = patch[k];
        state = freeze ? Object.freeze(next) : next;
        frozen = false;
      },
    };
  };
}

const strategies = {
  freeze: makeStrategy(true, false),
  "freeze-on-read": makeStrategy(false, false, true),
  "write-until-read": makeStrategy(false, false, true, true),
  cow: makeStrategy(false, false),
  "copy-get": makeStrategy(false, true),
  "@sluice/store": createStateStore,
};

let sink = 0;
function oneRun(create, i) {
  const store = create({
    orderId: `o${i}`,
    tier: "vip",
    amount: i,
    items: [1, 2],
    customer: { id: i },
    at: i,
  });
  store.set({ valid: true });
  store.set({ approved: true, approver: "bob" });
  store.set({ shipped: true });
  for (let r = 0; r < 10; r++) sink += store.get().amount;
}

function measure(name, create, runs) {
  for (let i = 0; i < 20_000; i++) oneRun(create, i); // warm-up
  const best = [];
  for (let round = 0; round < 5; round++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < runs; i++) oneRun(create, i);
    best.push(Number(process.hrtime.bigint() - t0) / runs);
  }
  best.sort((a, b) => a - b);
  return { name, nsPerRun: best[0], median: best[2] };
}

const runs = 200_000;
const results = Object.entries(strategies).map(([name, create]) => measure(name, create, runs));
console.log(`node ${process.version}, ${runs} runs x 5 rounds; one run = create + 3 set + 10 get`);
for (const r of results) {
  console.log(
    `${r.name.padEnd(17)} best ${r.nsPerRun.toFixed(0).padStart(6)} ns/run   median ${r.median.toFixed(0).padStart(6)} ns/run`,
  );
}
if (sink === 42) console.log("");
