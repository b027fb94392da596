// Type trial (never run, type-checked by `pnpm typecheck`): the library used as a TypeScript user
// relying on the compiler uses it, through the package's public entry point (its published
// declaration files). A `@ts-expect-error` marks code that must not compile.

import { createEventBus, type EventBus } from "@sluice/events";
import {
  ControlEvent,
  type ControlEventMap,
  defineWorkflow,
  type PauseService,
  type RegisterOptions,
  WorkflowRuntime,
} from "@sluice/runtime-core";
import { StoreRegistry } from "@sluice/store";

// --- a value typed with an interface is a patch, whatever the workflow's state type ------------
// An interface has no index signature, so it never fits `Partial<Record<string, unknown>>`: a
// workflow that names no state type (its state is the default `RunState`) must still take one
// wherever a patch goes, as a typed workflow does.

interface Approval {
  approved: boolean;
}
declare function decide(): Approval;
declare const approval: Approval;
const triggers = { placed: { event: "order.placed", pipeline: "fulfil" } };

export const untyped = defineWorkflow({
  id: "untyped",
  triggers,
  pipelines: {
    fulfil: {
      stages: [
        {
          id: "decide",
          steps: [
            { id: "sync", action: () => decide() },
            { id: "async", action: async () => decide() },
            {
              id: "wait",
              action: async (ctx) => {
                const pause: PauseService = await ctx.use((d) => d.require("__pause_service__"));
                pause.register({ event: "order.approved", timeoutMs: 1000, timeoutPatch: approval });
              },
            },
            // @ts-expect-error a patch is an object, in a workflow of no declared state too
            { id: "text", action: () => "approved" },
          ],
        },
      ],
    },
  },
});

export const untypedOptions: RegisterOptions = {
  onPrepare: (ctx) => {
    ctx.set(approval);
    return decide();
  },
};

export async function untypedPatches(runtime: WorkflowRuntime, runId: string): Promise<void> {
  runtime.signal(runId, approval);
  await runtime.resume(runId, approval);
  // @ts-expect-error a patch is an object
  runtime.signal(runId, "approved");
  // @ts-expect-error a patch is an object
  await runtime.resume(runId, 1);
}

// --- a typed bus: its event map may be an interface ----------------------------------------------

interface ShopEvents {
  "order.placed": { orderId: string };
}

export function typedBus(): EventBus<ShopEvents & ControlEventMap> {
  const bus = createEventBus<ShopEvents & ControlEventMap>();
  bus.emit(ControlEvent.Resume, { runId: "r1", patch: { approved: true } });
  new WorkflowRuntime({ bus, storeRegistry: new StoreRegistry() });
  return bus;
}
