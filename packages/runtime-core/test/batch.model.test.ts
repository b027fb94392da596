import { afterEach, describe, expect, it, vi } from "vitest";
import type { BatchPayload, DispatchResult } from "../src/index.js";
import { type Harness, harness } from "./helpers.js";

/**
 * A randomized model test of a keyed `batch` (README "Batch"): a plain model of the documented
 * rules is run beside a real runtime on fake timers, and after each operation both must agree on
 * every onDispatch report (outcome, key, the batch's events in order), and at the end on the runs
 * each batch made. The `started` report of some batches emits an event (host code during the
 * batch's release): it comes after every event before it, in the batch of its key collecting then. Sequences end with a drain (refusing events, or letting
 * them start runs) or a deregistration.
 */

interface Config {
  readonly maxSize: number;
  readonly timeoutMs: number;
  readonly ending: "drop" | "start" | "deregister";
}

type Report = readonly [outcome: string, key: string, ns: readonly number[]];

/** Seeded PRNG (mulberry32). */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { int: (n: number) => Math.floor(next() * n) };
}

const KEYS = ["a", "b", "c"];
/** A batch whose first event's `n` is a multiple of 4 (below 1000) emits an event of the next key as it is reported started. */
const emitsFrom = (ns: readonly number[], key: string) =>
  ns[0]! % 4 === 0 && ns[0]! < 1000
    ? { k: KEYS[(KEYS.indexOf(key) + 1) % KEYS.length]!, n: 1000 + ns[0]! }
    : undefined;

class Model {
  now = 0;
  readonly reports: Report[] = [];
  readonly runs: number[][] = [];
  /** Per key, the batch collecting: its events and when it goes on (a `Map` keeps the order keys began). */
  private readonly collecting = new Map<string, { ns: number[]; dueAt: number; seq: number }>();
  private seq = 0;
  /** Batches to send on, in order; `sending` while one goes on (its run's events join batches meanwhile). */
  private readonly outbox: Array<{ key: string; ns: number[]; refused: boolean }> = [];
  private sending = false;
  draining: "drop" | "start" | undefined;
  deregistered = false;

  constructor(private readonly config: Config) {}

  emit(key: string, n: number): void {
    if (this.deregistered) return; // not the runtime's any more: no trigger hears it
    if (this.draining !== undefined) {
      this.send(key, [n], this.draining === "drop");
      return;
    }
    // a batch whose timeout has come (its timer not run yet: due in this same ms) goes on, after
    // this event has begun the next batch
    let due = this.collecting.get(key);
    if (due !== undefined && due.dueAt <= this.now) this.collecting.delete(key);
    else due = undefined;
    let batch = this.collecting.get(key);
    if (batch === undefined) {
      batch = { ns: [], dueAt: this.now + this.config.timeoutMs, seq: this.seq++ };
      this.collecting.set(key, batch);
    }
    batch.ns.push(n);
    const full = batch.ns.length < this.config.maxSize ? undefined : batch;
    if (full !== undefined) this.collecting.delete(key);
    if (due !== undefined) this.send(key, due.ns, false);
    if (full !== undefined) this.send(key, full.ns, false);
  }

  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      let next: [string, { ns: number[]; dueAt: number; seq: number }] | undefined;
      for (const entry of this.collecting) {
        if (entry[1].dueAt > until) continue;
        if (
          next === undefined ||
          entry[1].dueAt < next[1].dueAt ||
          (entry[1].dueAt === next[1].dueAt && entry[1].seq < next[1].seq)
        )
          next = entry;
      }
      if (next === undefined) break;
      this.now = next[1].dueAt;
      this.collecting.delete(next[0]);
      this.send(next[0], next[1].ns, false);
    }
    this.now = until;
  }

  end(ending: Config["ending"]): void {
    if (ending === "deregister") {
      this.deregistered = true;
      for (const [key, batch] of this.collecting) this.reports.push(["dropped", key, batch.ns]);
      this.collecting.clear();
      return;
    }
    this.draining = ending;
    // all in line first: an event one's report emits comes after them all
    for (const [key, batch] of this.collecting) this.outbox.push({ key, ns: batch.ns, refused: false });
    this.collecting.clear();
    this.flush();
  }

  private send(key: string, ns: number[], refused: boolean): void {
    this.outbox.push({ key, ns, refused });
    this.flush();
  }

  private flush(): void {
    if (this.sending) return;
    this.sending = true;
    while (this.outbox.length > 0) {
      const batch = this.outbox.shift()!;
      if (batch.refused) {
        this.reports.push(["dropped", batch.key, batch.ns]);
        continue;
      }
      this.reports.push(["started", batch.key, batch.ns]);
      this.runs.push(batch.ns);
      const emitted = emitsFrom(batch.ns, batch.key);
      if (emitted !== undefined) this.emit(emitted.k, emitted.n);
    }
    this.sending = false;
  }
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.runtime.stop();
  h = undefined;
  vi.useRealTimers();
});

