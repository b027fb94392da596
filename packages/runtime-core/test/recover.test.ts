import { SystemError } from "@sluice/errors";
import type { TimelineEvent, TimelineStore } from "@sluice/timeline";
import { createMemoryTimelineStore } from "@sluice/timeline-memory";
import { describe, expect, it, vi } from "vitest";
import { defineWorkflow, type PauseService, type RunCheckpoint, type Workflow } from "../src/index.js";
import { harness } from "./helpers.js";

type Payment = { id: string; approved?: boolean; charged?: string };

/**
 * "payments": waits for `pay.approved` naming its id, then charges (a log line saying where, then
 * `charge`, which may never settle: the process "crashes" there).
 */
function payments(where: string, charge: () => Promise<void>): Workflow<Payment> {
  return defineWorkflow<Payment>({
    id: "payments",
    triggers: { start: { event: "pay.start", pipeline: "p" } },
    pipelines: {
      p: {
        stages: [
          {
            id: "approval",
            steps: [
              {
                id: "ask",
                action: async (ctx) => {
                  const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                  pause.register({
                    event: "pay.approved",
                    conditions: [{ path: "id", op: "==", value: ctx.state().id }],
                  });
                },
              },
            ],
          },
          {
            id: "charge",
            steps: [
              {
                id: "charge",
                action: async (ctx) => {
                  ctx.logger.info(`charging in ${where}`);
                  await charge();
                  return { charged: where };
                },
              },
            ],
          },
        ],
      },
    },
  });
}

/** Runs the payment in a first runtime up to its charge, which never ends (the crash); returns what it saved in onPause. */
async function crashWhileCharging(timeline: TimelineStore): Promise<RunCheckpoint> {
  const first = await harness({ timelineStore: timeline });
  const saved: RunCheckpoint[] = [];
  await first.runtime.register(
    payments("A", () => new Promise(() => {})),
    {
      onPause: (ctx) => {
        saved.push(first.runtime.checkpoint(ctx.runId)!);
      },
    },
  );
  await first.runtime.invoke("payments", "start", { id: "p1" });
  first.bus.emit("pay.approved", { id: "p1", approved: true });
  await first.runtime.flushTimeline();
  // the process dies here: nothing more of it runs
  return JSON.parse(JSON.stringify(saved[0]));
}

