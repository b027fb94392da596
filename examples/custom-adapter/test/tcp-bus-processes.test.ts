import type { ChildProcess } from "node:child_process";
import { ControlEvent } from "@sluice/runtime-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTcpEventBus, startTcpBroker, type TcpBroker, type TcpEventBus } from "../src/index.js";
import { exited, spawnFixture } from "./fixtures/spawn-typescript.js";

// Two WorkflowRuntimes in two Node processes on one TCP broker (this process), driven from here
// through the same broker.
type Report = { worker: string; [key: string]: unknown };

let broker: TcpBroker;
let host: TcpEventBus;
const workers: ChildProcess[] = [];
const reports: Array<[string, Report]> = [];

/** The first report of `type` from `from` matching `match`, already received or still to come. */
function report(type: string, from: string, match: (r: Report) => boolean = () => true): Promise<Report> {
  const found = reports.find(([t, r]) => t === type && r.worker === from && match(r));
  if (found) return Promise.resolve(found[1]);
  return new Promise((resolve) => {
    const off = host.on(`test.${type}`, (payload) => {
      const r = payload as Report;
      if (r.worker === from && match(r)) {
        off();
        resolve(r);
      }
    });
  });
}

function start(name: string, shard: number): ChildProcess {
  const child = spawnFixture("order-worker.ts", [String(broker.port), name, String(shard)]);
  workers.push(child);
  return child;
}

beforeAll(async () => {
  broker = await startTcpBroker();
  host = await createTcpEventBus({ port: broker.port });
  host.on("*", (type, payload) => void reports.push([type, payload as Report]));
  start("placer", 0);
  start("approver", 1);
  await Promise.all([report("ready", "placer"), report("ready", "approver")]);
}, 60_000);

afterAll(async () => {
  for (const child of workers) if (child.exitCode === null) child.kill();
  host?.close();
  await broker?.close();
});

const order = (orderId: string, extra: object = {}) => ({ orderId, shard: 0, ...extra });

it("a run in one process is approved from the other, in answer to the order it saw", async () => {
  host.emit("order.placed", order("o-answered", { autoApprove: "approver" }));
  const ended = await report(
    "ended",
    "placer",
    (r) => (r.state as { orderId?: string })?.orderId === "o-answered",
  );
  expect(ended).toMatchObject({
    status: "completed",
    state: { approved: true, approvedBy: "approver", shipped: true },
  });
});

it("a parked run detached in one process is adopted in the other and resumed there by an event", async () => {
  host.emit("order.placed", order("o-moved"));
  const { runId } = await report("paused", "placer", (r) => r.orderId === "o-moved");
  host.emit("test.detach", { worker: "placer", runId });
  const { checkpoint } = await report(
    "detached",
    "placer",
    (r) => (r.checkpoint as { runId: string }).runId === runId,
  );
  host.emit("test.adopt", { worker: "approver", checkpoint });
  expect(await report("adopted", "approver", (r) => r.runId === runId)).toMatchObject({
    status: "paused",
    stage: "ship",
  });
  host.emit("order.approved", { orderId: "o-moved", by: "host" });
  expect(await report("ended", "approver", (r) => r.runId === runId)).toMatchObject({
    status: "completed",
    state: { orderId: "o-moved", approved: true, approvedBy: "host", shipped: true }, // the named patch travelled
  });
});

it("control events reach the process holding the run; the other stays silent", async () => {
  host.emit("order.placed", order("o-controlled"));
  const { runId } = await report("paused", "placer", (r) => r.orderId === "o-controlled");
  host.emit(ControlEvent.Signal, { runId, patch: { note: "gift wrap" } });
  host.emit(ControlEvent.Resume, { runId, patch: { approved: true } });
  expect(await report("ended", "placer", (r) => r.runId === runId)).toMatchObject({
    status: "completed",
    state: { note: "gift wrap", approved: true, shipped: true },
  });

  host.emit("order.placed", order("o-aborted"));
  const parked = await report("paused", "placer", (r) => r.orderId === "o-aborted");
  host.emit("test.detach", { worker: "placer", runId: parked.runId });
  host.emit("test.adopt", {
    worker: "approver",
    checkpoint: (
      await report("detached", "placer", (r) => (r.checkpoint as { runId: string }).runId === parked.runId)
    ).checkpoint,
  });
  await report("adopted", "approver", (r) => r.runId === parked.runId);
  host.emit(ControlEvent.Abort, { runId: parked.runId });
  expect(await report("ended", "approver", (r) => r.runId === parked.runId)).toMatchObject({
    status: "aborted",
  });
});

it("both workers stop cleanly, having reported no error", async () => {
  const [placer, approver] = workers as [ChildProcess, ChildProcess];
  host.emit("test.quit", { worker: "placer" });
  host.emit("test.quit", { worker: "approver" });
  const stopped = await Promise.all([report("stopped", "placer"), report("stopped", "approver")]);
  expect(stopped.map((r) => r.left)).toEqual([[], []]);
  expect(stopped.map((r) => r.listeners)).toEqual([4, 4]); // the worker's own handlers: the runtime's are gone
  expect(await Promise.all([exited(placer), exited(approver)])).toEqual([0, 0]);
  expect(reports.filter(([type]) => type === "test.error")).toEqual([]);
});
