import { describe, expect, it } from "vitest";
import { runTimelineConformance, timelineConformanceCases } from "../src/conformance/index.js";
import { describeTimelineConformance } from "../src/conformance/vitest.js";
import {
  createReferenceStore,
  openJournaledReferenceStore,
  type ReferenceFaults,
} from "./reference-store.js";

// A correct store passes every case; one with appendBatch passes each case twice (see runCase).
describeTimelineConformance("reference store", { create: () => createReferenceStore() });
describeTimelineConformance("reference store with appendBatch", {
  create: () => createReferenceStore({ batches: true }),
});

// A persistent one: appends and deletes journaled as JSON lines, replayed on reopen.
let journal: string[] = [];
describeTimelineConformance("journaled reference store", {
  create: () => openJournaledReferenceStore((journal = [])),
  reopen: () => openJournaledReferenceStore(journal),
});

// A case (or the whole suite) on the deliberately broken stores below may take several seconds on
// a loaded machine (the 500-run and paging cases make thousands of queries): as long as a case
// gets under describeTimelineConformance, not vitest's 5 s default.
const SUITE_TIMEOUT_MS = 60_000;

describe("the suite catches broken adapters", { timeout: SUITE_TIMEOUT_MS }, () => {
  const broken: Array<[keyof ReferenceFaults, string]> = [
    ["duplicates", "append is idempotent by id: the first stored copy is kept"],
    [
      "noCopy",
      "stored events are copies: append leaves the caller's events as given; mutating appended or returned objects changes nothing",
    ],
    ["partialBatches", "a rejected batch stores nothing (batch atomicity)"],
    [
      "partialBatches",
      "an event whose data throws when read is rejected with INVALID_INPUT; nothing of its batch is stored",
    ],
    [
      "copyBeforeCheck",
      "an event whose data throws when read is rejected with INVALID_INPUT; nothing of its batch is stored",
    ],
    [
      "readsTwice",
      "an event is read once: a field whose getter gives a valid value, then an invalid one, is stored as first read, or its batch is rejected",
    ],
    ["ignoreTo", "filters: runId, workflowId, from (inclusive), to (exclusive) and their combinations"],
    ["offsetCursor", "paging walks every matching event once, in order, for every filter"],
    [
      "nullForAbsent",
      "events round-trip deep-equal; absent optional fields stay absent, null data stays null",
    ],
    [
      "rereadsDeleteFilter",
      "a filter is read once: a getter cannot pass the check with one run and delete another",
    ],
    [
      "inheritedFilterKeys",
      "filters are plain objects: a Map, a class instance or Object.create(proto) is rejected with INVALID_INPUT; only own fields count",
    ],
    ["noDisposeCheck", "use after close() rejects with DISPOSED; close() twice is safe"],
    // appendBatch faults: caught by the second pass of every case, and by the batch cases
    ["batchLosesLast", "append then query returns every event in (at, seq, id) order"],
    ["batchLosesLast", "many runs: 500 runs x 20 events"],
    ["batchWrongIds", "a derived id is the same id as its string: one copy, the first stored, either way"],
    [
      "batchWrongIds",
      "a batch in columns is stored as its events: derived ids are runId:seq, every field round-trips",
    ],
    [
      "batchUnchecked",
      "malformed batches are rejected with INVALID_INPUT naming events[i].field; nothing stored",
    ],
    ["batchUnchecked", "malformed events are rejected with INVALID_INPUT naming index and field"],
    [
      "batchTrustsLength",
      "appendBatch rejects a TimelineBatch whose length is not a count of its rows with INVALID_INPUT",
    ],
    [
      "batchKept",
      "a batch in columns is stored as its events: derived ids are runId:seq, every field round-trips",
    ],
  ];
  for (const [fault, caseName] of broken) {
    it(`${fault} fails "${caseName}"`, async () => {
      const cases = timelineConformanceCases({ create: () => createReferenceStore({ [fault]: true }) });
      const target = cases.find((c) => c.name === caseName);
      expect(target).toBeDefined();
      await expect(target!.run()).rejects.toThrow();
    });
  }

  it("exclusiveFrom: each failure names the query that read the events back, with its from", async () => {
    const results = await runTimelineConformance({
      create: () => createReferenceStore({ exclusiveFrom: true }),
    });
    const failures = results.filter((r) => !r.passed);
    expect(failures.map((r) => r.name)).toEqual([
      "filters: runId, workflowId, from (inclusive), to (exclusive) and their combinations",
      "paging walks every matching event once, in order, for every filter",
      "extreme times and seqs (negative, fractional, past 2^53 and 64-bit integers) order, filter, page and delete exactly",
      "a batch in columns is stored as its events: derived ids are runId:seq, every field round-trips",
      "a derived id is the same id as its string: one copy, the first stored, either way",
    ]);
    for (const failure of failures) expect(String(failure.error)).toMatch(/query\(\{[^)]*"from":\d+/);
    const message = (name: string) => String(results.find((r) => r.name === name)?.error);
    expect(
      message(
        "a batch in columns is stored as its events: derived ids are runId:seq, every field round-trips",
      ),
    ).toContain('query({"runId":"run-é✓-1","from":1002}) returned 0 events');
    expect(
      message("a derived id is the same id as its string: one copy, the first stored, either way"),
    ).toContain(
      'ties on (at, seq) in id order, derived ids compared as their strings: query({"from":60}) returned ids: expected 5 items',
    );
  });

  it("a store that keeps a delete's before: Infinity as JSON null fails reopen: the deleted events come back", async () => {
    let kept: string[] = [];
    const cases = timelineConformanceCases({
      create: () => openJournaledReferenceStore((kept = []), { infinityAsNull: true }),
      reopen: () => openJournaledReferenceStore(kept, { infinityAsNull: true }),
    });
    const reopen = cases.find((c) => c.name.includes("reopen"));
    await expect(reopen!.run()).rejects.toThrow(
      'events deleted by { runId: "r", before: Infinity } stay deleted after reopen: query({"limit":10000}) and the pages after it returned 6 events, expected 2 (unexpected ["r#0","r#3","r#1","r#2"])',
    );
  });

  it("readsTwice: the failure names the field and the value stored unchecked", async () => {
    const cases = timelineConformanceCases({ create: () => createReferenceStore({ readsTwice: true }) });
    const readOnce = cases.find((c) => c.name.startsWith("an event is read once"));
    await expect(readOnce!.run()).rejects.toThrow(
      'append([ok, an event whose seq getter gives 1 on the first read and -1 after]) resolved, so the store must hold what it read the first time and checked (read each event once, with readTimelineEvents, and store that copy): query({"limit":10000}) and the pages after it returned event "two-faced-seq".seq: expected 1, got -1',
    );
  });

  it.each([
    [
      "freezesEvents",
      "append() must leave the caller's events as given (the same own keys and values, not frozen): events[0] was frozen",
    ],
    [
      "deletesUndefinedKeys",
      "append() must leave the caller's events as given (the same own keys and values, not frozen): events[0].stage was deleted",
    ],
    [
      "freezesBatch",
      "with appends through appendBatch: append() must leave the caller's events as given (the same own keys and values, not frozen): events[0].data was frozen",
    ],
    [
      "freezesReturned",
      "query() must return copies the caller may change (not frozen): changing one threw TypeError: Cannot assign to read only property 'message'",
    ],
  ] as const)(
    "%s: the copies case says what the store did to the caller's objects",
    async (fault, message) => {
      const cases = timelineConformanceCases({ create: () => createReferenceStore({ [fault]: true }) });
      const copies = cases.find((c) => c.name.startsWith("stored events are copies"));
      await expect(copies!.run()).rejects.toThrow(message);
    },
  );

  it("freezesBatch: the batch case names the column appendBatch froze", async () => {
    const cases = timelineConformanceCases({ create: () => createReferenceStore({ freezesBatch: true }) });
    const batchCase = cases.find((c) => c.name.startsWith("a batch in columns is stored as its events"));
    await expect(batchCase!.run()).rejects.toThrow(
      "appendBatch() must leave the caller's batch as given (the same own keys and values, not frozen): batch.ids was frozen",
    );
  });

  it("runs reopen only for factories that can reopen, and closes and cleans up after each case", async () => {
    const plain = timelineConformanceCases({ create: () => createReferenceStore() });
    expect(plain.some((c) => c.name.includes("reopen"))).toBe(false);
    let cleanups = 0;
    const persistent = timelineConformanceCases({
      create: () => createReferenceStore(),
      reopen: () => createReferenceStore(), // forgets everything: must fail the reopen case
      cleanup: () => {
        cleanups++;
      },
    });
    const reopen = persistent.find((c) => c.name.includes("reopen"));
    expect(reopen).toBeDefined();
    await expect(reopen!.run()).rejects.toThrow(/after reopen/);
    expect(cleanups).toBe(1);
  });
});
