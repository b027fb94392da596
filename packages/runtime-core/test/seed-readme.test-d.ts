// Type tests (never run, type-checked by `pnpm typecheck`): the code blocks of the seed README
// (seed/runtime-README.txt) and of SPEC.md, as written there, with only the imports changed as
// docs/migrating-from-asaidimu-runtime.md says. Code written against the seed must compile as it is.
// Two changes the TypeScript compiler itself needs, with any library: a workflow kept in a variable
// before `register()` is annotated `Workflow` (or built with `defineWorkflow`), so that its
// callbacks' parameters are typed and `scope: "run"` stays a literal.
// biome-ignore-all lint/correctness/noUnusedFunctionParameters: the blocks are transcribed as written
// biome-ignore-all lint/correctness/noUnusedVariables: the blocks are transcribed as written

import { createEventBus } from "@sluice/events";
import { StoreRegistry } from "@sluice/store";
import { expectTypeOf } from "vitest";
import {
  type ArtifactFactoryContext,
  defineWorkflow,
  type PipelineRegistry,
  type RunInfo,
  type RunResult,
  type UseDependencyContext,
  type Workflow,
  WorkflowRuntime,
} from "../src/index.js";

declare class ApiClient {}
declare class RequestContext {
  constructor(runId: string | undefined);
}
declare function loadConfig(): { url: string };
declare function fetchProfile(userId: string): Promise<{ name: string }>;
declare const myWorkflow: Workflow;
declare const event: unknown;
declare const patch: Record<string, unknown>;
declare function notifyUi(result: RunResult): void;

export async function quickStartAndRegister() {
  const bus = createEventBus();
  const storeRegistry = new StoreRegistry();

  const runtime = new WorkflowRuntime({ bus, storeRegistry });

  await runtime.register(myWorkflow, {
    mode: { type: "transient", concurrency: 10 },
    onPrepare: async (ctx) => {
      /* set up state */
    },
    onComplete: async (result) => {
      /* handle completion */
    },
  });

  const timelineStore = await WorkflowRuntime.createTestTimelineStore("my-test-db");

  runtime.register(myWorkflow, {
    mode: { type: "transient", concurrency: 10, capacity: 100 },
    onPrepare: async (ctx) => {},
    onComplete: async (result) => {},
    onResume: async (ctx) => {},
    onCleanup: async () => {},
    onDispatch: (result) => {},
  });

  const result = await runtime.invoke("my-workflow", "my-trigger", event);

  if (result.ok) {
    if (result.value.status === "paused") {
      const runId = result.metadata!.runId;
      // Resume later via runtime.resume(runId, patch)
      await runtime.resume(runId, patch);
    }
  }
  return timelineStore;
}

export function globalServices() {
  const bus = createEventBus();
  const storeRegistry = new StoreRegistry();
  new WorkflowRuntime({
    bus,
    storeRegistry,
    services: [
      {
        id: "my-api",
        factory: () => new ApiClient(), // context is available but unused
      },
      {
        id: "my-context",
        factory: (ctx) => new RequestContext(ctx.runId),
        // ctx has state(), use(), select(), onCleanup(), etc.
      },
    ],
  });
}

export const workflowServices: Workflow = {
  id: "my-workflow",
  label: "My Workflow",
  triggers: { t: { event: "e", pipeline: "p" } },
  pipelines: { p: { stages: [{ id: "s", steps: [{ id: "s", action: async () => {} }] }] } },
  services: [
    // workflow-scoped: shared across all runs, no run state access
    { id: "config", scope: "workflow", factory: () => loadConfig() },

    // run-scoped: singleton per run, can access run state
    {
      id: "userProfile",
      scope: "run",
      factory: async (ctx) => {
        const userId = await ctx.use((deps) => deps.select((s: any) => s.userId));
        return fetchProfile(userId);
      },
    },

    // transient: new instance per resolution, can access run state
    { id: "requestId", scope: "transient", factory: () => crypto.randomUUID() },
  ],
};

