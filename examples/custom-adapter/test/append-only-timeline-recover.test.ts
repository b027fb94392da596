import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SystemError } from "@sluice/errors";
import { createEventBus } from "@sluice/events";
import { type RunCheckpoint, WorkflowRuntime } from "@sluice/runtime-core";
import { StoreRegistry } from "@sluice/store";
import type { TimelineEvent, TimelineStore } from "@sluice/timeline";
import { afterAll, expect, it } from "vitest";
import { createAppendOnlyTimelineStore } from "./fixtures/append-only-timeline-store.js";
import { orders } from "./fixtures/orders-workflow.js";
import { exited, printed, spawnFixture } from "./fixtures/spawn-typescript.js";

const dir = mkdtempSync(join(tmpdir(), "sluice-log-recover-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function runEvents(store: TimelineStore, runId: string): Promise<TimelineEvent[]> {
  const { events } = await store.query({ runId });
  return events.sort((a, b) => a.seq - b.seq);
}

it("a process killed with runs parked: recover reads the timeline file, refuses the ended run, resumes the parked one", async () => {
  const filename = join(dir, "timeline.jsonl");
  const checkpoints = join(dir, "checkpoints");
  mkdirSync(checkpoints);
  const crashing = spawnFixture("crashing-worker.ts", [filename, checkpoints]);
  await printed(crashing, "parked");
  crashing.kill("SIGKILL");
  expect(await exited(crashing)).toBe("SIGKILL");
  appendFileSync(filename, '{"add":{"id":"torn'); // as if it died in the middle of a write

  const timelineStore = await createAppendOnlyTimelineStore({ filename });
  const bus = createEventBus();
  const runtime = new WorkflowRuntime({ bus, storeRegistry: new StoreRegistry(), timelineStore });
  let shipped!: (state: unknown) => void;
  const done = new Promise((resolve) => (shipped = resolve));
  await runtime.register(orders, { onComplete: (r) => shipped(r.ok && r.value.state) });

  const saved = Object.fromEntries(
    readdirSync(checkpoints).map((name) => [
      name,
      JSON.parse(readFileSync(join(checkpoints, name), "utf8")) as RunCheckpoint,
    ]),
  );
  expect(Object.keys(saved).sort()).toEqual(["o-shipped.json", "o-waiting.json"]);

  // the order that shipped before the crash does not come back waiting
  const refused = await runtime.recover(saved["o-shipped.json"]!).catch((error: unknown) => error);
  expect(SystemError.is(refused, "INVALID_STATE")).toBe(true);
  expect((refused as SystemError).details).toMatchObject({ ended: "run.completed" });

  const waiting = saved["o-waiting.json"]!;
  const before = await runEvents(timelineStore, waiting.runId);
  expect(before.at(-1)?.type).toBe("run.paused");
  expect(await runtime.recover(waiting)).toMatchObject({ status: "paused", stage: "ship" });
  bus.emit("order.approved", { orderId: "o-waiting", by: "night shift" });
  expect(await done).toMatchObject({
    orderId: "o-waiting",
    approved: true,
    approvedBy: "night shift",
    shipped: true,
  });
  await runtime.stop();

  // one timeline across the two processes: the first's events, then the second's, seqs running on
  const events = await runEvents(timelineStore, waiting.runId);
  expect(events.slice(0, before.length)).toEqual(before);
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => events[0]!.seq + i));
  expect(events.map((e) => e.type)).toContain("run.resumed");
  expect(events.at(-1)?.type).toBe("run.completed");
  await timelineStore.close();
}, 60_000); // a process to start: slow on a busy machine
