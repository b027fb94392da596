// Type tests: never run, type-checked by `pnpm typecheck` (tsc over test/). A `@ts-expect-error`
// marks code that must not compile (an unused one is itself an error, TS2578); the rest must compile.

import type { ArtifactFactoryContext } from "@sluice/artifacts";
import type { RunInfo } from "@sluice/pipeline";
import { expectTypeOf } from "vitest";
import {
  type BatchPayload,
  defineWorkflow,
  type RegisterOptions,
  type ServiceDefinition,
  type TriggerDefinition,
  type Workflow,
  type WorkflowRuntime,
  type WorkflowServiceDefinition,
  type WorkflowServiceScope,
} from "../src/index.js";

type Order = { orderId: string; total: number; approved?: boolean; approvedBy?: string };

const triggers = { placed: { event: "order.placed", pipeline: "fulfil" } };
const pipelines = { fulfil: { stages: [{ id: "s", steps: [{ id: "s", action: () => {} }] }] } };

// --- services: a factory's state is the workflow's -------------------------------------------

defineWorkflow<Order>({
  id: "run-service-state",
  services: [
    {
      id: "run",
      scope: "run",
      factory: async (ctx) => {
        expectTypeOf(ctx.state()).toEqualTypeOf<Readonly<Order>>();
        const orderId: string = ctx.select((s) => s.orderId);
        return ctx.use((d) =>
          d.select((s) => {
            expectTypeOf(s).toEqualTypeOf<Order>();
            return `${orderId}:${s.total}`;
          }),
        );
      },
    },
    {
      id: "transient",
      scope: "transient",
      factory: (ctx) => ctx.use((d) => d.select((s) => s.total + 1)),
    },
  ],
  triggers,
  pipelines,
});

defineWorkflow<Order>({
  id: "run-service-wrong-state",
  services: [
    {
      id: "run",
      scope: "run",
      factory: (ctx) =>
        ctx.use((d) => {
          // @ts-expect-error the state is an Order, not a number
          const total: number = d.select((s) => s);
          // @ts-expect-error Order has no `typo`
          return d.select((s) => s.typo) ?? total;
        }),
    },
  ],
  triggers,
  pipelines,
});

// What compiled before still does: a workflow that names no state type (selectors typed by hand),
// definitions typed on their own (state `any`), global definitions, a scope chosen at run time.
const standalone: WorkflowServiceDefinition<string> = {
  id: "standalone",
  scope: "run",
  factory: (ctx) => ctx.select((s) => String(s.anything)),
};
const global: ServiceDefinition = { id: "global", factory: () => 1 };
declare const perRun: boolean;
declare const configuredScope: WorkflowServiceScope;
defineWorkflow({
  id: "untyped",
  services: [
    {
      id: "user",
      scope: "run",
      factory: (ctx) => ctx.use((d) => d.select((s: { userId: string }) => s.userId)),
    },
  ],
  triggers,
  pipelines,
});
defineWorkflow<Order>({
  id: "compatible",
  services: [
    standalone,
    global,
    { id: "either", scope: perRun ? "run" : "workflow", factory: (ctx) => ctx.key },
    { id: "configured", scope: configuredScope, factory: (ctx) => ctx.runId },
    { id: "annotated", scope: "run", factory: (ctx: ArtifactFactoryContext) => ctx.key },
  ],
  triggers,
  pipelines,
});

// Without type arguments the state is still inferred (here from the trigger's map), and the
// services, patches and hooks are typed by it.
const inferred = defineWorkflow({
  id: "inferred",
  services: [{ id: "upper", scope: "run", factory: (ctx) => ctx.select((s) => s.sku.toUpperCase()) }],
  patches: { restock: (p: { count: number }) => ({ count: p.count }) },
  triggers: {
    added: {
      event: "item.added",
      pipeline: "fulfil",
      map: (p: { sku: string }) => ({ sku: p.sku, count: 0 }),
    },
  },
  pipelines,
});
expectTypeOf(inferred).toEqualTypeOf<Workflow<{ sku: string; count: number }>>();

// --- patches: a mapper returns a patch of the state ------------------------------------------

defineWorkflow<Order>({
  id: "patches",
  patches: {
    approval: (payload: { by: string }) => ({ approved: true, approvedBy: payload.by }),
    untyped: (payload) => payload,
    // @ts-expect-error Order has no `typo`
    typo: () => ({ typo: 1 }),
    // @ts-expect-error `approved` is a boolean
    wrongType: () => ({ approved: "yes" }),
    // @ts-expect-error a patch is an object (the runtime ignores the event otherwise)
    notObject: () => "approved",
  },
  triggers,
  pipelines,
});

