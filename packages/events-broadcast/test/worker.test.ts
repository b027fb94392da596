import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { defineWorkflow, type PauseService, type RunResult, WorkflowRuntime } from "@sluice/runtime-core";
import { StoreRegistry } from "@sluice/store";
import { afterEach, describe, expect, it } from "vitest";
import { type BroadcastEventBus, createBroadcastEventBus } from "../src/index.js";

// Across threads: a worker_threads thread runs the built package (a worker cannot load the
// TypeScript source), this thread the source; both open the channel by name.
const WORKER = new URL("./fixtures/worker.mjs", import.meta.url);
const RUNTIME_WORKER = new URL("./fixtures/runtime-worker.mjs", import.meta.url);
const DIST = new URL("../dist/index.js", import.meta.url).href;

type WorkerMessage = { ready?: true; got?: [string, unknown]; isDate?: boolean };

/** A worker with its own bus on `channel`, and a way to wait for what it reports. */
async function startWorker(channel: string, replies: Record<string, string> = {}) {
  const worker = new Worker(fileURLToPath(WORKER), { workerData: { dist: DIST, channel, replies } });
  const inbox: WorkerMessage[] = [];
  const waiters = new Set<() => void>();
  worker.on("message", (message: WorkerMessage) => {
    inbox.push(message);
    for (const wake of waiters) wake();
  });
  const exited = new Promise<number>((resolve) => worker.once("exit", resolve));
  const next = async (what: string, matches: (m: WorkerMessage) => boolean): Promise<WorkerMessage> => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const found = inbox.find(matches);
      if (found !== undefined) {
        inbox.splice(inbox.indexOf(found), 1);
        return found;
      }
      if (Date.now() > deadline) throw new Error(`the worker did not report ${what}`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          waiters.delete(wake);
          resolve();
        };
        waiters.add(wake);
        setTimeout(wake, 50);
      });
    }
  };
  worker.on("error", (error) => inbox.push({ got: ["worker error", String(error)] }));
  await next("that it is ready", (m) => m.ready === true);
  return {
    worker,
    exited,
    inbox,
    next,
    emit: (...events: Array<[string, unknown]>) => worker.postMessage({ emit: events }),
    close: () => worker.postMessage({ close: true }),
  };
}

type RuntimeWorkerMessage = {
  ready?: true;
  paused?: string;
  completed?: { status: string; state: unknown };
  runId?: string;
  error?: { code: string; details: unknown };
  stopped?: { listeners: number };
};

/** A worker whose runtime runs workflow "orders" on its bus on `channel`; it reports its runs. */
async function startRuntimeWorker(channel: string, options: { ignoreUnknownRuns: boolean }) {
  const worker = new Worker(fileURLToPath(RUNTIME_WORKER), {
    workerData: { dist: DIST, channel, ...options },
  });
  const inbox: RuntimeWorkerMessage[] = [];
  worker.on("message", (message: RuntimeWorkerMessage) => void inbox.push(message));
  worker.on("error", (error) => inbox.push({ error: { code: "WORKER", details: String(error) } }));
  const exited = new Promise<number>((resolve) => worker.once("exit", resolve));
  const next = <K extends keyof RuntimeWorkerMessage>(key: K) =>
    eventually(`the worker to report ${key}`, () => inbox.find((m) => m[key] !== undefined)?.[key]);
  await next("ready");
  return { worker, inbox, exited, next, stop: () => worker.postMessage({ stop: true }) };
}

