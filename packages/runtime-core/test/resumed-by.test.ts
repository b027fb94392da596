import type { SystemError } from "@sluice/errors";
import { createEventBus, type EventBus } from "@sluice/events";
import { StoreRegistry } from "@sluice/store";
import type { TimelineEvent, TimelineStore } from "@sluice/timeline";
import { createMemoryTimelineStore } from "@sluice/timeline-memory";
import { afterEach, describe, expect, it } from "vitest";
import {
  ControlEvent,
  defineWorkflow,
  type PauseRegistration,
  type PauseService,
  type RegisterOptions,
  type RunResult,
  WorkflowRuntime,
} from "../src/index.js";

// run.resumed's data says what resumed the run: { nextStage, by, event?, wait? }. A ticket waits
// for its reply; without one in time it is escalated. Its timeline must tell the two apart.

type Ticket = { ticketId: string; replied?: boolean; escalated?: boolean; pauseTimedOut?: boolean };

interface TicketOptions {
  /** The reply wait's timeout. */
  timeoutMs?: number;
  /** More waits, registered after the reply wait. */
  more?: PauseRegistration[];
  /** Emitted on the bus from the step, after the wait is registered (so buffered for the run). */
  emitDuringStage?: { event: string; payload: object };
}

function tickets(bus: EventBus<any>, options: TicketOptions = {}) {
  return defineWorkflow<Ticket>({
    id: "tickets",
    triggers: { opened: { event: "ticket.opened", pipeline: "support" } },
    // named, so an adopted run resumes through it too
    patches: { reply: (payload: { ticketId: string }) => ({ replied: payload.ticketId !== "" }) },
    pipelines: {
      support: {
        stages: [
          {
            id: "ask",
            steps: [
              {
                id: "ask",
                action: async (ctx) => {
                  const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                  pause.register({
                    id: "reply",
                    event: "ticket.replied",
                    conditions: [{ path: "ticketId", op: "==", value: ctx.state().ticketId }],
                    patch: "reply",
                    ...(options.timeoutMs === undefined
                      ? {}
                      : { timeoutMs: options.timeoutMs, timeoutPatch: { escalated: true } }),
                  });
                  for (const wait of options.more ?? []) pause.register(wait);
                  const emit = options.emitDuringStage;
                  if (emit !== undefined) bus.emit(emit.event, emit.payload);
                },
              },
            ],
          },
          { id: "close", steps: [{ id: "close", action: () => ({}) }] },
        ],
      },
    },
  });
}

interface Node {
  runtime: WorkflowRuntime;
  bus: EventBus<any>;
  timeline: TimelineStore;
  completed: RunResult<Ticket>[];
  restored: boolean[];
  /** What onResume's ctx.resumedBy said, by run. */
  resumedBy: Map<string, unknown[]>;
  errors: SystemError[];
}

const nodes: Node[] = [];
afterEach(async () => {
  for (const node of nodes.splice(0)) {
    await node.runtime.stop();
    expect(node.errors).toEqual([]);
  }
});

/** A runtime on a real bus, writing to `timeline` (a new memory store unless given). */
async function node(
  options: TicketOptions & { pauseWindowMs?: number; timeline?: TimelineStore } = {},
): Promise<Node> {
  const bus = createEventBus<any>();
  const timeline = options.timeline ?? (await createMemoryTimelineStore());
  const errors: SystemError[] = [];
  const runtime = new WorkflowRuntime({
    bus,
    storeRegistry: new StoreRegistry(),
    timelineStore: timeline,
    onError: (error) => void errors.push(error),
  });
  const n: Node = { runtime, bus, timeline, completed: [], restored: [], resumedBy: new Map(), errors };
  const register: RegisterOptions<Ticket> = {
    onComplete: (result) => void n.completed.push(result),
    onResume: (ctx) => {
      n.restored.push(ctx.restored);
      n.resumedBy.set(ctx.runId, [...(n.resumedBy.get(ctx.runId) ?? []), ctx.resumedBy]);
    },
  };
  if (options.pauseWindowMs !== undefined) register.pauseWindowMs = options.pauseWindowMs;
  await runtime.register(tickets(bus, options), register);
  nodes.push(n);
  return n;
}

