import { describe, expect, it } from "vitest";
import type { DispatchRequest, ExecutionPolicy, PolicyHost } from "../src/modes/execution-policy.js";
import { KeyedSlotQueuePolicy } from "../src/modes/keyed-slot-queue-policy.js";
import { SlotQueuePolicy } from "../src/modes/slot-queue-policy.js";

/**
 * A randomized model test of the `transient` and `serialized` policies with resumed runs: random
 * requests (few keys, a few priorities), runs ending or pausing (each gives its slots back), paused
 * runs resuming (taking their slots again, or waiting for them ahead of every queued run, in the
 * order they resumed), waiting resumers ending (aborted, failed at their deadline), queued runs
 * forgotten, and runs adopted from a checkpoint without their key (an overall slot only). A plain
 * model of the documented rule runs beside the policy; both must agree on every decision and on
 * the order in which runs get their slots (launched, or granted to a resumer).
 */

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
  readonly keyConcurrency: number;
  readonly capacity: number;
  readonly keyed: boolean;
  readonly prioritised: boolean;
  readonly keys: number;
}

interface Run {
  readonly id: string;
  /** `undefined`: adopted from a checkpoint without its key (keyed), or no key (unkeyed). */
  readonly key: string | undefined;
  readonly priority: number;
  readonly arrival: number;
}

class Model {
  readonly running: Run[] = [];
  readonly queued: Run[] = [];
  readonly resuming: Run[] = [];
  readonly paused: Run[] = [];
  /** Runs given a slot, in that order: `start <id>` (launched) or `resume <id>` (granted). */
  readonly slots: string[] = [];
  private arrivals = 0;

  constructor(private readonly config: Config) {}

  hasRoom(key: string | undefined): boolean {
    if (key === undefined) return true;
    return this.running.filter((r) => r.key === key).length < this.config.keyConcurrency;
  }

  accept(id: string, key: string | undefined, priority: number): "started" | "queued" | "dropped" {
    const run = { id, key, priority: this.config.prioritised ? priority : 0, arrival: this.arrivals++ };
    if (this.running.length < this.config.concurrency && this.hasRoom(key)) {
      this.running.push(run);
      this.slots.push(`start ${id}`);
      return "started";
    }
    if (this.queued.length < this.config.capacity) {
      this.queued.push(run);
      return "queued";
    }
    return "dropped";
  }

  /** A paused run resumes: true when it goes on at once. */
  resume(run: Run): boolean {
    this.paused.splice(this.paused.indexOf(run), 1);
    if (this.running.length < this.config.concurrency && this.hasRoom(run.key)) {
      this.running.push(run);
      return true;
    }
    this.resuming.push(run);
    return false;
  }

  release(run: Run, pauses: boolean): void {
    this.running.splice(this.running.indexOf(run), 1);
    if (pauses) this.paused.push(run);
    this.fill();
  }

  withdraw(run: Run): void {
    this.resuming.splice(this.resuming.indexOf(run), 1);
  }

  forget(run: Run): void {
    this.queued.splice(this.queued.indexOf(run), 1);
  }

  private fill(): void {
    while (this.running.length < this.config.concurrency) {
      const resumer = this.resuming.find((r) => this.hasRoom(r.key));
      if (resumer !== undefined) {
        this.resuming.splice(this.resuming.indexOf(resumer), 1);
        this.running.push(resumer);
        this.slots.push(`resume ${resumer.id}`);
        continue;
      }
      let best: Run | undefined;
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
      this.slots.push(`start ${best.id}`);
    }
  }
}