/** Resolves with `value()` once it is not undefined, polling; rejects after `ms`. */
async function eventually<T>(what: string, value: () => T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const current = value();
    if (current !== undefined) return current;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("across worker_threads (Node)", () => {
  it("a worker's events start a run and resume it in this thread's runtime; this thread's reach the worker", async () => {
    const channel = `sluice-worker-${randomUUID()}`;
    const bus: BroadcastEventBus = createBroadcastEventBus({ channel });
    cleanups.push(() => bus.close());
    const runtime = new WorkflowRuntime({ bus, storeRegistry: new StoreRegistry() });
    cleanups.push(() => runtime.stop());
    type Order = { orderId: string; approved?: boolean; approvedBy?: string; shipped?: boolean };
    const orders = defineWorkflow<Order>({
      id: "orders",
      triggers: { placed: { event: "order.placed", pipeline: "fulfil" } },
      pipelines: {
        fulfil: {
          stages: [
            {
              id: "approval",
              steps: [
                {
                  id: "ask",
                  action: async (ctx) => {
                    const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                    pause.register({
                      event: "order.approved",
                      conditions: [{ path: "orderId", op: "==", value: ctx.state().orderId }],
                      patch: (payload: { by: string }) => ({ approved: true, approvedBy: payload.by }),
                    });
                  },
                },
              ],
            },
            {
              id: "ship",
              steps: [{ id: "ship", action: (ctx) => ({ shipped: ctx.state().approved === true }) }],
            },
          ],
        },
      },
    });
    const paused: string[] = [];
    const results: Array<RunResult<Order>> = [];
    await runtime.register(orders, {
      onPause: (ctx) => void paused.push(ctx.runId),
      onComplete: (result) => void results.push(result),
    });

    const worker = await startWorker(channel);
    cleanups.push(() => worker.worker.terminate());
    worker.emit(["order.placed", { orderId: "o1" }]);
    const runId = await eventually("the run started by the worker's event to park", () => paused[0]);
    expect(runtime.watch("orders", runId)?.status).toBe("paused");
    expect(results).toEqual([]);

    // an approval for another order meets no wait; the one for o1 resumes the run
    worker.emit(
      ["order.approved", { orderId: "o2", by: "bob" }],
      ["order.approved", { orderId: "o1", by: "ann" }],
    );
    const result = await eventually("the run to complete", () => results[0]);
    expect(result.ok && result.value).toEqual({
      status: "completed",
      state: { orderId: "o1", approved: true, approvedBy: "ann", shipped: true },
    });
    expect(results).toHaveLength(1);
    expect(paused).toEqual([runId]);

    // and the other way: an event from this thread reaches the worker's handler, a Date as a Date
    bus.emit("main.hello", { n: 1, at: new Date(Date.UTC(2024, 0, 2)) });
    const hello = await worker.next("main.hello", (m) => m.got?.[0] === "main.hello");
    expect(hello).toEqual({
      got: ["main.hello", { n: 1, at: new Date(Date.UTC(2024, 0, 2)) }],
      isDate: true,
    });
  }, 30_000);

  it("a worker's answer to an event never reaches this thread's handlers before the event itself", async () => {
    // The worker answers each "ping" with a "pong". This bus's own "ping" and the worker's "pong"
    // come from two contexts, but the pong is caused by the ping: the bus's handlers (a runtime that
    // starts a run on the ping and waits for the pong) must get them in that order. (Own events
    // waited for a timer, by which time the worker's answer had usually arrived: pong came first.)
    const channel = `sluice-worker-${randomUUID()}`;
    const bus = createBroadcastEventBus({ channel });
    cleanups.push(() => bus.close());
    const seen: string[] = [];
    bus.on("*", (type, payload) => void seen.push(`${String(type)} ${String(payload)}`));
    const worker = await startWorker(channel, { ping: "pong" });
    cleanups.push(() => worker.worker.terminate());
    const rounds = 20;
    for (let i = 0; i < rounds; i++) {
      bus.emit("ping", i);
      await eventually(`pong ${i}`, () => (seen.includes(`pong ${i}`) ? true : undefined));
    }
    expect(seen).toEqual(Array.from({ length: rounds }, (_, i) => [`ping ${i}`, `pong ${i}`]).flat());
  }, 30_000);

  it("a run started by an event emitted here is resumed by the approval a worker sends in answer to it", async () => {
    // The host and the runtime share this thread's bus; an approver in a worker approves each order
    // it sees placed. (The approval used to reach the runtime before the order: no run waited for
    // it, and the run started by the order then waited for ever.)
    const channel = `sluice-worker-${randomUUID()}`;
    const bus = createBroadcastEventBus({ channel });
    cleanups.push(() => bus.close());
    const runtime = new WorkflowRuntime({ bus, storeRegistry: new StoreRegistry() });
    cleanups.push(() => runtime.stop());
    const completed: string[] = [];
    await runtime.register(
      defineWorkflow<{ orderId: string }>({
        id: "orders",
        triggers: { placed: { event: "order.placed", pipeline: "fulfil" } },
        pipelines: {
          fulfil: {
            stages: [
              {
                id: "approval",
                steps: [
                  {
                    id: "ask",
                    action: async (ctx) => {
                      const pause = await ctx.use((d) => d.require("__pause_service__"));
                      pause.register({
                        event: "order.approved",
                        conditions: [{ path: "orderId", op: "==", value: ctx.state().orderId }],
                      });
                    },
                  },
                ],
              },
              { id: "ship", steps: [{ id: "ship", action: () => ({}) }] },
            ],
          },
        },
      }),
      { onComplete: (result) => void (result.ok && completed.push(result.value.state.orderId)) },
    );
    const worker = await startWorker(channel, { "order.placed": "order.approved" });
    cleanups.push(() => worker.worker.terminate());
    const orders = Array.from({ length: 10 }, (_, i) => `o${i}`);
    for (const orderId of orders) {
      bus.emit("order.placed", { orderId });
      await eventually(`${orderId} to complete`, () => (completed.includes(orderId) ? true : undefined));
    }
    expect(completed).toEqual(orders);
  }, 30_000);

  it("runtimes in two workers: an event starts a run in each, an abort reaches the one that holds the run, and each thread ends once stopped", async () => {
    const channel = `sluice-worker-${randomUUID()}`;
    const one = await startRuntimeWorker(channel, { ignoreUnknownRuns: true });
    cleanups.push(() => one.worker.terminate());
    const two = await startRuntimeWorker(channel, { ignoreUnknownRuns: false });
    cleanups.push(() => two.worker.terminate());
    const bus = createBroadcastEventBus({ channel });
    cleanups.push(() => bus.close());

    // both registered "orders": one event, a run in each (see README, "Fan-out")
    bus.emit("order.placed", { orderId: "o1" });
    const runOne = await one.next("paused");
    const runTwo = await two.next("paused");
    expect(runOne).not.toBe(runTwo);

    // an abort for one's run: one aborts it; two, which holds no such run, reports NOT_FOUND
    bus.emit("sluice.run.abort", { runId: runOne });
    expect(await one.next("completed")).toEqual({ status: "aborted", state: { orderId: "o1" } });
    expect(await two.next("error")).toMatchObject({
      code: "NOT_FOUND",
      details: { event: "sluice.run.abort", runId: runOne },
    });
    // the approval resumes the run still waiting
    bus.emit("order.approved", { orderId: "o1", by: "ann" });
    expect(await two.next("completed")).toEqual({
      status: "completed",
      state: { orderId: "o1", approved: true, by: "ann", shipped: true },
    });
    expect(one.inbox.filter((m) => m.error !== undefined)).toEqual([]);

    // stop() leaves no subscription; with the bus closed, nothing keeps the thread alive
    for (const w of [one, two]) w.stop();
    expect(await one.next("stopped")).toEqual({ listeners: 0 });
    expect(await two.next("stopped")).toEqual({ listeners: 0 });
    const codes = await Promise.race([
      Promise.all([one.exited, two.exited]),
      new Promise<string>((resolve) => setTimeout(() => resolve("still running after 5 s"), 5_000)),
    ]);
    expect(codes).toEqual([0, 0]);
  }, 30_000);

  it("a worker's events arrive in emit order, across types; a closed bus lets the worker's thread end", async () => {
    const channel = `sluice-worker-${randomUUID()}`;
    const bus = createBroadcastEventBus({ channel });
    cleanups.push(() => bus.close());
    const seen: Array<[string, unknown]> = [];
    bus.on("*", (type, payload) => void seen.push([String(type), payload]));
    const worker = await startWorker(channel);
    cleanups.push(() => worker.worker.terminate());
    const types = ["a", "b.c", "order.placed", "sluice.run.resume"];
    const sent = Array.from({ length: 300 }, (_, i): [string, unknown] => [
      types[(i * 7) % types.length]!,
      { i },
    ]);
    worker.emit(...sent);
    await eventually("every event from the worker", () => (seen.length >= sent.length ? true : undefined));
    expect(seen).toEqual(sent);

    // the worker closes its bus and its port: an open channel would keep its thread alive
    worker.close();
    const code = await Promise.race([
      worker.exited,
      new Promise<string>((resolve) => setTimeout(() => resolve("still running after 5 s"), 5_000)),
    ]);
    expect(code).toBe(0);
  }, 30_000);

  it("an open bus keeps a Node process alive (it is not unref'd) until close()", () => {
    // The only other thing in the process is an unref'd timer: it fires only if the bus keeps the
    // process up, and the process ends only if close() lets it go.
    const script = `
      const { createBroadcastEventBus } = await import(${JSON.stringify(DIST)});
      const bus = createBroadcastEventBus({ channel: "keep-alive-${randomUUID()}" });
      setTimeout(() => { bus.close(); console.log("closed after 300 ms"); }, 300).unref();
    `;
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      encoding: "utf8",
      timeout: 10_000,
    });
    expect(child.stderr).toBe("");
    expect(child.stdout).toBe("closed after 300 ms\n");
    expect(child.status).toBe(0);
  }, 15_000);
});
