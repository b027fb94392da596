import type { PauseService } from "@sluice/pause";
import { afterEach, describe, expect, it } from "vitest";
import type { ExecutionMode, RegisterOptions, RunResult, Workflow } from "../src/index.js";
import { type Harness, harness, tick } from "./helpers.js";

/**
 * Randomized runs of a `transient` or `serialized` workflow through the real runtime: steps that
 * pause (some resumed at once by an event buffered during their stage), resumes by event, by
 * timeout and by `resume()`, aborts of runs wherever they are (waiting for a slot included), an
 * async `onPause`, a pause window of 0. Whatever happens, no more steps execute at once than the
 * mode's slots (per key too), every run ends, and the mode holds nothing afterwards.
 */

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

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

async function scenario(
  seed: number,
  mode: ExecutionMode,
  limit: number,
  keyLimit: number,
  options: Partial<RegisterOptions>,
) {
  const rng = random(seed);
  h = await harness();
  let executing = 0;
  let most = 0;
  const byKey = new Map<string, number>();
  let mostOfAKey = 0;
  const key = (id: string) => id.split("-")[0]!;
  const stages = [0, 1, 2].map((n) => ({
    id: `s${n}`,
    steps: [
      {
        id: `s${n}`,
        action: async (ctx: any) => {
          const id = ctx.state().id as string;
          executing++;
          most = Math.max(most, executing);
          byKey.set(key(id), (byKey.get(key(id)) ?? 0) + 1);
          mostOfAKey = Math.max(mostOfAKey, byKey.get(key(id))!);
          // an aborted run's slot goes on without waiting for its step: it stops counting at once
          let counted = true;
          const leave = () => {
            if (!counted) return;
            counted = false;
            executing--;
            byKey.set(key(id), byKey.get(key(id))! - 1);
          };
          const signal = ctx.signal as AbortSignal;
          signal.addEventListener("abort", leave);
          try {
            await tick(rng.int(3));
            if (signal.aborted) return;
            const plan = rng.next();
            if (n < 2 && plan < 0.6) {
              const pause = await ctx.use((d: any) => d.require("__pause_service__") as PauseService);
              pause.register({
                event: `go.${id}`,
                ...(plan < 0.1 && { timeoutMs: 1 + rng.int(5) }),
                // host code in the wait's patch mapper: it resumes, aborts or detaches runs itself
                ...(reentrant && {
                  patch: (payload: unknown) => {
                    meddle(ctx.runId as string);
                    return payload as object;
                  },
                }),
              });
              // buffered: resumed at once, in the slot it holds
              if (plan > 0.45) h.bus.emit(`go.${id}`, {});
            }
          } finally {
            leave();
          }
        },
      },
    ],
  }));
  const reentrant = options.onPause === undefined && rng.next() < 0.5;
  /** Host code calling the runtime from a hook or a patch mapper. */
  const meddle = (self: string): void => {
    const r = rng.next();
    const paused = h.runtime.listAllRuns().filter((x) => x.status === "paused");
    if (r < 0.3) void h.runtime.resume(self);
    else if (r < 0.6 && paused.length > 0) void h.runtime.resume(paused[rng.int(paused.length)]!.runId);
    else if (r < 0.65) void h.runtime.abort(self);
    else if (r < 0.7)
      void h.runtime.detach(self).then(
        (c) => h.runtime.adopt(c),
        () => {},
      );
  };
  const workflow: Workflow = {
    id: "w",
    triggers: { go: { event: "job", pipeline: "p" } },
    pipelines: { p: { stages } },
  };
  const runIds: string[] = [];
  await h.runtime.register(workflow, {
    mode,
    onDispatch: (r) => void (r.runId !== undefined && runIds.push(r.runId)),
    onPause: (ctx) => {
      if (reentrant) meddle(ctx.runId);
      return rng.next() < 0.3 ? tick(rng.int(3)) : undefined;
    },
    onResume: (ctx) => {
      if (reentrant && rng.next() < 0.3) meddle(ctx.runId);
    },
    ...options,
  });
  const ids: string[] = [];
  for (let i = 0; i < 40; i++) {
    const r = rng.next();
    if (r < 0.35) {
      const id = `k${rng.int(3)}-${i}`;
      ids.push(id);
      h.bus.emit("job", { id });
    } else if (r < 0.75) {
      const paused = h.runtime.listAllRuns().filter((x) => x.status === "paused");
      if (paused.length > 0) {
        const run = paused[rng.int(paused.length)]!;
        if (rng.next() < 0.5) {
          const state = (await h.runtime.checkpoint(run.runId))?.state as { id: string } | undefined;
          if (state !== undefined) h.bus.emit(`go.${state.id}`, {});
        } else void h.runtime.resume(run.runId);
      }
    } else if (r < 0.8) {
      // detached and adopted again (as JSON): it waits here as before, and takes its slots when it resumes
      const paused = h.runtime.listAllRuns().filter((x) => x.status === "paused");
      if (paused.length > 0) {
        try {
          const checkpoint = await h.runtime.detach(paused[rng.int(paused.length)]!.runId);
          h.runtime.adopt(JSON.parse(JSON.stringify(checkpoint)));
        } catch (error) {
          // resumed or ended meanwhile (detach is refused then)
          expect((error as { code: string }).code).toBe("INVALID_STATE");
        }
      }
    } else if (r < 0.88) {
      const live = h.runtime.listAllRuns().filter((x) => x.status === "running" || x.status === "queued");
      if (live.length > 0) void h.runtime.abort(live[rng.int(live.length)]!.runId);
    }
    await tick(rng.int(3));
  }
  // the rest resume until every run has ended
  const deadline = Date.now() + 10_000;
  for (;;) {
    const left = h.runtime
      .listAllRuns()
      .filter((x) => !["completed", "failed", "aborted"].includes(x.status));
    if (left.length === 0) break;
    if (Date.now() > deadline) expect.fail(`seed ${seed}: runs left ${JSON.stringify(left)}`);
    for (const run of left) if (run.status === "paused") void h.runtime.resume(run.runId);
    await tick(2);
  }
  const results = (await Promise.all(runIds.map((id) => h.runtime.result(id)))) as RunResult[];
  expect(results.length).toBe(runIds.length);
  expect(most, `seed ${seed}: steps at once`).toBeLessThanOrEqual(limit);
  expect(mostOfAKey, `seed ${seed}: steps of a key at once`).toBeLessThanOrEqual(keyLimit);
  // (a run detached with a function for its patch mapper is reported: its checkpoint cannot carry it)
  expect(h.errors.filter((e) => !e.message.includes("which a checkpoint cannot carry"))).toEqual([]);
  const policy = (h.runtime as any).workflows.get("w").policy;
  if (policy.slots !== undefined) {
    expect(policy.slots.size).toBe(0);
    expect(policy.granters.size).toBe(0);
  } else {
    expect(policy.running.size).toBe(0);
    expect(policy.resumingIn.size).toBe(0);
    expect(policy.lines.size).toBe(0);
  }
}