function runSequence(seed: number, config: Config, ops: number): void {
  const rng = random(seed);
  const slots: string[] = [];
  let nextId = 0;
  const host: PolicyHost = {
    createRun: () => `r${nextId++}`,
    launchRun: (runId) => void slots.push(`start ${runId}`),
    cancelQueuedRun: () => expect.fail("not expected"),
    signalRun: () => "not expected",
    abortRun: () => expect.fail("not expected"),
    isDecided: () => false,
  };
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
  let adopted = 0;
  const pick = <T>(list: readonly T[]): T => list[rng.int(list.length)]!;
  for (let op = 0; op < ops; op++) {
    const r = rng.next();
    const where = `seed ${seed} op ${op}`;
    if (r < 0.3) {
      const key = config.keyed ? `k${rng.int(config.keys)}` : undefined;
      const priority = rng.int(3);
      const id = `r${nextId}`;
      const request: DispatchRequest = {
        triggerId: "go",
        event: "job",
        payload: {},
        initialState: {},
        key: undefined,
        concurrencyKey: key,
        priority: config.prioritised ? priority : 0,
      };
      const decision = policy.accept(request);
      expect(decision.outcome, `${where}: accept ${id}`).toBe(model.accept(id, key, priority));
      if (decision.outcome !== "dropped") expect((decision as { runId: string }).runId).toBe(id);
    } else if (r < 0.33) {
      // a paused run adopted from a checkpoint written without its key: it holds nothing
      model.paused.push({ id: `adopted${adopted++}`, key: undefined, priority: 0, arrival: -1 });
    } else if (r < 0.55) {
      if (model.running.length === 0) continue;
      const run = pick(model.running);
      const pauses = rng.next() < 0.6;
      if (pauses) policy.runPaused(run.id);
      else policy.runEnded(run.id);
      model.release(run, pauses);
    } else if (r < 0.8) {
      if (model.paused.length === 0) continue;
      const run = pick(model.paused);
      const key = config.keyed ? run.key : undefined;
      const now = policy.runResuming(run.id, key, () => void slots.push(`resume ${run.id}`));
      expect(now, `${where}: ${run.id} resumes at once`).toBe(model.resume(run));
    } else if (r < 0.9) {
      if (model.resuming.length === 0) continue;
      const run = pick(model.resuming);
      policy.runEnded(run.id);
      model.withdraw(run);
    } else {
      if (model.queued.length === 0) continue;
      const run = pick(model.queued);
      policy.forget(run.id);
      model.forget(run);
    }
    expect(slots, `${where}: slots given`).toEqual(model.slots);
  }
  // everything ends: the policy gives every waiting run its slot, in the model's order
  for (;;) {
    if (model.running.length > 0) {
      const run = model.running[0]!;
      policy.runEnded(run.id);
      model.release(run, false);
    } else if (model.paused.length > 0) {
      const run = model.paused[0]!;
      expect(policy.runResuming(run.id, config.keyed ? run.key : undefined, () => expect.fail("waits"))).toBe(
        model.resume(run),
      );
    } else break;
    expect(slots).toEqual(model.slots);
  }
  expect(model.resuming).toEqual([]);
  expect(model.queued).toEqual([]);
  if (config.keyed) {
    const internals = policy as unknown as {
      lines: Map<string, unknown>;
      running: { size: number };
      queuedIn: { size: number };
      resumingIn: { size: number };
    };
    expect(internals.lines.size).toBe(0);
    expect(internals.running.size).toBe(0);
    expect(internals.resumingIn.size).toBe(0);
  }
}

describe("resumed runs against a model of the slot policies", () => {
  const configs: Config[] = [
    { concurrency: 1, keyConcurrency: Infinity, capacity: 5, keyed: false, prioritised: false, keys: 1 },
    { concurrency: 3, keyConcurrency: Infinity, capacity: 4, keyed: false, prioritised: true, keys: 1 },
    { concurrency: 3, keyConcurrency: 1, capacity: 6, keyed: true, prioritised: false, keys: 3 },
    { concurrency: 4, keyConcurrency: 2, capacity: 8, keyed: true, prioritised: true, keys: 3 },
    { concurrency: Infinity, keyConcurrency: 1, capacity: 8, keyed: true, prioritised: false, keys: 4 },
    { concurrency: 2, keyConcurrency: 1, capacity: 3, keyed: true, prioritised: true, keys: 6 },
  ];
  for (const [i, config] of configs.entries()) {
    const { concurrency, keyConcurrency, capacity, keyed, prioritised } = config;
    const name = `concurrency ${concurrency}${keyed ? `, keyConcurrency ${keyConcurrency}` : ""}, capacity ${capacity}${prioritised ? ", priority" : ""}`;
    it(`agrees with the model (${name})`, () => {
      for (let seed = 1; seed <= 150; seed++) runSequence(seed * 7919 + i, config, 300);
    });
  }
});
