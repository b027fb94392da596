// The workflows the runtime benchmark and the profiling loops run, so they measure the same thing.

/** Three stages of one trivial async step each (W1's run). */
export const linear = {
  id: "linear",
  triggers: { go: { event: "linear.go", pipeline: "p" } },
  pipelines: {
    p: {
      stages: [
        { id: "s1", steps: [{ id: "a", action: async () => ({ a: 1 }) }] },
        { id: "s2", steps: [{ id: "b", action: async () => ({ b: 2 }) }] },
        { id: "s3", steps: [{ id: "c", action: async () => ({ c: 3 }) }] },
      ],
    },
  },
};

/** `<id>.go` starts a run that waits for `<id>.answer` whose `key` matches its own, then finishes. */
export function waitingWorkflow(id, key, timeoutMs) {
  return {
    id,
    triggers: { go: { event: `${id}.go`, pipeline: "p" } },
    pipelines: {
      p: {
        stages: [
          {
            id: "wait",
            steps: [
              {
                id: "w",
                action: async (ctx) => {
                  const pause = await ctx.use((d) => d.require("__pause_service__"));
                  pause.register({
                    event: `${id}.answer`,
                    conditions: [{ path: key, op: "==", value: ctx.state()[key] }],
                    ...(timeoutMs !== undefined && { timeoutMs }),
                  });
                },
              },
            ],
          },
          { id: "after", steps: [{ id: "a", action: async () => ({ done: true }) }] },
        ],
      },
    },
  };
}

/** W3's cycle as the cross-engine bench runs it: a step that waits for `approve` with its own `id`, then two more stages. */
export const pausing = {
  id: "pz",
  triggers: { go: { event: "pz.go", pipeline: "p" } },
  pipelines: {
    p: {
      stages: [
        {
          id: "s1",
          steps: [
            {
              id: "s1",
              action: async (ctx) => {
                const pause = await ctx.use((d) => d.require("__pause_service__"));
                pause.register({
                  event: "approve",
                  conditions: [{ path: "id", op: "==", value: ctx.state().id }],
                });
                return { a: 1 };
              },
            },
          ],
        },
        { id: "s2", steps: [{ id: "s2", action: async () => ({ b: 2 }) }] },
        { id: "s3", steps: [{ id: "s3", action: async () => ({ c: 3 }) }] },
      ],
    },
  },
};