describe("concurrency holds across resumes, in random interleavings", () => {
  const cases: Array<[string, ExecutionMode, number, number, Partial<RegisterOptions>]> = [
    ["serialized", { type: "serialized" }, 1, 1, {}],
    ["serialized, run deadline", { type: "serialized" }, 1, 1, { runTimeoutMs: 40 }],
    ["transient 2, pause window 0", { type: "transient", concurrency: 2 }, 2, 2, { pauseWindowMs: 0 }],
    [
      "transient 3, key",
      { type: "transient", concurrency: 3, key: (s) => String(s.id).split("-")[0]! },
      3,
      1,
      {},
    ],
    [
      "transient 4, key, keyConcurrency 2, priority",
      {
        type: "transient",
        concurrency: 4,
        keyConcurrency: 2,
        key: (s) => String(s.id).split("-")[0]!,
        priority: (s) => Number(String(s.id).split("-")[1]) % 3,
      },
      4,
      2,
      { pauseWindowMs: 0 },
    ],
    ["serialized, key", { type: "serialized", key: (s) => String(s.id).split("-")[0]! }, 3, 1, {}],
  ];
  for (const [name, mode, limit, keyLimit, options] of cases) {
    it(name, async () => {
      for (let seed = 1; seed <= 20; seed++) {
        await scenario(seed, mode, limit, keyLimit, options);
        await h.runtime.stop();
      }
    }, 60_000);
  }
});