// A mapper typed with an interface (no index signature) fits a patch of the state, and any object
// still fits a workflow that names no state type.
interface ApprovalPatch {
  approved: boolean;
}
const approvalPatch = (payload: { ok: boolean }): ApprovalPatch => ({ approved: payload.ok });
defineWorkflow<Order>({ id: "interface-patch", patches: { approval: approvalPatch }, triggers, pipelines });
defineWorkflow({
  id: "untyped-patches",
  patches: { approval: approvalPatch, any: (payload: { by: string }) => ({ by: payload.by }) },
  triggers,
  pipelines,
});

// --- hooks: what a hook returns is ignored unless it is a promise ----------------------------

declare const runtime: WorkflowRuntime;
declare const workflow: Workflow<Order>;
const saved = new Map<string, string>();
const results: unknown[] = [];

export async function hooks(): Promise<void> {
  await runtime.register(workflow, {
    onComplete: (result) => results.push(result),
    onPause: (ctx) => saved.set(ctx.runId, ctx.state().orderId),
    onResume: (ctx) => saved.get(ctx.runId),
    onCleanup: (info) => saved.delete(info.runId),
  });
  await runtime.register(workflow, {
    onComplete: async () => {},
    onPause: (ctx) => Promise.resolve(ctx.runId),
    onCleanup: async (info: RunInfo) => saved.delete(info.runId),
  });
}

// onPrepare's return is still merged into the state: only a patch of it (or nothing) is one.
export const prepare: RegisterOptions<Order>[] = [
  { onPrepare: (ctx) => ({ total: ctx.state().total + 1 }) },
  { onPrepare: async (ctx) => ctx.set({ approved: false }) },
  // @ts-expect-error a Map is no patch
  { onPrepare: (ctx) => saved.set(ctx.runId, "") },
  // @ts-expect-error `total` is a number
  { onPrepare: () => ({ total: "1" }) },
];

// A mode's concurrency key reads the workflow's state type.
export const keyedModes: RegisterOptions<Order>[] = [
  { mode: { type: "serialized", key: (input) => input.orderId } },
  {
    mode: {
      type: "transient",
      concurrency: 5,
      key: (input, triggerId) => `${triggerId}:${input.orderId}`,
      keyConcurrency: 2,
    },
  },
  // @ts-expect-error `total` is a number, not a key
  { mode: { type: "serialized", key: (input) => input.total } },
  // @ts-expect-error Order has no customerId
  { mode: { type: "transient", concurrency: 5, key: (input) => input.customerId } },
];

// --- result(): how a run ended, never paused ---------------------------------------------------

export async function resultTypes(runtime: WorkflowRuntime): Promise<void> {
  const ended = await runtime.result<Order>("r1");
  if (ended.ok) {
    expectTypeOf(ended.value.status).toEqualTypeOf<"completed" | "aborted">();
    expectTypeOf(ended.value.state).toEqualTypeOf<Order>();
  } else {
    expectTypeOf(ended.error.code).toBeString();
    // a failed run's state, typed by the workflow's state type, for compensation
    expectTypeOf(ended.metadata.state).toEqualTypeOf<Order | undefined>();
  }
  const invoked = await runtime.invoke<Order>("orders", "placed", { total: 1, approved: false });
  if (!invoked.ok) expectTypeOf(invoked.metadata.state).toEqualTypeOf<Order | undefined>();
  // usable wherever a RunResult is (what invoke and onComplete give)
  const asRunResult: Awaited<ReturnType<WorkflowRuntime["invoke"]>> = ended;
  void asRunResult;
}

// --- a batched trigger: its payload is a batch, its batch.key reads one event ------------------

const batched: TriggerDefinition<BatchPayload<Order>, { total: number }> = {
  event: "order.placed",
  pipeline: "fulfil",
  batch: {
    maxSize: 100,
    timeoutMs: 1000,
    key: (order) => {
      expectTypeOf(order).toEqualTypeOf<Order>();
      return order.orderId;
    },
  },
  map: (batch) => {
    expectTypeOf(batch.events).toEqualTypeOf<Order[]>();
    return { total: batch.events.reduce((sum, order) => sum + order.total, 0) };
  },
};
void batched;

// a trigger whose payload type is not a batch takes no batch: its map would be typed to read one
// event and get { events } instead
const notABatch: TriggerDefinition<Order, { total: number }> = {
  event: "order.placed",
  pipeline: "fulfil",
  // @ts-expect-error batch needs the payload typed as a BatchPayload
  batch: { maxSize: 100, timeoutMs: 1000 },
  map: (order) => ({ total: order.total }),
};
void notABatch;

// an untyped payload (any, unknown) still takes one
const untyped: TriggerDefinition = {
  event: "e",
  pipeline: "p",
  batch: { maxSize: 2, timeoutMs: 10, key: (p) => p.id },
};
const unknownPayload: TriggerDefinition<unknown> = {
  event: "e",
  pipeline: "p",
  batch: {
    maxSize: 2,
    timeoutMs: 10,
    key: (p) => {
      expectTypeOf(p).toEqualTypeOf<unknown>();
      return String(p);
    },
  },
};
void untyped;
void unknownPayload;
