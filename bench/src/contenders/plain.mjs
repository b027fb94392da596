// The floor: what a developer writes with no engine. Three async functions whose results are
// merged into a state object; a pause is a promise resolved by an event emitter; bus dispatch is an
// emitter handler feeding a 100-slot limiter (the same semantics as Sluice's transient mode).
import { EventEmitter } from "node:events";
import { resumePayload } from "../checks.mjs";
import { probe } from "../measure.mjs";

async function s1() {
  probe();
  return { a: 1 };
}
async function s2() {
  probe();
  return { b: 2 };
}
async function s3() {
  probe();
  return { c: 3 };
}

// Object.assign({}, input) and not { ...input }: V8 gives a spread copy a map that the later
// Object.assign patches cannot extend on the fast path (about 10× slower); the floor is the fast form.
async function runLinear(input) {
  const state = Object.assign({}, input);
  Object.assign(state, await s1(state));
  Object.assign(state, await s2(state));
  Object.assign(state, await s3(state));
  return state;
}

/** @type {import("./contract.mjs").CreateLinear} */
export async function createLinear() {
  return { invoke: (id) => runLinear({ id }), close: async () => {} };
}

/** @type {import("./contract.mjs").CreatePausing} */
export async function createPausing() {
  const bus = new EventEmitter();
  const waiting = new Map();
  bus.on("approve", (payload) => {
    const resolve = waiting.get(payload.id);
    if (resolve) {
      waiting.delete(payload.id);
      resolve(payload);
    }
  });
  async function run(state, parked) {
    Object.assign(state, await s1(state));
    const payload = await new Promise((resolve) => {
      waiting.set(state.id, resolve);
      parked();
    });
    Object.assign(state, payload);
    Object.assign(state, await s2(state));
    Object.assign(state, await s3(state));
    return state;
  }
  return {
    start(id) {
      return new Promise((parked) => {
        const handle = { done: run({ id }, () => parked(handle)) };
      });
    },
    resume(handle, id) {
      bus.emit("approve", resumePayload(id));
      return handle.done;
    },
    close: async () => {},
  };
}

/** @type {import("./contract.mjs").CreateDispatch} */
export async function createDispatch({ concurrency, onComplete }) {
  const bus = new EventEmitter();
  const queue = [];
  let head = 0;
  let active = 0;
  const finish = (state) => {
    active--;
    onComplete(state);
    if (head < queue.length) start(queue[head++]);
  };
  const start = (payload) => {
    active++;
    runLinear(payload).then(finish);
  };
  bus.on("x.go", (payload) => {
    if (active < concurrency) start(payload);
    else queue.push(payload);
  });
  return { emit: (id) => bus.emit("x.go", { id }), close: async () => {} };
}
