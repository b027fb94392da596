// The id table and the log must agree: every live event's position sits where its id's hash leads.
// Were they to disagree (a fault of the store's own, such as the re-entrant append that once wrote
// rows the table never held), removing that event searched the table for ever and hung the whole
// process, every other run with it. The store's call fails instead, with INVALID_STATE.
import type { TimelineEvent } from "@sluice/timeline";
import { describe, expect, it } from "vitest";
import type { EventLog } from "../src/event-log.js";
import { createMemoryTimelineStore, type MemoryTimelineStore } from "../src/index.js";

function ev(runId: string, seq: number): TimelineEvent {
  return { id: `${runId}:${seq}`, runId, workflowId: "wf", seq, at: seq, source: "runtime", type: "log" };
}

/** Takes the event at log position `position` out of the store's id table, as a fault would. */
function loseFromIdTable(store: MemoryTimelineStore, position: number): void {
  const log = (store as unknown as { log: EventLog }).log;
  const slots = (log.idTable as unknown as { slots: Int32Array }).slots;
  const at = slots.indexOf(position);
  expect(at).not.toBe(-1);
  slots[at] = -1;
}

const lost = expect.objectContaining({
  code: "INVALID_STATE",
  message: expect.stringContaining("missing from the store's id index"),
});

describe("an event the id table has lost", () => {
  it("evicting it fails the append instead of hanging", async () => {
    const store = await createMemoryTimelineStore({ maxEvents: 4 });
    await store.append([ev("a", 0), ev("a", 1), ev("a", 2), ev("a", 3)]);
    loseFromIdTable(store, 0);
    await expect(store.append([ev("b", 0)])).rejects.toThrow(lost);
  });

  it("deleting it fails the delete instead of hanging", async () => {
    const store = await createMemoryTimelineStore();
    await store.append([ev("a", 0), ev("a", 1)]);
    loseFromIdTable(store, 1);
    await expect(store.delete({ runId: "a" })).rejects.toThrow(lost);
  });

  it("undoing it (a batch that gives up) fails the append instead of hanging", async () => {
    const store = await createMemoryTimelineStore();
    const events = [ev("a", 0), ev("a", 1), { ...ev("a", 2), seq: Number.NaN }];
    // the batch's first rows are written, then the bad one makes it undo them; the first is lost
    const log = (store as unknown as { log: EventLog }).log;
    const table = log.idTable;
    const findOrInsert = table.findOrInsert.bind(table);
    table.findOrInsert = (hash, charStart, length, position, idLog) =>
      position === 0 ? -1 : findOrInsert(hash, charStart, length, position, idLog);
    await expect(store.append(events)).rejects.toThrow(lost);
  });
});
