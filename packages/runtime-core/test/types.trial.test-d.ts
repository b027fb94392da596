// Type trial (never run, type-checked by `pnpm typecheck`): the runtime used as a TypeScript user
// who relies on the compiler uses it, through the package's own name, so through its published
// declaration files (dist/), not src/. A `@ts-expect-error` marks code that must not compile.

import type { ErrorCode, SystemError } from "@sluice/errors";
import { createEventBus, type EventBus } from "@sluice/events";
import {
  ControlEvent,
  type ControlEventMap,
  type DispatchOutcome,
  defineWorkflow,
  type ExecutionMode,
  type PauseService,
  type RegisterOptions,
  type RunInfo,
  type RunResult,
  type ServiceDefinition,
  type TimelineEvent,
  type TimelineQuery,
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
  // the control events take what `signal` and `resume` take: a patch typed with an interface too
  bus.emit(ControlEvent.Signal, { runId: "r1", patch: approval });
  bus.emit(ControlEvent.Resume, { runId: "r1", patch: approval });
  // @ts-expect-error a patch is an object
  bus.emit(ControlEvent.Signal, { runId: "r1", patch: "approved" });
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

// --- what the docs say is refused at registration is refused by the compiler first -------------

type Order = { orderId: string; total: number; tier?: string };
const noop = { fulfil: { stages: [{ id: "s", steps: [{ id: "s", action: () => {} }] }] } };

export const refused = [
  defineWorkflow<Order>({
    id: "when-op",
    // @ts-expect-error `===` is not a condition operator
    triggers: { t: { event: "e", pipeline: "fulfil", when: [{ path: "tier", op: "===", value: "vip" }] } },
    pipelines: noop,
  }),
  defineWorkflow<Order>({
    id: "trigger-key",
    // @ts-expect-error `pipline` is not a trigger field
    triggers: { t: { event: "e", pipline: "fulfil" } },
    pipelines: noop,
  }),
  defineWorkflow<Order>({
    id: "map",
    // @ts-expect-error the map gives no Order
    triggers: { t: { event: "e", pipeline: "fulfil", map: (p: { id: number }) => ({ orderId: p.id }) } },
    pipelines: noop,
  }),
  defineWorkflow<Order>({
    id: "scope-key",
    triggers,
    // @ts-expect-error `scop` is not a service field
    services: [{ id: "x", scop: "run", factory: () => 1 }],
    pipelines: noop,
  }),
  defineWorkflow<Order>({
    id: "env",
    triggers,
    // @ts-expect-error env values are strings
    env: { PORT: 8080 },
    pipelines: noop,
  }),
  defineWorkflow<Order>({
    id: "step",
    triggers,
    pipelines: {
      fulfil: {
        stages: [
          {
            id: "s",
            steps: [
              // @ts-expect-error `timeoutMS` is not a step field
              { id: "a", action: () => {}, timeoutMS: 5 },
              // @ts-expect-error a retry says how many attempts
              { id: "b", action: () => {}, retry: { backoffMs: 10 } },
              // @ts-expect-error a patch of an Order has no `typo`
              { id: "c", action: () => ({ typo: 1 }) },
              // @ts-expect-error `total` is a number
              { id: "d", action: async () => ({ total: "1" }) },
            ],
          },
        ],
      },
    },
  }),
];

export async function refusedOptions(runtime: WorkflowRuntime, workflow: Workflow<Order>): Promise<void> {
  // @ts-expect-error transient needs its concurrency
  await runtime.register(workflow, { mode: { type: "transient" } });
  // @ts-expect-error `drop` is singleton_loop's, not exclusive's
  await runtime.register(workflow, { mode: { type: "exclusive", onBusy: "drop" } });
  // @ts-expect-error serialized runs one at a time: no concurrency
  await runtime.register(workflow, { mode: { type: "serialized", concurrency: 2 } });
  // @ts-expect-error singleton_loop needs onBusy
  await runtime.register(workflow, { mode: { type: "singleton_loop" } });
  // @ts-expect-error `maxFinshed` is not a retention field
  await runtime.register(workflow, { retention: { maxFinshed: 1 } });
  // @ts-expect-error `onComplet` is not a hook
  await runtime.register(workflow, { onComplet: () => {} });
}

// --- what a host reads is typed, never `any` ----------------------------------------------------

export async function readBack(runtime: WorkflowRuntime, workflow: Workflow<Order>): Promise<void> {
  await runtime.register(workflow, {
    onPrepare: (ctx) => {
      expectTypeOf(ctx.state()).toEqualTypeOf<Readonly<Order>>();
    },
    onComplete: (result) => expectTypeOf(result).toEqualTypeOf<RunResult<Order>>(),
    onPause: (ctx) => expectTypeOf(ctx.state().total).toEqualTypeOf<number>(),
    onResume: (ctx) =>
      expectTypeOf(ctx.resumedBy.by).toEqualTypeOf<"event" | "timeout" | "resume" | "control">(),
    onDispatch: (d) => {
      expectTypeOf(d.outcome).toEqualTypeOf<DispatchOutcome>();
      // read without narrowing, as before the union
      expectTypeOf(d.runId).toEqualTypeOf<string | undefined>();
      expectTypeOf(d.reason).toEqualTypeOf<string | undefined>();
      if (d.outcome === "started" || d.outcome === "queued" || d.outcome === "signalled") {
        expectTypeOf(d.runId).toEqualTypeOf<string>();
      } else if (d.outcome === "replaced") {
        expectTypeOf(d.runId).toEqualTypeOf<string>();
        expectTypeOf(d.replacedRunId).toEqualTypeOf<string>();
      } else if (d.outcome === "rejected") {
        expectTypeOf(d.reason).toEqualTypeOf<string>();
        expectTypeOf(d.runId).toEqualTypeOf<undefined>();
      } else {
        expectTypeOf(d.reason).toEqualTypeOf<string>();
        expectTypeOf(d.runId).toEqualTypeOf<string | undefined>();
      }
    },
  });
  const result = await runtime.invoke<Order>("orders", "placed", { orderId: "o1", total: 1 });
  if (result.ok) {
    expectTypeOf(result.value.state).toEqualTypeOf<Order>();
    expectTypeOf(result.metadata.runId).toEqualTypeOf<string>();
  } else {
    // codes are a union: a misspelt one does not compile
    expectTypeOf(result.error.code).toEqualTypeOf<ErrorCode>();
    // @ts-expect-error no such code
    if (result.error.code === "STEP_FAIL") return;
  }
  const info = runtime.watch("orders", "r1");
  if (info !== undefined) expectTypeOf(info.status).not.toBeAny();
  const checkpoint = await runtime.detach("r1");
  expectTypeOf(runtime.adopt(JSON.parse(JSON.stringify(checkpoint)))).toEqualTypeOf<RunInfo>();
  expectTypeOf(await runtime.recover(checkpoint)).toEqualTypeOf<RunInfo>();
  expectTypeOf(await runtime.result<Order>("r1")).not.toBeAny();
  expectTypeOf((await runtime.drain()).paused).toEqualTypeOf<string[]>();
}

// --- adapters written from the interfaces alone -------------------------------------------------

export class ArrayTimelineStore implements TimelineStore {
  private events: TimelineEvent[] = [];
  async append(events: readonly TimelineEvent[]): Promise<void> {
    this.events.push(...events.map((e) => ({ ...e })));
  }
  async query(filter: TimelineQuery = {}): Promise<{ events: TimelineEvent[]; next?: string }> {
    return { events: this.events.filter((e) => filter.runId === undefined || e.runId === filter.runId) };
  }
  async delete(filter: { runId?: string | undefined }): Promise<number> {
    const before = this.events.length;
    this.events = this.events.filter((e) => e.runId !== filter.runId);
    return before - this.events.length;
  }
  async close(): Promise<void> {}
}

export class MapBus implements EventBus {
  private readonly handlers = new Map<string, Set<(...args: any[]) => void>>();
  emit(type: string, payload: unknown): void {
    for (const handler of this.handlers.get(type) ?? []) handler(payload);
    for (const handler of this.handlers.get("*") ?? []) handler(type, payload);
  }
  on(type: string, handler: (...args: any[]) => void): () => void {
    const set = this.handlers.get(type) ?? new Set();
    this.handlers.set(type, set.add(handler));
    return () => void set.delete(handler);
  }
  listenerCount(type?: string): number {
    return type === undefined ? 0 : (this.handlers.get(type)?.size ?? 0);
  }
}
export const onOwnAdapters = new WorkflowRuntime({
  bus: new MapBus(),
  storeRegistry: new StoreRegistry(),
  timelineStore: new ArrayTimelineStore(),
});
