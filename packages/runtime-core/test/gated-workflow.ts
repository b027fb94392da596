import type { DispatchResult, ExecutionMode, RunResult, Workflow } from "../src/index.js";
import type { Harness } from "./helpers.js";

/** A workflow whose single step waits until the test releases it (by event payload id). */
export function gated() {
  const gates = new Map<string, () => void>();
  const started: string[] = [];
  const workflow: Workflow = {
    id: "gated",
    triggers: { go: { event: "job", pipeline: "main" } },
    pipelines: {
      main: {
        stages: [
          {
            id: "work",
            steps: [
              {
                id: "wait",
                action: (ctx) => {
                  const id = ctx.state().id as string;
                  started.push(id);
                  return new Promise<{ result: string }>((resolve, reject) => {
                    gates.set(id, () =>
                      resolve({ result: `done:${ctx.state().id}:${ctx.state().extra ?? ""}` }),
                    );
                    ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason));
                  });
                },
              },
            ],
          },
        ],
      },
    },
  };
  const open = (id: string) => {
    const g = gates.get(id);
    if (!g) throw new Error(`run ${id} has not started`);
    g();
  };
  return { workflow, started, open };
}

/**
 * Registers the gated workflow on `h` in `mode`, recording every dispatch and completed run;
 * `emit(id, extra?)` sends the trigger event for run `id`.
 */
export async function registerGated(h: Harness, mode: ExecutionMode) {
  const g = gated();
  const dispatched: DispatchResult[] = [];
  const completed: RunResult[] = [];
  await h.runtime.register(g.workflow, {
    mode,
    onDispatch: (r) => dispatched.push(r),
    onComplete: (r) => {
      completed.push(r);
    },
  });
  const emit = (id: string, extra?: string) =>
    h.bus.emit("job", extra === undefined ? { id } : { id, extra });
  return { ...g, dispatched, completed, emit };
}