async function open(n: Node, ticketId: string): Promise<{ runId: string; status: string }> {
  const result = await n.runtime.invoke("tickets", "opened", { ticketId });
  if (!result.ok) throw result.error;
  return { runId: result.metadata.runId!, status: result.value.status };
}

/** The run's `run.resumed` events' data, as the memory timeline store has them. */
async function resumedData(n: Node, runId: string): Promise<unknown[]> {
  await n.runtime.flushTimeline();
  const { events } = await n.timeline.query({ runId, limit: 1000 });
  return events.filter((e: TimelineEvent) => e.type === "run.resumed").map((e) => e.data);
}

async function completed(n: Node, count = 1): Promise<void> {
  await expect.poll(() => n.completed.length, { timeout: 2_000 }).toBe(count);
}

describe("run.resumed says what resumed the run", () => {
  it("a bus event meeting a wait: by \"event\", the event's name and the wait's id", async () => {
    const n = await node();
    const { runId, status } = await open(n, "t1");
    expect(status).toBe("paused");
    n.bus.emit("ticket.replied", { ticketId: "t1" });
    await completed(n);
    expect(n.completed[0]!.ok && n.completed[0]!.value.state).toMatchObject({ replied: true });
    expect(await resumedData(n, runId)).toEqual([
      { nextStage: "close", by: "event", event: "ticket.replied", wait: "reply" },
    ]);
    // onResume is told the same
    expect(n.resumedBy.get(runId)).toEqual([{ by: "event", event: "ticket.replied", wait: "reply" }]);
  });

  it('a buffered event, drained as the run pauses: by "event" too (the run never parked)', async () => {
    const n = await node({ emitDuringStage: { event: "ticket.replied", payload: { ticketId: "t1" } } });
    const { runId, status } = await open(n, "t1");
    expect(status).toBe("completed");
    await n.runtime.flushTimeline();
    const { events } = await n.timeline.query({ runId });
    const types = events.map((e) => e.type);
    expect(types.indexOf("run.paused")).toBe(types.indexOf("run.resumed") - 1);
    expect(await resumedData(n, runId)).toEqual([
      { nextStage: "close", by: "event", event: "ticket.replied", wait: "reply" },
    ]);
  });

  it('the wait\'s timeout: by "timeout", the event it waited for and its id (an escalated ticket)', async () => {
    const n = await node({ timeoutMs: 20 });
    const { runId } = await open(n, "t1");
    await completed(n);
    expect(n.completed[0]!.ok && n.completed[0]!.value.state).toMatchObject({ escalated: true });
    expect(await resumedData(n, runId)).toEqual([
      { nextStage: "close", by: "timeout", event: "ticket.replied", wait: "reply" },
    ]);
    expect(n.resumedBy.get(runId)).toEqual([{ by: "timeout", event: "ticket.replied", wait: "reply" }]);
  });

  it("with several waits, the one that timed out: the earliest deadline (a wait without event has no event field)", async () => {
    const n = await node({
      timeoutMs: 5_000,
      more: [{ id: "nudge", timeoutMs: 20, timeoutPatch: { pauseTimedOut: true } }],
    });
    const { runId } = await open(n, "t1");
    await completed(n);
    expect(n.completed[0]!.ok && n.completed[0]!.value.state).toMatchObject({ pauseTimedOut: true });
    const [data] = await resumedData(n, runId);
    expect(data).toEqual({ nextStage: "close", by: "timeout", wait: "nudge" });
    expect(Object.keys(data as object)).toEqual(["nextStage", "by", "wait"]);
  });

  it('runtime.resume(runId, patch): by "resume", no event', async () => {
    const n = await node();
    const { runId } = await open(n, "t1");
    const result = await n.runtime.resume(runId, { replied: true });
    expect(result.ok && result.value.status).toBe("completed");
    expect(await resumedData(n, runId)).toEqual([{ nextStage: "close", by: "resume" }]);
    expect(n.resumedBy.get(runId)).toEqual([{ by: "resume" }]);
  });

  it('the sluice.run.resume control event: by "control", told apart from a call', async () => {
    const n = await node();
    const { runId } = await open(n, "t1");
    n.bus.emit(ControlEvent.Resume, { runId, patch: { replied: true } });
    await completed(n);
    expect(await resumedData(n, runId)).toEqual([{ nextStage: "close", by: "control" }]);
    expect(n.resumedBy.get(runId)).toEqual([{ by: "control" }]);
  });

  it("a signal does not resume a parked run: no run.resumed until what does", async () => {
    const n = await node();
    const { runId } = await open(n, "t1");
    n.runtime.signal(runId, { replied: false });
    expect(await resumedData(n, runId)).toEqual([]);
    n.bus.emit("ticket.replied", { ticketId: "t1" });
    await completed(n);
    expect(await resumedData(n, runId)).toEqual([
      { nextStage: "close", by: "event", event: "ticket.replied", wait: "reply" },
    ]);
  });

  describe("a run rebuilt from its checkpoint after its pause window", () => {
    it("by an event", async () => {
      const n = await node({ pauseWindowMs: 0 });
      const { runId } = await open(n, "t1");
      n.bus.emit("ticket.replied", { ticketId: "t1" });
      await completed(n);
      expect(n.restored).toEqual([true]);
      expect(await resumedData(n, runId)).toEqual([
        { nextStage: "close", by: "event", event: "ticket.replied", wait: "reply" },
      ]);
    });

    it("by its timeout", async () => {
      const n = await node({ pauseWindowMs: 0, timeoutMs: 20 });
      const { runId } = await open(n, "t1");
      await completed(n);
      expect(n.restored).toEqual([true]);
      expect(await resumedData(n, runId)).toEqual([
        { nextStage: "close", by: "timeout", event: "ticket.replied", wait: "reply" },
      ]);
    });

    it("by resume() and by the control event", async () => {
      const n = await node({ pauseWindowMs: 0 });
      const first = await open(n, "t1");
      const second = await open(n, "t2");
      await n.runtime.resume(first.runId, {});
      n.bus.emit(ControlEvent.Resume, { runId: second.runId });
      await completed(n, 2);
      expect(n.restored).toEqual([true, true]);
      expect(await resumedData(n, first.runId)).toEqual([{ nextStage: "close", by: "resume" }]);
      expect(await resumedData(n, second.runId)).toEqual([{ nextStage: "close", by: "control" }]);
    });
  });

  describe("a run adopted from another runtime's checkpoint", () => {
    async function adopted(options: TicketOptions = {}) {
      const timeline = await createMemoryTimelineStore();
      const a = await node({ ...options, timeline });
      const b = await node({ ...options, timeline });
      const { runId } = await open(a, "t1");
      const checkpoint = JSON.parse(JSON.stringify(await a.runtime.detach(runId)));
      await a.runtime.flushTimeline();
      return { a, b, runId, checkpoint };
    }

    it("by an event on the adopting runtime's bus (the wait's id travels with the checkpoint)", async () => {
      const { b, runId, checkpoint } = await adopted();
      b.runtime.adopt(checkpoint);
      b.bus.emit("ticket.replied", { ticketId: "t1" });
      await completed(b);
      expect(b.completed[0]!.ok && b.completed[0]!.value.state).toMatchObject({ replied: true });
      expect(await resumedData(b, runId)).toEqual([
        { nextStage: "close", by: "event", event: "ticket.replied", wait: "reply" },
      ]);
    });

    it("by a deadline that passed while it was between runtimes", async () => {
      const { b, runId, checkpoint } = await adopted({ timeoutMs: 30 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      b.runtime.adopt(checkpoint);
      await completed(b);
      expect(await resumedData(b, runId)).toEqual([
        { nextStage: "close", by: "timeout", event: "ticket.replied", wait: "reply" },
      ]);
    });

    it("by resume()", async () => {
      const { b, runId, checkpoint } = await adopted();
      b.runtime.adopt(checkpoint);
      const result = await b.runtime.resume(runId, { replied: true });
      expect(result.ok && result.value.status).toBe("completed");
      expect(await resumedData(b, runId)).toEqual([{ nextStage: "close", by: "resume" }]);
    });
  });
});
