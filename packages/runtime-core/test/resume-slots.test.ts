import type { PauseService } from "@sluice/pause";
import { afterEach, describe, expect, it } from "vitest";
import type { DispatchResult, ExecutionMode, RegisterOptions, RunResult, Workflow } from "../src/index.js";
import { type Harness, harness, tick } from "./helpers.js";

// A `transient` or `serialized` run gives its slot back as it pauses and takes one again before
// its next stage when it resumes (by an event, a timeout, `resume()`), waiting for one, ahead of
// runs that have not started, when none is free.

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

/** Run `id` of the workflow below: "pause" waits for `go.<id>`; anything else goes straight on. */
interface Job {
  id: string;
  how: "pause" | "run";
  timeoutMs?: number;
}

/**
 * A workflow whose first stage pauses a run or not (its payload says), and whose second stage
 * logs `<id> after` and holds until the test opens `<id>`: so a run holds its slot in that stage
 * for as long as the test wants.
 */
async function setup(mode: ExecutionMode, options: Partial<RegisterOptions> = {}) {
  h = await harness();
  const log: string[] = [];
  const gates = new Map<string, () => void>();
  const runIds = new Map<string, string>();
  const dispatched: DispatchResult[] = [];
  const workflow: Workflow = {
    id: "jobs",
    triggers: { go: { event: "job", pipeline: "p" } },
    pipelines: {
      p: {
        stages: [
          {
            id: "first",
            steps: [
              {
                id: "first",
                action: async (ctx) => {
                  const job = ctx.state() as unknown as Job;
                  log.push(`${job.id} starts`);
                  if (job.how !== "pause") return;
                  const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                  pause.register({
                    event: `go.${job.id}`,
                    ...(job.timeoutMs !== undefined && { timeoutMs: job.timeoutMs }),
                  });
                },
              },
            ],
          },
          {
            id: "after",
            steps: [
              {
                id: "after",
                action: async (ctx) => {
                  const id = ctx.state().id as string;
                  log.push(`${id} after`);
                  await new Promise<void>((resolve) => gates.set(id, resolve));
                },
              },
            ],
          },
        ],
      },
    },
  };
  await h.runtime.register(workflow, {
    mode,
    onDispatch: (r) => {
      dispatched.push(r);
      if (r.runId !== undefined) runIds.set((r.payload as Job).id, r.runId);
    },
    ...options,
  });
  const runId = (id: string) => runIds.get(id)!;
  return {
    log,
    dispatched,
    runId,
    emit: (job: Job) => h.bus.emit("job", job),
    open: async (id: string) => {
      await expect.poll(() => gates.has(id)).toBe(true);
      const done = h.runtime.result(runId(id));
      gates.get(id)!();
      return done;
    },
    status: (id: string) => h.runtime.listAllRuns().find((r) => r.runId === runId(id))?.status,
  };
}

/** Parks run `p`, then starts run `a`, which holds its slot in its second stage until opened. */
async function parkPThenBusyA(t: Awaited<ReturnType<typeof setup>>): Promise<void> {
  t.emit({ id: "p", how: "pause" });
  await expect.poll(() => t.status("p")).toBe("paused");
  t.emit({ id: "a", how: "run" });
  await expect.poll(() => t.log.at(-1)).toBe("a after");
}

/** How many resumed runs wait in the workflow's mode for a slot. */
function resumersWaiting(): number {
  const policy = (h.runtime as any).workflows.get("jobs").policy;
  return (policy.resumingIn ?? policy.granters).size;
}

