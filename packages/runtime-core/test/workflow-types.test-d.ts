// Type tests: never run, type-checked by `pnpm typecheck` (tsc over test/). A `@ts-expect-error`
// marks code that must not compile (an unused one is itself an error, TS2578); the rest must compile.

import type { RunInfo } from "@sluice/pipeline";
import type { RegisterOptions, Workflow, WorkflowRuntime } from "../src/index.js";

type Order = { orderId: string; total: number; approved?: boolean; approvedBy?: string };

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
