import { describe, expect, it } from "vitest";
import type { DispatchRequest, ExecutionPolicy, PolicyHost } from "../src/modes/execution-policy.js";
import { KeyedSlotQueuePolicy } from "../src/modes/keyed-slot-queue-policy.js";
import { SlotQueuePolicy } from "../src/modes/slot-queue-policy.js";

/**
 * A randomized model test of the `transient` and `serialized` policies with a `priority` (and
 * without one: every priority 0), keyed or not: random requests (few keys, few priorities, -0
 * among them), runs ending or pausing (each gives its slots back), queued runs forgotten (aborted,
 * or failed at their deadline), then a close. A plain model of the documented rule (a freed slot
 * goes to the queued run of highest priority among those whose key has room, equal priorities in
 * arrival order; a full queue drops a newcomer; close gives the queued runs in arrival order) is
 * run beside the policy, and both must agree on every decision, on the order runs start in and on
 * what close gives.
 */

/** Seeded PRNG (mulberry32): the same seed gives the same sequence of operations. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n) };
}

interface Config {
  readonly concurrency: number;
  /** Infinity for a policy without a key. */
  readonly keyConcurrency: number;
  readonly capacity: number;
  readonly keyed: boolean;
  readonly prioritised: boolean;
  readonly keys: number;
  readonly priorities: readonly number[];
}

interface ModelRun {
  readonly id: string;
  readonly key: string;
  readonly priority: number;
  readonly arrival: number;
}

/** The documented rule, kept plainly: lists scanned in full. */
class Model {
  readonly running: ModelRun[] = [];
  readonly queued: ModelRun[] = [];
  readonly startOrder: string[] = [];
  private arrivals = 0;

  constructor(private readonly config: Config) {}

  accept(id: string, key: string, priority: number): "started" | "queued" | "dropped" {
    const { concurrency, capacity } = this.config;
    const run = { id, key, priority: this.config.prioritised ? priority : 0, arrival: this.arrivals++ };
    if (this.running.length < concurrency && this.hasRoom(key)) {
      this.running.push(run);
      this.startOrder.push(id);
      return "started";
    }
    if (this.queued.length < capacity) {
      this.queued.push(run);
      return "queued";
    }
    return "dropped";
  }

  release(id: string): void {
    this.running.splice(
      this.running.findIndex((r) => r.id === id),
      1,
    );
    while (this.running.length < this.config.concurrency) {
      let best: ModelRun | undefined;
      for (const q of this.queued) {
        if (!this.hasRoom(q.key)) continue;
        if (
          best === undefined ||
          q.priority > best.priority ||
          (q.priority === best.priority && q.arrival < best.arrival)
        )
          best = q;
      }
      if (best === undefined) return;
      this.queued.splice(this.queued.indexOf(best), 1);
      this.running.push(best);
      this.startOrder.push(best.id);
    }
  }

  forget(id: string): void {
    this.queued.splice(
      this.queued.findIndex((r) => r.id === id),
      1,
    );
  }

  close(): string[] {
    return [...this.queued].sort((a, b) => a.arrival - b.arrival).map((r) => r.id);
  }

  hasRoom(key: string): boolean {
    return this.running.filter((r) => r.key === key).length < this.config.keyConcurrency;
  }
}

/** A host that records which runs the policy launches. */
function fakeHost() {
  const launched: string[] = [];
  let next = 0;
  const host: PolicyHost = {
    createRun: () => `r${next++}`,
    launchRun: (runId) => {
      launched.push(runId);
    },
    cancelQueuedRun: () => {
      throw new Error("not expected");
    },
    signalRun: () => "not expected",
    abortRun: () => {
      throw new Error("not expected");
    },
    isDecided: () => false,
  };
  return { host, launched };
}

function request(key: string, priority: number): DispatchRequest {
  return {
    triggerId: "go",
    event: "job",
    payload: {},
    initialState: {},
    key: undefined,
    concurrencyKey: key,
    priority,
  };
}

