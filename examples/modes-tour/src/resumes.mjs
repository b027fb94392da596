// Pauses and slots: a serialized workflow whose runs ask for an approval, then ship. A parked run
// gives its slot back, so every order asks at once; when the approvals all arrive together, each
// resumed run takes the slot again before it ships, one at a time, and a new order placed meanwhile
// waits behind them (work in progress first).
import { createEventBus } from "@sluice/events";
import { WorkflowRuntime } from "@sluice/runtime-core";
import { StoreRegistry } from "@sluice/store";

const bus = createEventBus();
const runtime = new WorkflowRuntime({ bus, storeRegistry: new StoreRegistry(), env: {} });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let shipping = 0;
let mostAtOnce = 0;
let ended = 0;

await runtime.register(
  {
    id: "orders",
    triggers: { placed: { event: "order.placed", pipeline: "fulfil" } },
    pipelines: {
      fulfil: {
        stages: [
          {
            id: "ask",
            steps: [
              {
                id: "ask",
                action: async (ctx) => {
                  const { order, approval } = ctx.state();
                  if (!approval) {
                    console.log(`  order ${order} starts (no approval needed)`);
                    return;
                  }
                  console.log(`  order ${order} asks for approval and parks (its slot goes back)`);
                  const pause = await ctx.use((d) => d.require("__pause_service__"));
                  pause.register({
                    event: "order.approved",
                    conditions: [{ path: "order", op: "==", value: order }],
                  });
                },
              },
            ],
          },
          {
            id: "ship",
            steps: [
              {
                id: "ship",
                action: async (ctx) => {
                  mostAtOnce = Math.max(mostAtOnce, ++shipping);
                  console.log(`  order ${ctx.state().order} ships`);
                  await sleep(10);
                  shipping--;
                },
              },
            ],
          },
        ],
      },
    },
  },
  { mode: { type: "serialized" }, onComplete: () => void ended++ },
);

console.log('\n== { type: "serialized" }, runs that pause for an approval');
console.log("   parked runs give the slot back; resumed, they take it again one at a time, before new work");
for (const order of [1, 2, 3]) bus.emit("order.placed", { order, approval: true });
await sleep(5);
console.log("  (approvals for 1, 2 and 3 arrive together; order 4 is placed)");
for (const order of [1, 2, 3]) bus.emit("order.approved", { order });
bus.emit("order.placed", { order: 4, approval: false });
while (ended < 4) await sleep(5);
console.log(`  at most ${mostAtOnce} order shipping at once`);
await runtime.stop();
