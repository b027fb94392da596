import { describe, expect, it } from "vitest";
import { PipelineRegistry, type RunInfo } from "../src/index.js";

// The registry's documented rules, written the slow and obvious way: every run in one Map, the
// finishing order as a counter. The registry keeps finished runs in a ring with a hash index built
// on the first lookup, so long random sequences are what find its mistakes (tombstones, rebuilds,
// growth, compaction after deletes).
class ReferenceRegistry {
  private readonly runs = new Map<
    string,
    { info: RunInfo; added: number; finishedAs?: number | undefined }
  >();
  private added = 0;
  private finishes = 0;

  constructor(
    private readonly maxFinished: number,
    private readonly maxAgeMs?: number,
  ) {}

  set(info: RunInfo): void {
    const held = this.runs.get(info.runId);
    const finished = isFinished(info.status);
    if (held === undefined) {
      this.runs.set(info.runId, {
        info: { ...info },
        added: this.added++,
        ...(finished && { finishedAs: this.finishes++ }),
      });
    } else {
      const changedAt = held.info.updatedAt !== info.updatedAt;
      held.info = { ...info };
      if (!finished) held.finishedAs = undefined;
      // a finished run whose updatedAt changes counts as finishing again
      else if (held.finishedAs === undefined || changedAt) held.finishedAs = this.finishes++;
    }
    this.trim();
  }

  update(runId: string, patch: Partial<RunInfo>): RunInfo | undefined {
    const held = this.runs.get(runId);
    if (held === undefined) return undefined;
    this.set({ ...held.info, ...patch, runId });
    return { ...this.runs.get(runId)!.info };
  }

  get(runId: string): RunInfo | undefined {
    const held = this.runs.get(runId);
    return held === undefined ? undefined : { ...held.info };
  }

  delete(runId: string): boolean {
    return this.runs.delete(runId);
  }

  prune(now: number): number {
    let dropped = this.trim();
    if (this.maxAgeMs === undefined) return dropped;
    // every finished run too old goes, wherever it is in the finishing order
    for (const [runId, run] of this.finishingOrder()) {
      if (run.info.updatedAt >= now - this.maxAgeMs) continue;
      this.runs.delete(runId);
      dropped++;
    }
    return dropped;
  }

  list(): RunInfo[] {
    return [...this.runs.values()].sort((a, b) => a.added - b.added).map((run) => ({ ...run.info }));
  }

  get size(): number {
    return this.runs.size;
  }

  private finishingOrder() {
    return [...this.runs]
      .filter(([, run]) => run.finishedAs !== undefined)
      .sort(([, a], [, b]) => a.finishedAs! - b.finishedAs!);
  }

  private trim(): number {
    const finished = this.finishingOrder();
    let dropped = 0;
    for (let i = 0; finished.length - i > this.maxFinished; i++) {
      this.runs.delete(finished[i]![0]);
      dropped++;
    }
    return dropped;
  }
}

function isFinished(status: RunInfo["status"]): boolean {
  return status === "completed" || status === "failed" || status === "aborted";
}

/** A small seeded PRNG (mulberry32), so a failure names the seed that reproduces it. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STATUSES: RunInfo["status"][] = ["queued", "running", "paused", "completed", "failed", "aborted"];

function run(
  seed: number,
  ids: number,
  steps: number,
  maxFinished: number,
  maxAgeMs?: number,
  jitter = 0,
): void {
  const rand = random(seed);
  const retention = maxAgeMs === undefined ? { maxFinished } : { maxFinished, maxAgeMs };
  const registry = new PipelineRegistry({ workflowId: "w", retention });
  const reference = new ReferenceRegistry(maxFinished, maxAgeMs);
  let clock = 0;
  const pick = (n: number) => Math.floor(rand() * n);
  for (let step = 0; step < steps; step++) {
    clock += pick(3);
    // with jitter, runs are stamped by clocks that disagree: they arrive out of updatedAt order
    const at = jitter === 0 ? clock : clock - pick(jitter + 1);
    const runId = `run-${pick(ids)}`;
    const status = STATUSES[pick(STATUSES.length)]!;
    const roll = rand();
    const where = `seed ${seed}, step ${step}`;
    if (roll < 0.45) {
      const info: RunInfo = {
        runId,
        workflowId: "w",
        pipelineId: "p",
        triggerId: "t",
        status,
        startedAt: at,
        updatedAt: at,
        ...(rand() < 0.3 && { stage: `s${pick(3)}` }),
        ...(status === "failed" && { error: { code: "E", message: `m${step}` } }),
      };
      registry.set(info);
      reference.set(info);
    } else if (roll < 0.7) {
      const patch = { status, updatedAt: at };
      expect(registry.update(runId, patch), where).toEqual(reference.update(runId, patch));
    } else if (roll < 0.8) {
      expect(registry.delete(runId), where).toBe(reference.delete(runId));
    } else if (roll < 0.85) {
      expect(registry.prune(clock), where).toBe(reference.prune(clock));
    } else {
      expect(registry.get(runId), where).toEqual(reference.get(runId));
      expect(registry.has(runId), where).toBe(reference.get(runId) !== undefined);
    }
    if (step % 50 === 0 || step === steps - 1) {
      expect(registry.size, where).toBe(reference.size);
      expect(registry.list(), where).toEqual(reference.list());
    }
  }
}

describe("PipelineRegistry against a reference of its rules", () => {
  it("agrees over random sets, updates, deletes and lookups with a small retention", () => {
    for (let seed = 1; seed <= 20; seed++) run(seed, 40, 3000, 7);
  });

  it("agrees with many more ids than the retention keeps (lookups of dropped runs, ring growth)", () => {
    for (let seed = 21; seed <= 25; seed++) run(seed, 2000, 6000, 300);
  }, 30_000); // a model check, not a timed test: a loaded 2-core machine must not fail it

  it("agrees when finished runs also expire by age", () => {
    for (let seed = 31; seed <= 40; seed++) run(seed, 60, 3000, 20, 15);
  });

  it("agrees when runs arrive stamped out of updatedAt order and expire by age", () => {
    for (let seed = 41; seed <= 50; seed++) run(seed, 60, 3000, 20, 15, 30);
    for (let seed = 51; seed <= 53; seed++) run(seed, 400, 6000, 150, 40, 60);
  });

  it("finds a finished run among a thousand after many have come and gone", () => {
    const registry = new PipelineRegistry({ workflowId: "w" });
    const base = { workflowId: "w", pipelineId: "p", triggerId: "t", startedAt: 1, updatedAt: 1 };
    for (let i = 0; i < 50_000; i++) {
      registry.adopt({ ...base, runId: `r${i}`, status: "running" });
      registry.setStatus(`r${i}`, "completed", i);
      // a host polling a run it just saw finish keeps the lookup index in use throughout
      if (i % 97 === 0) expect(registry.get(`r${i}`)?.status).toBe("completed");
    }
    expect(registry.size).toBe(1000);
    expect(registry.get("r49000")?.updatedAt).toBe(49_000);
    expect(registry.has("r48999")).toBe(false);
    expect(registry.list().map((r) => r.runId)).toEqual(
      Array.from({ length: 1000 }, (_, i) => `r${49_000 + i}`),
    );
  });
});