describe("recover(checkpoint)", () => {
  it("numbers a crashed run's rerun after the events the crashed attempt wrote, so the timeline keeps both", async () => {
    const timeline = await createMemoryTimelineStore();
    const checkpoint = await crashWhileCharging(timeline);
    const second = await harness({ timelineStore: timeline });
    await second.runtime.register(
      payments("B", async () => {}),
      {},
    );
    const info = await second.runtime.recover(checkpoint);
    expect(info).toMatchObject({ runId: checkpoint.runId, status: "paused", stage: "charge" });
    const result = await second.runtime.resume(checkpoint.runId, { approved: true });
    expect(result.ok && result.value.state).toEqual({ id: "p1", approved: true, charged: "B" });
    await second.runtime.flushTimeline();
    const { events } = await timeline.query({ runId: checkpoint.runId });
    const charges = events.filter((e) => e.type === "log").map((e) => e.message);
    expect(charges).toEqual(["charging in A", "charging in B"]);
    const seqs = events.map((e) => e.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    const resumes = events.filter((e) => e.type === "run.resumed");
    expect(resumes.map((e) => e.data)).toEqual([
      expect.objectContaining({ by: "event", event: "pay.approved" }),
      expect.objectContaining({ by: "resume" }),
    ]);
    // right after the crashed attempt's last event, its log line, the timeline says the run is
    // parked again (it would otherwise read as running from then until the rerun resumed), and
    // the rerun goes on after that
    const crashedLast = events.find((e) => e.message === "charging in A")!;
    expect(Math.max(...events.filter((e) => e.at <= crashedLast.at).map((e) => e.seq))).toBe(crashedLast.seq);
    const parkedAgain = events.find((e) => e.seq === crashedLast.seq + 1)!;
    expect(parkedAgain).toMatchObject({
      type: "run.paused",
      source: "runtime",
      stage: "approval",
      data: {
        nextStage: "charge",
        pause: [expect.objectContaining({ event: "pay.approved" })],
        recovered: { checkpointSeq: checkpoint.seq, storedSeq: crashedLast.seq },
      },
    });
    expect(parkedAgain.message).toContain(`recovered from its checkpoint (seq ${checkpoint.seq})`);
    expect(resumes[1]!.seq).toBe(crashedLast.seq + 2);
    expect(second.runtime.watch("payments", checkpoint.runId)).toBeDefined();
    expect(events.at(-1)!.type).toBe("run.completed");
    await second.runtime.stop();
  });

  it("stamps the recovered run.paused and the rerun no earlier than the crashed attempt's events, on a clock that is behind", async () => {
    const start = Date.UTC(2026, 0, 1, 12);
    vi.useFakeTimers({ toFake: ["Date"], now: start });
    try {
      const timeline = await createMemoryTimelineStore();
      const first = await harness({ timelineStore: timeline });
      const saved: RunCheckpoint[] = [];
      await first.runtime.register(
        payments("A", () => new Promise(() => {})),
        { onPause: (ctx) => void saved.push(first.runtime.checkpoint(ctx.runId)!) },
      );
      await first.runtime.invoke("payments", "start", { id: "p1" });
      // approved two minutes later; the process dies charging
      vi.setSystemTime(start + 120_000);
      first.bus.emit("pay.approved", { id: "p1", approved: true });
      await first.runtime.flushTimeline();
      const checkpoint: RunCheckpoint = JSON.parse(JSON.stringify(saved[0]));
      // the process that recovers runs on a clock a minute behind the one that crashed
      vi.setSystemTime(start + 60_000);
      const second = await harness({ timelineStore: timeline });
      await second.runtime.register(
        payments("B", async () => {}),
        {},
      );
      await second.runtime.recover(checkpoint);
      const result = await second.runtime.resume(checkpoint.runId, { approved: true });
      expect(result.ok).toBe(true);
      await second.runtime.flushTimeline();
      // the store lists a run's events by time first: they must read in the order of their seqs,
      // the run parked again right after the crashed attempt's last event
      const { events } = await timeline.query({ runId: checkpoint.runId });
      const seqs = events.map((e) => e.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      const crashedLast = events.find((e) => e.message === "charging in A")!;
      expect(events[events.indexOf(crashedLast) + 1]).toMatchObject({
        type: "run.paused",
        source: "runtime",
      });
      expect(events.at(-1)!.type).toBe("run.completed");
      await second.runtime.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it("keeps the checkpoint's seq when the timeline holds nothing past it (a clean hand-over)", async () => {
    const timeline = await createMemoryTimelineStore();
    const first = await harness({ timelineStore: timeline });
    await first.runtime.register(
      payments("A", async () => {}),
      {},
    );
    const runId = (await first.runtime.invoke("payments", "start", { id: "p2" })).metadata.runId!;
    const checkpoint = await first.runtime.detach(runId);
    await first.runtime.stop();
    const second = await harness({ timelineStore: timeline });
    await second.runtime.register(
      payments("B", async () => {}),
      {},
    );
    await second.runtime.recover(checkpoint);
    expect(second.runtime.checkpoint(runId)!.seq).toBe(checkpoint.seq);
    await second.runtime.flushTimeline();
    // its timeline ends at that pause already: nothing is added
    const { events } = await timeline.query({ runId });
    expect(events.filter((e) => e.type === "run.paused").map((e) => e.seq)).toEqual([checkpoint.seq]);
    await second.runtime.stop();
  });

  it("writes the run.paused a crash kept from the timeline, at the checkpoint's seq", async () => {
    const first = await harness({ timelineStore: await createMemoryTimelineStore() });
    await first.runtime.register(
      payments("A", async () => {}),
      {},
    );
    const runId = (await first.runtime.invoke("payments", "start", { id: "p3" })).metadata.runId!;
    const checkpoint = first.runtime.checkpoint(runId)!;
    // the process dies before its writer hands the batch to the store: this timeline has none of it
    const timeline = await createMemoryTimelineStore();
    const second = await harness({ timelineStore: timeline });
    await second.runtime.register(
      payments("B", async () => {}),
      {},
    );
    await second.runtime.recover(JSON.parse(JSON.stringify(checkpoint)));
    await second.runtime.flushTimeline();
    const { events } = await timeline.query({ runId });
    expect(events).toEqual([
      expect.objectContaining({
        seq: checkpoint.seq,
        type: "run.paused",
        stage: "approval",
        data: expect.objectContaining({
          nextStage: "charge",
          recovered: { checkpointSeq: checkpoint.seq, storedSeq: 0 },
        }),
      }),
    ]);
    second.bus.emit("pay.approved", { id: "p3" });
    expect((await second.runtime.result(runId)).ok).toBe(true);
    await second.runtime.flushTimeline();
    const after = await timeline.query({ runId });
    expect(after.events.map((e) => e.seq)).toEqual(after.events.map((_, i) => checkpoint.seq + i));
    await first.runtime.stop();
    await second.runtime.stop();
  });

  it("reports a timeline that cannot answer and goes on from the checkpoint's seq", async () => {
    const timeline = await createMemoryTimelineStore();
    const checkpoint = await crashWhileCharging(timeline);
    const broken: TimelineStore = {
      append: (events) => timeline.append(events),
      query: async () => {
        throw new SystemError("STORAGE_FAILED", "disk gone");
      },
      delete: (filter) => timeline.delete(filter),
      close: async () => {},
    };
    const second = await harness({ timelineStore: broken });
    await second.runtime.register(
      payments("B", async () => {}),
      {},
    );
    const info = await second.runtime.recover(checkpoint);
    expect(info.status).toBe("paused");
    expect(second.runtime.checkpoint(checkpoint.runId)!.seq).toBe(checkpoint.seq);
    expect(second.errors.map((e) => [e.code, e.message])).toEqual([
      [
        "STORAGE_FAILED",
        `recover(${checkpoint.runId}): reading the run's last timeline event failed (disk gone); the run goes on from its checkpoint's seq ${checkpoint.seq}, so events it writes again under ids already stored are dropped`,
      ],
    ]);
    await second.runtime.stop();
  });

  it("reports a store whose answer cannot be right and goes on from the checkpoint's seq, also when the store is still paging", async () => {
    const timeline = await createMemoryTimelineStore();
    const checkpoint = await crashWhileCharging(timeline);
    const stored = (await timeline.query({ runId: checkpoint.runId, limit: 1 })).events[0]!;
    // a stored event of the run, with the seq a store answers (typed as any: it may be no number)
    const event = (seq: unknown): TimelineEvent => ({ ...stored, seq: seq as number });
    // each answer the contract rules out (TimelineStore.query): recover() used to page for ever on
    // a cursor that did not advance (in microtasks, so no timer could stop it) and to reject with a
    // seq that no checkpoint can carry
    const answers: [string, (asked: number) => unknown, string][] = [
      [
        "the same cursor again",
        () => ({ events: [event(1)], next: "again" }),
        'its query did not advance (cursor "again" after 1 events)',
      ],
      [
        "two cursors in turn, each giving the same page",
        (asked) => ({ events: [event(1)], next: asked % 2 === 1 ? "a" : "b" }),
        'its query did not advance (the page after cursor "a" does not start after the last event of the page before)',
      ],
      [
        "an empty page with a cursor",
        (asked) => ({ events: [], next: `c${asked}` }),
        'its query did not advance (cursor "c1" after 0 events)',
      ],
      [
        "a seq past 2^52",
        () => ({ events: [event(2 ** 60)] }),
        `an event of run ${checkpoint.runId} has seq 1152921504606847000`,
      ],
      [
        "a seq that is text",
        () => ({ events: [event("900")] }),
        `an event of run ${checkpoint.runId} has seq "900"`,
      ],
    ];
    for (const [, answer, problem] of answers) {
      let asked = 0;
      const wrong: TimelineStore = {
        append: (events) => timeline.append(events),
        query: async () => {
          asked++;
          if (asked > 1000) throw new Error("asked 1000 times");
          return answer(asked) as Awaited<ReturnType<TimelineStore["query"]>>;
        },
        delete: (filter) => timeline.delete(filter),
        close: async () => {},
      };
      const second = await harness({ timelineStore: wrong });
      await second.runtime.register(
        payments("B", async () => {}),
        {},
      );
      const info = await second.runtime.recover(checkpoint);
      expect(info.status).toBe("paused");
      expect(second.runtime.checkpoint(checkpoint.runId)!.seq).toBe(checkpoint.seq);
      expect(second.errors.map((e) => [e.code, e.message])).toEqual([
        [
          "STORAGE_FAILED",
          `recover(${checkpoint.runId}): reading the run's last timeline event failed (the timeline store answered wrongly: ${problem}); the run goes on from its checkpoint's seq ${checkpoint.seq}, so events it writes again under ids already stored are dropped`,
        ],
      ]);
      await second.runtime.stop();
    }

    // a store that pages on slowly past hookTimeoutMs is asked for no more pages once recover() gave up
    let asked = 0;
    const endless: TimelineStore = {
      append: (events) => timeline.append(events),
      query: async () => {
        asked++;
        await new Promise((resolve) => setTimeout(resolve, 2));
        return { events: [event(asked)], next: `c${asked}` };
      },
      delete: (filter) => timeline.delete(filter),
      close: async () => {},
    };
    const third = await harness({ timelineStore: endless, hookTimeoutMs: 20 });
    await third.runtime.register(
      payments("B", async () => {}),
      {},
    );
    await third.runtime.recover(checkpoint);
    expect(third.errors.map((e) => e.code)).toEqual(["TIMEOUT"]);
    const askedWhenGivenUp = asked;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(asked).toBeLessThanOrEqual(askedWhenGivenUp + 1);
    await third.runtime.stop();
  });

  it("rejects as adopt throws: a malformed checkpoint, a run already here, after stop()", async () => {
    const timeline = await createMemoryTimelineStore();
    const checkpoint = await crashWhileCharging(timeline);
    const second = await harness({ timelineStore: timeline });
    await second.runtime.register(
      payments("B", async () => {}),
      {},
    );
    await expect(second.runtime.recover(null as unknown as RunCheckpoint)).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
    // one that throws when read: recover() read its runId and seq unguarded and rejected with what
    // the proxy threw, uncoded
    const unreadable = new Proxy(checkpoint, {
      get: () => {
        throw new Error("trap");
      },
    });
    await expect(second.runtime.recover(unreadable)).rejects.toMatchObject({
      code: "INVALID_INPUT",
      message: "recover(checkpoint): the checkpoint could not be read: trap",
    });
    await second.runtime.recover(checkpoint);
    await expect(second.runtime.recover(checkpoint)).rejects.toMatchObject({ code: "DUPLICATE_KEY" });
    await second.runtime.stop();
    await expect(second.runtime.recover(checkpoint)).rejects.toMatchObject({ code: "INVALID_STATE" });
  });

  it("names recover, not adopt, in what it rejects with; codes and details as adopt's", async () => {
    const timeline = await createMemoryTimelineStore();
    const checkpoint = await crashWhileCharging(timeline);
    const second = await harness({ timelineStore: timeline });
    await second.runtime.register(
      payments("B", async () => {}),
      {},
    );
    const trap = () => {
      throw new Error("trap");
    };
    const refused: [string, unknown][] = [
      ["not an object", "{}"],
      ["a field a checkpoint does not have", { ...checkpoint, dispatch: true }],
      ["no pipelineId", { ...checkpoint, pipelineId: undefined }],
      ["a pipeline the workflow lacks", { ...checkpoint, pipelineId: "refund" }],
      ["no waits", { ...checkpoint, pause: [] }],
      ["a bad wait", { ...checkpoint, pause: [{ ...checkpoint.pause[0], event: 7 }] }],
      [
        "a wait on a control event",
        { ...checkpoint, pause: [{ ...checkpoint.pause[0], event: "sluice.run.abort" }] },
      ],
      [
        "a patch mapper not declared",
        { ...checkpoint, pause: [{ ...checkpoint.pause[0], patch: "approval" }] },
      ],
      ["two waits of one id", { ...checkpoint, pause: [checkpoint.pause[0], checkpoint.pause[0]] }],
      ["a state JSON cannot hold", { ...checkpoint, state: { id: "p1", n: 1n } }],
      ["one that throws when read", new Proxy(checkpoint, { get: trap })],
    ];
    for (const [what, bad] of refused) {
      let adoptError: unknown;
      try {
        second.runtime.adopt(bad as RunCheckpoint);
      } catch (error) {
        adoptError = error;
      }
      const recoverError = await second.runtime
        .recover(bad as RunCheckpoint)
        .catch((error: unknown) => error);
      expect(SystemError.is(adoptError), what).toBe(true);
      expect(SystemError.is(recoverError), what).toBe(true);
      const adopted = adoptError as SystemError;
      const recovered = recoverError as SystemError;
      expect(adopted.message, what).toMatch(/^adopt\(checkpoint\): /);
      const named = (text: string) => text.replace("adopt(checkpoint)", "recover(checkpoint)");
      expect(recovered.message, what).toBe(named(adopted.message));
      // (a wait's path is the message's own prefix, as @sluice/pause's readPauseRequest makes it)
      const details = adopted.details as { path?: string } | undefined;
      const expected = details?.path === undefined ? details : { ...details, path: named(details.path) };
      expect([recovered.code, recovered.details], what).toEqual([adopted.code, expected]);
    }
    await second.runtime.recover(checkpoint);
    const duplicate = await second.runtime.recover(checkpoint).catch((error: unknown) => error);
    expect(duplicate).toMatchObject({
      code: "DUPLICATE_KEY",
      message: expect.stringMatching(/^recover\(checkpoint\): run \S+ is already known to this runtime/),
    });
    expect(second.errors).toEqual([]);
    await second.runtime.stop();
  });

  it("checks the checkpoint as adopt does before reading the timeline: a malformed one or a run known here costs no read and reports nothing", async () => {
    const timeline = await createMemoryTimelineStore();
    const checkpoint = await crashWhileCharging(timeline);
    let queries = 0;
    const counting: TimelineStore = {
      append: (events) => timeline.append(events),
      query: (query) => {
        queries++;
        return timeline.query(query);
      },
      delete: (filter) => timeline.delete(filter),
      close: async () => {},
    };
    const second = await harness({ timelineStore: counting });
    await second.runtime.register(
      payments("B", async () => {}),
      {},
    );
    await expect(second.runtime.recover({ ...checkpoint, runId: "" })).rejects.toMatchObject({
      code: "INVALID_INPUT",
      message: "checkpoint.runId: must be a non-empty string",
    });
    await expect(second.runtime.recover({ ...checkpoint, workflowId: "refunds" })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    expect(queries).toBe(0);
    expect(second.errors).toEqual([]);
    // a run that ended here (its run.completed is on the timeline) is one this runtime knows
    await second.runtime.recover(checkpoint);
    await second.runtime.resume(checkpoint.runId, { approved: true });
    queries = 0;
    await expect(second.runtime.recover(checkpoint)).rejects.toMatchObject({ code: "DUPLICATE_KEY" });
    expect(queries).toBe(0);
    await second.runtime.stop();
  });

  it.each([
    ["completed", "approved", "run.completed"],
    ["aborted", "aborted", "run.aborted"],
  ] as const)(
    "refuses a run the timeline shows ended (%s), whose onCleanup never deleted the saved checkpoint: it does not run again",
    async (_ended, how, last) => {
      const timeline = await createMemoryTimelineStore();
      const first = await harness({ timelineStore: timeline });
      const saved: RunCheckpoint[] = [];
      await first.runtime.register(
        payments("A", async () => {}),
        {
          onPause: (ctx) => void saved.push(first.runtime.checkpoint(ctx.runId)!),
          // the process dies while onComplete notifies someone: onCleanup, which deletes the
          // saved checkpoint in the crash recipe, never runs
          onComplete: () => new Promise(() => {}),
        },
      );
      const runId = (await first.runtime.invoke("payments", "start", { id: "p3" })).metadata.runId!;
      if (how === "approved") first.bus.emit("pay.approved", { id: "p3", approved: true });
      else void first.runtime.abort(runId);
      await vi.waitFor(async () => {
        await first.runtime.flushTimeline();
        expect((await timeline.query({ runId })).events.at(-1)?.type).toBe(last);
      });
      const lastSeq = (await timeline.query({ runId })).events.at(-1)!.seq;
      const second = await harness({ timelineStore: timeline });
      await second.runtime.register(
        payments("B", async () => {}),
        {},
      );
      const refused = await second.runtime.recover(JSON.parse(JSON.stringify(saved[0]))).catch((e) => e);
      expect(SystemError.is(refused, "INVALID_STATE"), String(refused)).toBe(true);
      expect(refused.message).toBe(
        `recover(${runId}): the timeline shows the run ended (${last} at seq ${lastSeq}), so it is not adopted: the checkpoint was left over by a process that stopped before the run's onCleanup; delete it (to run the run again from it anyway, adopt({ ...checkpoint, seq: ${lastSeq} }))`,
      );
      expect(refused.details).toEqual({ runId, ended: last, seq: lastSeq, lastSeq });
      expect(second.runtime.listAllRuns()).toEqual([]);
      second.bus.emit("pay.approved", { id: "p3", approved: true });
      await second.runtime.stop();
      expect((await timeline.query({ runId })).events.at(-1)!.seq).toBe(lastSeq);
      expect(second.errors).toEqual([]);
    },
  );

  it("with hookTimeoutMs Infinity (no limit) waits for a slow store instead of giving up at once", async () => {
    const timeline = await createMemoryTimelineStore();
    const checkpoint = await crashWhileCharging(timeline);
    // the same store, answering queries after 5 ms (a file, a network store)
    const slow: TimelineStore = {
      append: (events) => timeline.append(events),
      query: async (query) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return timeline.query(query);
      },
      delete: (filter) => timeline.delete(filter),
      close: async () => {},
    };
    const second = await harness({ timelineStore: slow, hookTimeoutMs: Infinity });
    await second.runtime.register(
      payments("B", async () => {}),
      {},
    );
    await second.runtime.recover(checkpoint);
    await second.runtime.resume(checkpoint.runId, { approved: true });
    await second.runtime.flushTimeline();
    const { events } = await timeline.query({ runId: checkpoint.runId });
    expect(events.filter((e) => e.type === "log").map((e) => e.message)).toEqual([
      "charging in A",
      "charging in B",
    ]);
    expect(second.errors).toEqual([]);
    await second.runtime.stop();
  });
});
