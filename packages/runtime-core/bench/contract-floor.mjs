// How close can a run get to plain async code while keeping Sluice's contracts? Three contenders,
// each in fresh processes, alternated, wall time per 3-step run (median of 5 rounds per process):
//   plain    three async functions, Object.assign merges (the cross-engine bench's floor)
//   model    the least a run must do under Sluice's contracts, written out by hand: a copy of the
//            payload, a run id, a run record, a state store that freezes the state it hands out, a
//            registry entry and a store entry in IdMaps (added and removed by handle, as the
//            runtime does), a context object per step, the async step loop, two clock reads, and a
//            result with its metadata
//   sluice   WorkflowRuntime.invoke of the same workflow
// Run: node bench/contract-floor.mjs [processes per contender = 5]   (build the packages first)
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const role = process.argv[2]?.startsWith("--run=") ? process.argv[2].slice(6) : undefined;

async function measure(which) {
  const s1 = async () => ({ a: 1 });
  const s2 = async () => ({ b: 2 });
  const s3 = async () => ({ c: 3 });
  let invoke;
  // The model and Sluice resolve to a result envelope; the loop unwraps it after its await, as a
  // caller would (an async wrapper to unwrap it would add a promise and a tick the floor does not pay).
  let stateOf = (state) => state;
  if (which === "plain") {
    invoke = async (input) => {
      const state = Object.assign({}, input);
      Object.assign(state, await s1(state));
      Object.assign(state, await s2(state));
      Object.assign(state, await s3(state));
      return state;
    };
  } else if (which === "model") {
    const { IdMap } = await import("@sluice/id-map");
    const steps = [s1, s2, s3];
    class Context {
      constructor(run, step) {
        this.run = run;
        this.step = step;
      }
      state() {
        return this.run.store.get();
      }
    }
    class Store {
      constructor(state) {
        this.state = state;
        this.frozen = false;
      }
      get() {
        if (!this.frozen) {
          Object.freeze(this.state);
          this.frozen = true;
        }
        return this.state;
      }
      set(patch) {
        for (const key in patch) this.state[key] = patch[key];
      }
    }
    class Run {
      constructor(id, store) {
        this.id = id;
        this.store = store;
        this.seq = 0;
        this.slot = -1;
        this.entry = -1;
        this.storeSlot = -1;
        this.startedAt = 0;
        this.resolve = undefined;
      }
    }
    const runs = new IdMap();
    const registry = new IdMap();
    const stores = new IdMap();
    const head = [Math.random().toString(36).slice(2, 9), Math.random().toString(36).slice(2, 9), "-"].join(
      "",
    );
    let counter = 0;
    let captured;
    const capture = (resolve) => {
      captured = resolve;
    };
    const drive = async (run) => {
      for (let i = 0; i < steps.length; i++) {
        run.seq++;
        let out = steps[i](new Context(run, i));
        if (out !== null && typeof out === "object" && typeof out.then === "function") out = await out;
        run.seq++;
        if (out !== undefined) run.store.set(out);
      }
      const now = Date.now();
      const state = run.store.get();
      runs.removeAt(run.slot);
      registry.removeAt(run.entry);
      stores.removeAt(run.storeSlot);
      run.resolve({
        ok: true,
        value: { status: "completed", state },
        metadata: {
          runId: run.id,
          workflowId: "w",
          pipelineId: "p",
          triggerId: "go",
          durationMs: now - run.startedAt,
        },
      });
    };
    const start = (payload) => {
      const id = head + (++counter).toString(36);
      const state = {};
      for (const key in payload) state[key] = payload[key];
      const store = new Store(state);
      const run = new Run(id, store);
      run.startedAt = Date.now();
      run.slot = runs.insert(id, run);
      run.storeSlot = stores.add(id, store);
      run.entry = registry.insert(id, {
        runId: id,
        workflowId: "w",
        pipelineId: "p",
        triggerId: "go",
        status: "running",
        startedAt: run.startedAt,
        updatedAt: run.startedAt,
      });
      const done = new Promise(capture);
      run.resolve = captured;
      drive(run);
      return done;
    };
    invoke = start;
    stateOf = (result) => result.value.state;
  } else {
    const { createEventBus } = await import("@sluice/events");
    const { StoreRegistry } = await import("@sluice/store");
    const { WorkflowRuntime } = await import("../dist/index.js");
    const runtime = new WorkflowRuntime({
      bus: createEventBus(),
      storeRegistry: new StoreRegistry(),
      env: {},
    });
    await runtime.register({
      id: "w",
      triggers: { go: { event: "go", pipeline: "p" } },
      pipelines: {
        p: {
          stages: [
            { id: "s1", steps: [{ id: "a", action: s1 }] },
            { id: "s2", steps: [{ id: "b", action: s2 }] },
            { id: "s3", steps: [{ id: "c", action: s3 }] },
          ],
        },
      },
    });
    invoke = (input) => runtime.invoke("w", "go", input);
    stateOf = (result) => result.value.state;
  }
  const n = 100_000;
  let check = 0;
  for (let i = 0; i < n; i++) check += stateOf(await invoke({ id: i })).c;
  const rounds = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) check += stateOf(await invoke({ id: i })).c;
    rounds.push(((performance.now() - t0) * 1000) / n);
  }
  if (check !== 3 * 6 * n) throw new Error(`${which}: a run did not end with c: 3`);
  rounds.sort((a, b) => a - b);
  return rounds[2];
}

if (role !== undefined) {
  console.log(JSON.stringify(await measure(role)));
} else {
  const processes = Number(process.argv[2] ?? 5);
  const script = fileURLToPath(import.meta.url);
  const figures = { plain: [], model: [], sluice: [] };
  for (let p = 0; p < processes; p++) {
    const order = p % 2 === 0 ? ["plain", "model", "sluice"] : ["sluice", "model", "plain"];
    for (const which of order) {
      const out = execFileSync(process.execPath, ["--single-threaded-gc", script, `--run=${which}`], {
        encoding: "utf8",
      });
      figures[which].push(Number(out.trim()));
    }
  }
  const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
  const floor = median(figures.plain);
  console.log(`node ${process.version}, ${processes} processes per contender, wall µs per 3-step run`);
  for (const which of ["plain", "model", "sluice"]) {
    const m = median(figures[which]);
    console.log(
      `${which.padEnd(7)} ${m.toFixed(3)} µs  ${(m / floor).toFixed(2)}× plain   (${figures[which].map((v) => v.toFixed(3)).join(", ")})`,
    );
  }
}
