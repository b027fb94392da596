// Type trial (never run, type-checked by `pnpm typecheck`): the library used as a TypeScript user
// relying on the compiler uses it, through the package's public entry point (its published
// declaration files). A `@ts-expect-error` marks code that must not compile.

import type { SystemError } from "@sluice/errors";
import { createEventBus, type EventBus } from "@sluice/events";
import {
  ControlEvent,
  type ControlEventMap,
  defineWorkflow,
  type ExecutionMode,
  type PauseService,
  type RegisterOptions,
  type RunResult,
  type ServiceDefinition,
  type TimelineStore,
  type Workflow,
  WorkflowRuntime,
} from "@sluice/runtime-core";
import { StoreRegistry } from "@sluice/store";
import { expectTypeOf } from "vitest";

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

// --- options built from optional settings (`exactOptionalPropertyTypes`) -------------------------
// The runtime and the stores take an option set to `undefined` as one left out; under
// `exactOptionalPropertyTypes` the types must say so, or passing a setting that may be absent
// (`{ timelineStore: settings.timelineStore }`) does not compile.

interface Settings {
  timelineStore?: TimelineStore;
  services?: ServiceDefinition[];
  env?: Record<string, string>;
  onError?: (error: SystemError) => void;
  maxBatch?: number;
  hookTimeoutMs?: number;
  onUnknownRun?: "report" | "ignore";
  mode?: ExecutionMode;
  capacity?: number;
  pauseWindowMs?: number;
  maxFinished?: number;
  onComplete?: (result: RunResult) => void;
  drainTimeoutMs?: number;
  runId?: string;
  from?: number;
  limit?: number;
  next?: string;
}
declare const settings: Settings;

export async function fromSettings(): Promise<void> {
  const runtime = new WorkflowRuntime({
    bus: createEventBus(),
    storeRegistry: new StoreRegistry(),
    timelineStore: settings.timelineStore,
    services: settings.services,
    env: settings.env,
    onError: settings.onError,
    timeline: { maxBatch: settings.maxBatch },
    hookTimeoutMs: settings.hookTimeoutMs,
    maxBufferedEventsPerRun: settings.limit,
    controlEvents: { onUnknownRun: settings.onUnknownRun },
  });
  await runtime.register(untyped, {
    mode: settings.mode,
    pauseWindowMs: settings.pauseWindowMs,
    hookTimeoutMs: settings.hookTimeoutMs,
    retention: { maxFinished: settings.maxFinished, maxAgeMs: settings.drainTimeoutMs },
    onComplete: settings.onComplete,
  });
  await runtime.register(untyped, {
    mode: { type: "transient", concurrency: 2, capacity: settings.capacity },
  });
  await runtime.register(untyped, { mode: { type: "serialized", capacity: settings.capacity } });
  await runtime.drain({ timeoutMs: settings.drainTimeoutMs });
  const store = settings.timelineStore;
  if (store === undefined) return;
  await store.query({
    runId: settings.runId,
    from: settings.from,
    limit: settings.limit,
    next: settings.next,
  });
  await store.delete({ runId: settings.runId, before: settings.from });
}

// --- a host's own services, typed by id (docs/services-and-scopes.md#typing-your-own-services) ----

interface TrialConfig {
  region: string;
}
declare module "@sluice/runtime-core" {
  interface BuiltInServices {
    /** A service id no other test uses: this declaration holds for the whole program. */
    "trial.config": TrialConfig;
  }
}

export const typedServices = defineWorkflow<{ region?: string }>({
  id: "typed-services",
  services: [
    {
      id: "label",
      scope: "run",
      factory: async (ctx) => (await ctx.use((d) => d.require("trial.config"))).region.toUpperCase(),
    },
  ],
  triggers,
  pipelines: {
    fulfil: {
      stages: [
        {
          id: "read",
          steps: [
            {
              id: "read",
              action: async (ctx) => {
                const config = await ctx.use((d) => d.require("trial.config"));
                expectTypeOf(config).toEqualTypeOf<TrialConfig>();
                const resolved = await ctx.use((d) => d.resolve("trial.config"));
                if (resolved.ok) expectTypeOf(resolved.value).toEqualTypeOf<TrialConfig>();
                // an id not declared is still `unknown` (or what a type argument says)
                expectTypeOf(await ctx.use((d) => d.require("other"))).toBeUnknown();
                expectTypeOf(await ctx.use((d) => d.require<number>("other"))).toEqualTypeOf<number>();
                return { region: config.region };
              },
            },
          ],
        },
      ],
    },
  },
});

export const typedServiceHooks: RegisterOptions<{ region?: string }> = {
  onPrepare: async (ctx) => ({ region: (await ctx.use((d) => d.require("trial.config"))).region }),
};

// --- workflows of different state types in one list (docs/concepts.md#workflow) ----------------

type Cart = { items: number };
const carts = defineWorkflow<Cart>({
  id: "carts",
  triggers,
  pipelines: {
    fulfil: {
      stages: [{ id: "s", steps: [{ id: "s", action: (ctx) => ({ items: ctx.state().items + 1 }) }] }],
    },
  },
});
export const everyWorkflow: Workflow<any>[] = [untyped, carts, typedServices];
// @ts-expect-error `Workflow` is a workflow of the default state, whose steps take any state: a Cart workflow's do not
export const notAnyState: Workflow[] = [carts];

export async function registerEvery(runtime: WorkflowRuntime): Promise<void> {
  for (const workflow of everyWorkflow) await runtime.register(workflow, { mode: { type: "serialized" } });
}
