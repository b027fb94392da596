import { SystemError } from "@sluice/errors";
import type { TimelineBatch, TimelineEvent, TimelineStore } from "@sluice/timeline";
import { afterEach, describe, expect, it, vi } from "vitest";
import { TimelineWriter } from "../src/timeline-writer.js";

// The runtime's `timeline` options (maxBatch, flushIntervalMs, maxBuffered) and how a failing store
// loses events, checked on the writer that implements them: the runtime-level tests in
// timeline.test.ts cannot see batch boundaries.

/** A store that records every append (seqs per call), optionally holding or refusing it. */
function recordingStore(append?: (events: readonly TimelineEvent[]) => Promise<void>) {
  const calls: number[][] = [];
  const store: TimelineStore = {
    append: (events) => {
      calls.push(events.map((e) => e.seq));
      return append === undefined ? Promise.resolve() : append(events);
    },
    query: () => Promise.resolve({ events: [] }),
    delete: () => Promise.resolve(0),
    close: () => Promise.resolve(),
  };
  return { store, calls, stored: () => calls.flat() };
}

function writerOn(store: TimelineStore, options: Partial<ConstructorParameters<typeof TimelineWriter>[1]>) {
  const errors: SystemError[] = [];
  const writer = new TimelineWriter(store, { ...options, onError: (e) => errors.push(e) });
  const write = (seq: number, message?: string, runId = "run-1") =>
    writer.write(
      runId,
      "wf",
      seq,
      1_000 + seq,
      "runtime",
      "test.event",
      undefined,
      undefined,
      undefined,
      message,
      undefined,
    );
  return { writer, errors, write };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("which runs' timelines a loss leaves incomplete", () => {
  it("a close that runs out of time names the runs of the append still in flight, not only those of the buffered events", async () => {
    vi.useFakeTimers();
    const { store } = recordingStore(() => new Promise<void>(() => {}));
    const { writer, errors, write } = writerOn(store, { maxBatch: 2, flushIntervalMs: 60_000 });
    write(1, undefined, "r1");
    write(1, undefined, "r2"); // maxBatch: r1's and r2's events handed to the store, never settled
    write(2, undefined, "r2");
    write(1, undefined, "r3"); // buffered behind them
    const closed = writer.close(1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    await closed;
    // in the order of their first event not taken: the append in flight came first
    expect(errors.map((e) => [e.code, e.details])).toEqual([
      ["TIMEOUT", { pending: 2, inFlight: 2, runs: 3, runIds: ["r1", "r2", "r3"] }],
    ]);
  });

  it("a close that runs out of time names the runs it can of an in-flight batch the store broke, and settles", async () => {
    vi.useFakeTimers();
    const { store } = recordingStore();
    // a store that breaks the batch it was lent (the contract says keep copies) and never settles
    (store as { appendBatch?: (batch: TimelineBatch) => Promise<void> }).appendBatch = (batch) => {
      (batch as { runIds: unknown }).runIds = null;
      return new Promise<void>(() => {});
    };
    const { writer, errors, write } = writerOn(store, { maxBatch: 2, flushIntervalMs: 60_000 });
    write(1, undefined, "r1");
    write(1, undefined, "r2"); // maxBatch: handed to the store, which breaks it
    write(2, undefined, "r2"); // buffered behind it
    const closed = writer.close(1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(closed).resolves.toBeUndefined();
    expect(errors.map((e) => [e.code, e.details])).toEqual([
      ["TIMEOUT", { pending: 1, inFlight: 2, runs: 1, runIds: ["r2"] }],
    ]);
  });

  it("a close that runs out of time with nothing buffered still names the runs of the append in flight", async () => {
    vi.useFakeTimers();
    const { store } = recordingStore(() => new Promise<void>(() => {}));
    const { writer, errors, write } = writerOn(store, { maxBatch: 2, flushIntervalMs: 60_000 });
    write(1, undefined, "r1");
    write(1, undefined, "r2");
    const closed = writer.close(1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    await closed;
    expect(errors.map((e) => e.details)).toEqual([
      { pending: 0, inFlight: 2, runs: 2, runIds: ["r1", "r2"] },
    ]);
  });

  it("a failed append names the distinct runs it lost events of, in order of their first event", async () => {
    const { store } = recordingStore(() => Promise.reject(new Error("disk on fire")));
    const { writer, errors, write } = writerOn(store, { flushIntervalMs: 60_000 });
    write(1, undefined, "r1");
    write(1, undefined, "r2");
    write(2, undefined, "r1");
    write(1, undefined, "r3");
    await writer.flush();
    expect(errors[0]!.details).toEqual({ lost: 4, runs: 3, runIds: ["r1", "r2", "r3"] });
  });

  it("an overflow names only the runs whose events it dropped", () => {
    const { store } = recordingStore();
    const { errors, write } = writerOn(store, { maxBuffered: 20, maxBatch: 1_000, flushIntervalMs: 60_000 });
    write(1, undefined, "old-a");
    write(1, undefined, "old-b");
    write(2, undefined, "old-a");
    for (let seq = 1; seq <= 18; seq++) write(seq, undefined, "kept");
    // 21 waiting, 20 allowed: the oldest three go
    expect(errors[0]!.details).toEqual({ dropped: 3, runs: 2, runIds: ["old-a", "old-b"] });
  });

  it("lists at most 100 run ids, and counts them all", async () => {
    const { store } = recordingStore(() => Promise.reject(new Error("disk on fire")));
    const { writer, errors, write } = writerOn(store, { maxBatch: 1_000, flushIntervalMs: 60_000 });
    for (let run = 0; run < 150; run++) write(1, undefined, `r${run}`);
    await writer.flush();
    const details = errors[0]!.details as { runs: number; runIds: string[] };
    expect(details.runs).toBe(150);
    expect(details.runIds).toEqual(Array.from({ length: 100 }, (_, i) => `r${i}`));
  });
});

describe("timeline batching options", () => {
  it("keeps up to maxBuffered events waiting; past it drops the oldest tenth and reports how many", async () => {
    const { store, stored } = recordingStore();
    const { writer, errors, write } = writerOn(store, {
      maxBuffered: 20,
      maxBatch: 1_000,
      flushIntervalMs: 60_000,
    });
    for (let seq = 1; seq <= 20; seq++) write(seq);
    expect(errors).toEqual([]);
    expect(writer.pending).toBe(20);
    write(21);
    // 21 waiting, 20 allowed: one over, plus a tenth of maxBuffered
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: "STORAGE_FAILED", details: { dropped: 3 } });
    expect(writer.pending).toBe(18);
    await writer.flush();
    expect(stored()).toEqual(Array.from({ length: 18 }, (_, i) => i + 4));
  });

  it("with a maxBuffered below ten drops the oldest, never the event just written", async () => {
    let release!: () => void;
    const { store, stored } = recordingStore((events) =>
      events[0]!.seq === 1 ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve(),
    );
    const { writer, errors, write } = writerOn(store, {
      maxBuffered: 1,
      maxBatch: 1,
      flushIntervalMs: 60_000,
    });
    write(1); // handed to the store, which holds it
    write(2);
    write(3); // past maxBuffered: 2 goes, 3 stays
    expect(errors.map((e) => e.details)).toEqual([{ dropped: 1, runs: 1, runIds: ["run-1"] }]);
    release();
    await writer.flush();
    expect(stored()).toEqual([1, 3]);
  });

  it("a close that runs out of time reports both the buffered events it drops and the append still in flight", async () => {
    const { store } = recordingStore(() => new Promise<void>(() => {}));
    const { writer, errors, write } = writerOn(store, { maxBatch: 5, flushIntervalMs: 60_000 });
    for (let seq = 1; seq <= 7; seq++) write(seq); // 1–5 in flight, never settled; 6–7 buffered
    await writer.close(20);
    expect(errors.map((e) => [e.code, e.details])).toEqual([
      ["TIMEOUT", { pending: 2, inFlight: 5, runs: 1, runIds: ["run-1"] }],
    ]);
    expect(errors[0]!.message).toContain(
      "2 buffered events are dropped, and the store has not settled the append of 5 more",
    );
  });

  it("appends as soon as maxBatch events are waiting, without waiting for the flush interval", () => {
    const { store, calls } = recordingStore();
    const { write } = writerOn(store, { maxBatch: 3, flushIntervalMs: 60_000 });
    write(1);
    write(2);
    expect(calls).toEqual([]);
    write(3);
    expect(calls).toEqual([[1, 2, 3]]);
  });

  it("appends a smaller batch once flushIntervalMs has passed (default 25 ms)", async () => {
    vi.useFakeTimers();
    const slow = recordingStore();
    writerOn(slow.store, { flushIntervalMs: 1_000 }).write(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(slow.calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(slow.calls).toEqual([[1]]);

    const byDefault = recordingStore();
    writerOn(byDefault.store, {}).write(1);
    await vi.advanceTimersByTimeAsync(24);
    expect(byDefault.calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(byDefault.calls).toEqual([[1]]);
  });

  it("events written while an append is in flight reach the store after it, with no further write", async () => {
    vi.useFakeTimers();
    const held: Array<() => void> = [];
    const { store, calls } = recordingStore(() => new Promise<void>((resolve) => held.push(resolve)));
    const { write } = writerOn(store, { flushIntervalMs: 5 });
    write(1);
    await vi.advanceTimersByTimeAsync(5);
    expect(calls).toEqual([[1]]);
    write(2);
    write(3);
    await vi.advanceTimersByTimeAsync(50);
    // one append at a time: 2 and 3 wait for the first to settle
    expect(calls).toEqual([[1]]);
    held[0]!();
    await vi.advanceTimersByTimeAsync(5);
    expect(calls).toEqual([[1], [2, 3]]);
  });

  it("takes no more events once closed", async () => {
    const { store, stored } = recordingStore();
    const { writer, write } = writerOn(store, { flushIntervalMs: 60_000 });
    write(1);
    await writer.close();
    write(2);
    expect(writer.pending).toBe(0);
    await writer.flush();
    expect(stored()).toEqual([1]);
  });
});

describe("timeline store failures", () => {
  it("a batch refused as malformed (INVALID_INPUT) loses only the event the store refuses", async () => {
    const { store, calls } = recordingStore((events) =>
      events.some((e) => e.message === "poison")
        ? Promise.reject(new SystemError("INVALID_INPUT", "the store cannot hold this event"))
        : Promise.resolve(),
    );
    const { writer, errors, write } = writerOn(store, { flushIntervalMs: 60_000 });
    write(1, "poison");
    for (let seq = 2; seq <= 4; seq++) write(seq);
    await writer.flush();
    const accepted = calls.filter((seqs) => !seqs.includes(1)).flat();
    expect(accepted.sort()).toEqual([2, 3, 4]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: "STORAGE_FAILED", details: { lost: 1 } });
  });

  it("a store failing for any other reason loses the batch in one piece, reported once, not retried event by event", async () => {
    const { store, calls } = recordingStore(() => Promise.reject(new Error("disk on fire")));
    const { writer, errors, write } = writerOn(store, { flushIntervalMs: 60_000 });
    for (let seq = 1; seq <= 4; seq++) write(seq);
    await writer.flush();
    expect(calls).toEqual([[1, 2, 3, 4]]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: "STORAGE_FAILED", details: { lost: 4 } });
    expect(errors[0]!.message).toContain("disk on fire");
  });
});