describe("transient: concurrency holds across resumes", () => {
  it("a resumed run waits for a slot, then goes on ahead of the runs queued before it resumed", async () => {
    const t = await setup({ type: "transient", concurrency: 2 });
    t.emit({ id: "p", how: "pause" });
    await expect.poll(() => t.status("p")).toBe("paused");
    t.emit({ id: "a", how: "run" });
    t.emit({ id: "b", how: "run" });
    t.emit({ id: "c", how: "run" }); // queued: a and b hold both slots
    await expect
      .poll(() => [...t.log].sort())
      .toEqual(["a after", "a starts", "b after", "b starts", "p starts"]);
    h.bus.emit("go.p", {});
    await tick(5);
    // p left its pause but has no slot: its next stage has not begun, and its RunInfo says queued
    expect(t.status("p")).toBe("queued");
    expect(h.runtime.watch("jobs", t.runId("p"))?.stage).toBe("after");
    expect(t.log).not.toContain("p after");
    expect(resumersWaiting()).toBe(1);
    expect((await t.open("a")).ok).toBe(true);
    // the freed slot goes to p, which had started, not to c, which waited longer
    await expect.poll(() => t.log.slice(5)).toEqual(["p after"]);
    expect(t.status("p")).toBe("running");
    expect(t.status("c")).toBe("queued");
    await t.open("p");
    await expect.poll(() => t.log.slice(6)).toEqual(["c starts", "c after"]);
    await t.open("b");
    await t.open("c");
    expect(resumersWaiting()).toBe(0);
  });

  it("a resumed run is never dropped for a full queue, and is not counted in it", async () => {
    const t = await setup({ type: "transient", concurrency: 1, capacity: 1 });
    t.emit({ id: "p", how: "pause" });
    await expect.poll(() => t.status("p")).toBe("paused");
    t.emit({ id: "a", how: "run" });
    t.emit({ id: "b", how: "run" }); // the queue's one place
    await expect.poll(() => t.log).toEqual(["p starts", "a starts", "a after"]);
    h.bus.emit("go.p", {});
    t.emit({ id: "c", how: "run" }); // the queue is full: dropped, p's resume notwithstanding
    expect(t.dispatched.map((d) => d.outcome)).toEqual(["started", "started", "queued", "dropped"]);
    await t.open("a");
    await expect.poll(() => t.log.at(-1)).toBe("p after");
    expect((await t.open("p")).ok).toBe(true);
    await expect.poll(() => t.log.at(-1)).toBe("b after");
    await t.open("b");
  });

  it("a run timed out of its wait waits for a slot too", async () => {
    const t = await setup({ type: "transient", concurrency: 1 });
    t.emit({ id: "p", how: "pause", timeoutMs: 150 });
    await expect.poll(() => t.status("p")).toBe("paused");
    t.emit({ id: "a", how: "run" });
    await expect.poll(() => t.log).toEqual(["p starts", "a starts", "a after"]);
    await expect.poll(() => resumersWaiting()).toBe(1);
    expect(t.log).not.toContain("p after");
    await t.open("a");
    await expect.poll(() => t.log.at(-1)).toBe("p after");
    const result = await t.open("p");
    expect(result.ok && result.value.state.pauseTimedOut).toBe(true);
  });

  it("resume() waits for a slot; onResume is called once the run has it, with the patch applied", async () => {
    const calls: string[] = [];
    const t = await setup(
      { type: "transient", concurrency: 1 },
      { onResume: (ctx) => void calls.push(`onResume ${String(ctx.state().approved)}`) },
    );
    await parkPThenBusyA(t);
    const resumed = h.runtime.resume(t.runId("p"), { approved: true });
    await tick(5);
    expect(calls).toEqual([]);
    await t.open("a");
    await expect.poll(() => calls).toEqual(["onResume true"]);
    await expect.poll(() => t.log.at(-1)).toBe("p after");
    await t.open("p");
    const result = await resumed;
    expect(result.ok && result.value.status).toBe("completed");
  });

  it("a run rebuilt after its pause window waits for a slot before it is rebuilt into its next stage", async () => {
    const t = await setup({ type: "transient", concurrency: 1 }, { pauseWindowMs: 0 });
    await parkPThenBusyA(t);
    h.bus.emit("go.p", {});
    await tick(5);
    expect(t.log).not.toContain("p after");
    await t.open("a");
    await expect.poll(() => t.log.at(-1)).toBe("p after");
    expect((await t.open("p")).ok).toBe(true);
  });
});

describe("a resumed run whose onPause still runs", () => {
  it("takes no slot before the hook is over: a run the hook waits for starts meanwhile", async () => {
    // onPause hands the pause on to a run of the same workflow and waits for it (say, a
    // notification that must be sent before the run may go on)
    let notifying = false;
    const t = await setup(
      { type: "serialized" },
      {
        hookTimeoutMs: 60_000,
        onPause: async () => {
          await tick(1);
          t.emit({ id: "n", how: "run" });
          notifying = true;
          await h.runtime.result(t.runId("n"));
        },
      },
    );
    t.emit({ id: "p", how: "pause" });
    t.emit({ id: "r", how: "run" }); // queued: it takes the slot p gives back as it pauses
    await expect.poll(() => t.log).toEqual(["p starts", "r starts", "r after"]);
    await expect.poll(() => notifying).toBe(true); // n is queued behind r
    h.bus.emit("go.p", {}); // p is approved while its onPause waits for n
    await tick(5);
    await t.open("r");
    // the slot r frees goes to n: p, still in its onPause, is not yet waiting for one
    await expect.poll(() => t.log.slice(3)).toEqual(["n starts", "n after"]);
    expect(t.status("p")).toBe("running");
    await t.open("n");
    await expect.poll(() => t.log.at(-1)).toBe("p after");
    expect((await t.open("p")).ok).toBe(true);
  });

  it("a run approved while its onPause runs leaves the slot to the next run until then", async () => {
    let done!: () => void;
    const t = await setup(
      { type: "serialized" },
      { hookTimeoutMs: 60_000, onPause: () => new Promise<void>((resolve) => (done = resolve)) },
    );
    t.emit({ id: "p", how: "pause" });
    await expect.poll(() => t.status("p")).toBe("paused");
    h.bus.emit("go.p", {});
    await tick(5);
    t.emit({ id: "a", how: "run" });
    await expect.poll(() => t.log).toEqual(["p starts", "a starts", "a after"]);
    done();
    await tick(5);
    // p waits for the slot a holds now
    expect(t.log).not.toContain("p after");
    await t.open("a");
    await expect.poll(() => t.log.at(-1)).toBe("p after");
    expect((await t.open("p")).ok).toBe(true);
  });
});

