import { createServer, type Socket } from "node:net";
import { defineWorkflow, type PauseService, WorkflowRuntime } from "@sluice/runtime-core";
import { StoreRegistry } from "@sluice/store";
import { expect, it } from "vitest";
import { createTcpEventBus } from "../src/index.js";

// An order and a peer's approval of it can reach a process in one read (it was busy when both
// arrived). The run the order starts registers its wait in microtasks: a bus that hands both
// frames over in one synchronous loop gives the runtime the approval before the wait exists, and
// the run waits for ever. Here a broker writes both frames in a single write.
const orders = defineWorkflow<{ orderId: string; approved?: boolean; shipped?: boolean }>({
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
                });
              },
            },
          ],
        },
        { id: "ship", steps: [{ id: "ship", action: () => ({ shipped: true }) }] },
      ],
    },
  },
});

it("an order and its approval arriving in one read: the run started by the order gets the approval", async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const accepted = new Promise<Socket>((resolve) => server.once("connection", resolve));
  const bus = await createTcpEventBus({ port: (server.address() as { port: number }).port });
  const client = await accepted;
  const runtime = new WorkflowRuntime({ bus, storeRegistry: new StoreRegistry() });
  let ended!: (state: unknown) => void;
  const state = new Promise((resolve) => (ended = resolve));
  await runtime.register(orders, { onComplete: (r) => ended(r.ok && r.value.state) });
  const frame = (type: string, payload: object) =>
    `${JSON.stringify({ op: "msg", type, text: JSON.stringify(payload) })}\n`;
  client.write(
    frame("order.placed", { orderId: "o1" }) + frame("order.approved", { orderId: "o1", approved: true }),
  );
  expect(await state).toEqual({ orderId: "o1", approved: true, shipped: true });
  await runtime.stop();
  bus.close();
  client.destroy();
  await new Promise((resolve) => server.close(resolve));
});

it("a foreign line that is not a frame, or a payload that is not JSON, is reported and the next frames still arrive", async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const accepted = new Promise<Socket>((resolve) => server.once("connection", resolve));
  const reported: string[] = [];
  const bus = await createTcpEventBus({
    port: (server.address() as { port: number }).port,
    onError: (_error, type) => reported.push(type),
  });
  const client = await accepted;
  const got: unknown[] = [];
  const arrived = new Promise<void>((resolve) =>
    bus.on("order.placed", (payload) => {
      got.push(payload);
      resolve();
    }),
  );
  client.write(
    `null\n7\n{"op":"msg"}\n${JSON.stringify({ op: "msg", type: "order.placed", text: "{not json" })}\n` +
      `${JSON.stringify({ op: "msg", type: "order.placed", text: JSON.stringify({ orderId: "o2" }) })}\n`,
  );
  await arrived;
  expect(got).toEqual([{ orderId: "o2" }]);
  expect(reported).toEqual([
    "(unparsable frame)",
    "(unparsable frame)",
    "(unparsable frame)",
    "order.placed",
  ]);
  bus.close();
  client.destroy();
  await new Promise((resolve) => server.close(resolve));
});