export async function envAndServiceResolution() {
  const bus = createEventBus();
  const storeRegistry = new StoreRegistry();
  const runtime = new WorkflowRuntime({
    bus,
    storeRegistry,
    env: { DATABASE_URL: "postgres://..." }, // global default
  });

  const workflow: Workflow = {
    id: "my-workflow",
    env: { DATABASE_URL: "postgres://override..." }, // per-workflow override
    triggers: { t: { event: "e", pipeline: "p" } },
    pipelines: {
      p: {
        stages: [
          {
            id: "s",
            steps: [
              {
                id: "env",
                action: async (ctx) => {
                  const env = await ctx.use((deps) => deps.require("__env__"));
                  const dbUrl = env.get("DATABASE_URL"); // workflow env wins, then global
                },
              },
              {
                id: "svc",
                action: async (ctx) => {
                  const svc = await ctx.use((deps) => deps.require("my-api"));
                },
              },
            ],
          },
        ],
      },
    },
  };
  await runtime.register(workflow, {
    // the built-in services are typed in hooks and service factories too
    onPrepare: async (ctx) => void (await ctx.use((d) => d.require("__env__"))).get("REGION"),
  });
}

// SPEC "Defining a workflow" (`loadConfig` as above). seed-readme.trial.test.ts runs it (its
// "config" service is never required there).
export const orders = defineWorkflow({
  id: "orders",
  label: "Orders",
  env: { REGION: "eu" }, // overrides the global env layer
  services: [{ id: "config", scope: "workflow", factory: () => loadConfig() }],
  triggers: {
    placed: { event: "order.placed", pipeline: "fulfil" }, // bus event name -> pipeline id
    vip: {
      event: "order.placed",
      pipeline: "fulfil",
      when: [{ path: "tier", op: "==", value: "vip" }], // optional AND-ed conditions on the payload
    },
  },
  pipelines: {
    fulfil: {
      stages: [
        { id: "validate", steps: [{ id: "check", action: async (ctx) => ({ valid: true }) }] },
        {
          id: "approval",
          steps: [
            {
              id: "wait",
              action: async (ctx) => {
                const pause = await ctx.use((d) => d.require("__pause_service__"));
                pause.register({
                  event: "order.approved",
                  conditions: [{ path: "orderId", op: "==", value: ctx.state().orderId }],
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
                ctx.logger.info("shipping", { orderId: ctx.state().orderId });
                return { shipped: true };
              },
            },
          ],
        },
      ],
    },
  },
});

// docs/migrating-from-asaidimu-runtime.md, "A full before/after": the before code, imports changed
export async function before() {
  const bus = createEventBus();
  const runtime = new WorkflowRuntime({
    bus,
    storeRegistry: new StoreRegistry(),
    timelineStore: await WorkflowRuntime.createTestTimelineStore("dev"),
  });

  await runtime.register(orders, {
    mode: { type: "exclusive", onBusy: "queue_single" },
    onComplete: async (result) => notifyUi(result),
    onCleanup: async () => console.log("done"),
  });

  const result = await runtime.invoke("orders", "placed", { orderId: "o1" });
  if (result.ok && result.value.status === "paused")
    await runtime.resume(result.metadata!.runId, { approved: true });
  runtime.deregister("orders");

  // a result of a run has its ids; a failed call may have made no run
  if (result.ok) expectTypeOf(result.metadata.runId).toEqualTypeOf<string>();
  else expectTypeOf(result.metadata.runId).toEqualTypeOf<string | undefined>();
}

// The types the seed README names (watch and listAllRuns give RunInfo, registry a PipelineRegistry,
// factories an ArtifactFactoryContext, ctx.use a UseDependencyContext) come from the runtime's package.
export function namedTypes(runtime: WorkflowRuntime) {
  expectTypeOf(runtime.watch("w", "r")).toEqualTypeOf<RunInfo | undefined>();
  expectTypeOf(runtime.listAllRuns()).toEqualTypeOf<RunInfo[]>();
  expectTypeOf(runtime.registry("w")).toEqualTypeOf<PipelineRegistry | undefined>();
  const factory = (ctx: ArtifactFactoryContext) => ctx.runId;
  const select = (deps: UseDependencyContext<{ userId: string }>) => deps.select((s) => s.userId);
  return [factory, select];
}