async function runSequence(seed: number): Promise<void> {
  const rnd = random(seed);
  const config: Config = {
    maxSize: 1 + rnd.int(4),
    timeoutMs: 10 + rnd.int(40),
    ending: (["drop", "start", "deregister"] as const)[rnd.int(3)]!,
  };
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
  h = await harness();
  const bus = h.bus;
  const model = new Model(config);
  const reports: DispatchResult[] = [];
  const runs: number[][] = [];
  await h.runtime.register(
    {
      id: "batched",
      triggers: {
        go: {
          event: "go",
          pipeline: "p",
          batch: { maxSize: config.maxSize, timeoutMs: config.timeoutMs, key: (p: { k: string }) => p.k },
        },
      },
      pipelines: {
        p: {
          stages: [
            {
              id: "s",
              steps: [
                {
                  id: "s",
                  action: (ctx) => {
                    const batch = ctx.state() as unknown as BatchPayload<{ n: number }>;
                    runs.push(batch.events.map((e) => e.n));
                  },
                },
              ],
            },
          ],
        },
      },
    },
    {
      // every batch starts its run at once: what is compared is the batches, not the mode
      mode: { type: "transient", concurrency: 10_000 },
      onDispatch: (r) => {
        reports.push(r);
        if (r.outcome !== "started") return;
        const batch = r.payload as BatchPayload<{ n: number }>;
        const emitted = emitsFrom(
          batch.events.map((e) => e.n),
          batch.key!,
        );
        if (emitted !== undefined) bus.emit("go", emitted);
      },
    },
  );
  const seen = (): Report[] =>
    reports.map((r) => {
      const batch = r.payload as BatchPayload<{ n: number }>;
      return [r.outcome, batch.key!, batch.events.map((e) => e.n)];
    });
  const log: string[] = [`seed ${seed} ${JSON.stringify(config)}`];
  const check = () => expect(seen(), log.join("\n")).toEqual(model.reports);
  let n = 0;
  for (let op = 0; op < 30; op++) {
    if (rnd.int(3) === 0) {
      const ms = rnd.int(30);
      log.push(`advance ${ms}`);
      model.advance(ms);
      await vi.advanceTimersByTimeAsync(ms);
    } else {
      const k = KEYS[rnd.int(KEYS.length)]!;
      n++;
      log.push(`emit ${k} ${n}`);
      model.emit(k, n);
      bus.emit("go", { k, n });
    }
    check();
  }
  log.push(`end ${config.ending}`);
  model.end(config.ending);
  if (config.ending === "deregister") await h.runtime.deregister("batched");
  else {
    const drained = h.runtime.drain({ triggers: config.ending });
    // an event during the drain: refused, or a batch of one
    n++;
    model.emit("a", n);
    bus.emit("go", { k: "a", n });
    await vi.advanceTimersByTimeAsync(0);
    expect((await drained).drained).toBe(true);
  }
  check();
  // nothing left to go on later: no timer of a batch left
  await vi.advanceTimersByTimeAsync(1000);
  check();
  expect(runs, log.join("\n")).toEqual(model.runs);
  await h.runtime.stop();
  expect(vi.getTimerCount()).toBe(0);
  h = undefined;
  vi.useRealTimers();
}

describe("a keyed batch against a model of its rules", () => {
  it("agrees on every report and every run's events over 150 random sequences", async () => {
    for (let seed = 1; seed <= 150; seed++) await runSequence(seed);
  });
});