describe("a resumed run that ends while it waits for a slot", () => {
  it("granted, it leaves no abort waiter behind (a run waiting for slots at many pauses holds nothing more)", async () => {
    const t = await setup({ type: "transient", concurrency: 1 });
    await parkPThenBusyA(t);
    h.bus.emit("go.p", {});
    await expect.poll(() => resumersWaiting()).toBe(1);
    const record = (h.runtime as any).runs.get(t.runId("p"));
    expect(record.abortWaiters).toHaveLength(1);
    await t.open("a");
    await expect.poll(() => t.log.at(-1)).toBe("p after");
    expect(record.abortWaiters ?? []).toHaveLength(0);
    await t.open("p");
  });

  it("aborted: it ends aborted, leaves the line, and the slots count right afterwards", async () => {
    const t = await setup({ type: "transient", concurrency: 1 });
    await parkPThenBusyA(t);
    h.bus.emit("go.p", {});
    await expect.poll(() => resumersWaiting()).toBe(1);
    const ended = h.runtime.result(t.runId("p"));
    await h.runtime.abort(t.runId("p"));
    const result = (await ended) as RunResult;
    expect(result.ok && result.value.status).toBe("aborted");
    expect(resumersWaiting()).toBe(0);
    expect(t.log).not.toContain("p after");
    // one slot, still: b waits for a, and starts when a ends
    t.emit({ id: "b", how: "run" });
    await tick(5);
    expect(t.status("b")).toBe("queued");
    await t.open("a");
    await expect.poll(() => t.log.at(-1)).toBe("b after");
    await t.open("b");
  });

  it("past its run deadline: it fails with TIMEOUT and leaves the line", async () => {
    const t = await setup({ type: "transient", concurrency: 1 }, { runTimeoutMs: 100 });
    await parkPThenBusyA(t);
    const ended = h.runtime.result(t.runId("p"));
    h.bus.emit("go.p", {});
    const result = (await ended) as RunResult;
    expect(!result.ok && result.error.code).toBe("TIMEOUT");
    expect(resumersWaiting()).toBe(0);
    expect(t.log).not.toContain("p after");
  });

  it("deregistered: it ends aborted and the mode holds nothing", async () => {
    const t = await setup({ type: "serialized" });
    await parkPThenBusyA(t);
    const ended = h.runtime.result(t.runId("p"));
    h.bus.emit("go.p", {});
    await expect.poll(() => resumersWaiting()).toBe(1);
    await h.runtime.deregister("jobs");
    const result = (await ended) as RunResult;
    expect(result.ok && result.value.status).toBe("aborted");
    expect(t.log).not.toContain("p after");
  });
});

describe("what takes no slot", () => {
  it("an invoked run resumes at once, whatever the mode's slots", async () => {
    const t = await setup({ type: "serialized" });
    const invoked = h.runtime.invoke("jobs", "go", { id: "i", how: "pause" });
    expect((await invoked).ok).toBe(true);
    t.emit({ id: "a", how: "run" });
    await expect.poll(() => t.log.at(-1)).toBe("a after");
    h.bus.emit("go.i", {});
    await expect.poll(() => t.log.at(-1)).toBe("i after");
    await t.open("a");
  });

  it("exclusive: a paused run holds its slot, and resumes in it at once", async () => {
    const t = await setup({ type: "exclusive", onBusy: "reject" });
    t.emit({ id: "p", how: "pause" });
    await expect.poll(() => t.status("p")).toBe("paused");
    t.emit({ id: "a", how: "run" });
    expect(t.dispatched.map((d) => d.outcome)).toEqual(["started", "rejected"]);
    h.bus.emit("go.p", {});
    await expect.poll(() => t.log.at(-1)).toBe("p after");
    await t.open("p");
  });
});

describe("the concurrency key in a checkpoint", () => {
  it("a dispatched run of a keyed mode carries it; others carry none; adopt refuses one not a string", async () => {
    const t = await setup({
      type: "serialized",
      key: (input) => (input as unknown as Job).id.split("-")[0]!,
    });
    t.emit({ id: "k1-p", how: "pause" });
    await expect.poll(() => t.status("k1-p")).toBe("paused");
    const keyed = await h.runtime.checkpoint(t.runId("k1-p"));
    expect(keyed?.concurrencyKey).toBe("k1");
    const invoked = await h.runtime.invoke("jobs", "go", { id: "k2-i", how: "pause" });
    const plain = await h.runtime.checkpoint(invoked.metadata.runId!);
    expect(plain).toBeDefined();
    expect("concurrencyKey" in plain!).toBe(false);
    const detached = await h.runtime.detach(t.runId("k1-p"));
    for (const concurrencyKey of [5, ""]) {
      expect(() => h.runtime.adopt({ ...detached, concurrencyKey } as never)).toThrow(
        expect.objectContaining({
          code: "INVALID_INPUT",
          message: expect.stringContaining("checkpoint.concurrencyKey must be a non-empty string"),
        }),
      );
    }
  });
});
