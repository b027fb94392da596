import { vi } from "vitest";
import type { DispatchResult, RegisterOptions, TriggerDefinition, Workflow } from "../src/index.js";
import { type Harness, harness } from "./helpers.js";

/**
 * A fresh harness (on fake timers, unless `fakeTimers` is false) with workflow `workflowId`, whose
 * one trigger `go` (event "go") has `trigger` merged in and whose one step records the payload's
 * `n` of each run; every `onDispatch` report is kept. For the tests of a trigger's flow controls.
 */
export async function oneTrigger(
  workflowId: string,
  trigger: Partial<TriggerDefinition>,
  options: RegisterOptions = {},
  fakeTimers = true,
) {
  if (fakeTimers) vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
  const h: Harness = await harness();
  const dispatched: DispatchResult[] = [];
  const ran: unknown[] = [];
  const workflow: Workflow = {
    id: workflowId,
    triggers: { go: { event: "go", pipeline: "p", ...trigger } },
    pipelines: {
      p: {
        stages: [{ id: "s", steps: [{ id: "s", action: (ctx) => void ran.push(ctx.state().n) }] }],
      },
    },
  };
  await h.runtime.register(workflow, { onDispatch: (r) => dispatched.push(r), ...options });
  return {
    h,
    dispatched,
    ran,
    /** `[outcome, payload.n]` of each report so far. */
    reports: () => dispatched.map((d) => [d.outcome, (d.payload as { n?: unknown }).n]),
    emit: (payload: object) => h.bus.emit("go", payload),
    later: async (ms: number) => {
      await vi.advanceTimersByTimeAsync(ms);
    },
  };
}