function runSequence(seed: number, config: Config, ops: number) {
  const rng = random(seed);
  const { host, launched } = fakeHost();
  const policy: ExecutionPolicy = config.keyed
    ? new KeyedSlotQueuePolicy(
        host,
        config.concurrency,
        config.keyConcurrency,
        config.capacity,
        config.prioritised,
      )
    : new SlotQueuePolicy(host, config.concurrency, config.capacity, config.prioritised);
  const model = new Model(config);
  let next = 0;
  let checked = 0;
  for (let op = 0; op < ops; op++) {
    const r = rng.next();
    // phases: the queue fills, then drains by slots freeing and forgets
    const bias = Math.floor(op / 200) % 2 === 0 ? 0 : 0.35;
    if (r + bias < 0.55) {
      const key = config.keyed ? `k${rng.int(config.keys)}` : "";
      const priority = config.priorities[rng.int(config.priorities.length)]!;
      const id = `r${next++}`;
      const decision = policy.accept(request(key, config.prioritised ? priority : 0));
      expect(decision.outcome, `op ${op}: accept ${id} (${key}, ${priority})`).toBe(
        model.accept(id, key, priority),
      );
      if (decision.outcome !== "dropped") expect((decision as { runId: string }).runId).toBe(id);
      else next--;
    } else if (r + bias < 0.85) {
      if (model.running.length === 0) continue;
      const run = model.running[rng.int(model.running.length)]!;
      if (rng.next() < 0.5) policy.runEnded(run.id);
      else policy.runPaused(run.id);
      model.release(run.id);
    } else {
      if (model.queued.length === 0) continue;
      // the first waiting runs are the ones whose leaving tests the stale entries
      const pick = rng.next() < 0.5 ? 0 : rng.int(model.queued.length);
      const byOrder = [...model.queued].sort((a, b) => b.priority - a.priority || a.arrival - b.arrival);
      const run = byOrder[pick]!;
      policy.forget(run.id);
      model.forget(run.id);
    }
    // (compared as they come: a whole-list compare per operation is quadratic)
    expect(launched.slice(checked), `op ${op}: start order`).toEqual(model.startOrder.slice(checked));
    checked = launched.length;
    // no queued run could start: every slot it could take is taken
    if (model.running.length < config.concurrency)
      for (const q of model.queued) if (model.hasRoom(q.key)) expect.fail(`op ${op}: ${q.id} could start`);
    if (config.keyed) {
      const internals = policy as unknown as { ready: { size: number }; queuedIn: { size: number } };
      expect(internals.queuedIn.size).toBe(model.queued.length);
      expect(internals.ready.size, `op ${op}: ready lines`).toBeLessThanOrEqual(2 * model.queued.length + 34);
    }
  }
  expect(policy.close()).toEqual(model.close());
  expect(launched).toEqual(model.startOrder);
}

const PRIORITIES = [0, -0, 1, 5, -2, 0.5, 1e308, -1e308];

describe("the transient and serialized policies against a model of priority", () => {
  const configs: Config[] = [];
  for (const prioritised of [true, false])
    for (const [concurrency, keyConcurrency, keys] of [
      [1, 1, 3],
      [2, 1, 3],
      [3, 2, 4],
      [4, 1, 2],
      [Number.POSITIVE_INFINITY, 1, 5],
    ] as const) {
      for (const capacity of [3, 10_000]) {
        configs.push({
          concurrency,
          keyConcurrency,
          capacity,
          keyed: true,
          prioritised,
          keys,
          priorities: PRIORITIES,
        });
        if (concurrency !== Number.POSITIVE_INFINITY)
          configs.push({
            concurrency,
            keyConcurrency: Number.POSITIVE_INFINITY,
            capacity,
            keyed: false,
            prioritised,
            keys: 1,
            priorities: PRIORITIES,
          });
      }
    }

  it.each(configs.map((config, i) => [i, config] as const))("config %i: %o", (i, config) => {
    for (let seed = 1; seed <= 12; seed++) runSequence(seed * 1000 + i, config, 600);
  });
});
