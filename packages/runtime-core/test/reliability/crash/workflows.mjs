// Workflow definitions shared by the crash child (which runs them on the built dist) and the
// crash-consistency test (which runs them once in-process to learn the full timeline of each).

const yieldOnce = () => new Promise((resolve) => setImmediate(resolve));

/** Three stages of two steps, a log line per step: 26 timeline events per run. */
export const steady = {
  id: "steady",
  triggers: { go: { event: "steady.go", pipeline: "p" } },
  pipelines: {
    p: {
      stages: ["a", "b", "c"].map((stage) => ({
        id: stage,
        steps: [1, 2].map((n) => ({
          id: `${stage}${n}`,
          action: async (ctx) => {
            await yieldOnce();
            ctx.logger.info(`step ${stage}${n}`, { n: ctx.state().n });
            return { [`${stage}${n}`]: true };
          },
        })),
      })),
    },
  },
};

/** Parks until a `pausing.kick` with its key arrives, then finishes. */
export const pausing = {
  id: "pausing",
  triggers: { go: { event: "pausing.go", pipeline: "p" } },
  pipelines: {
    p: {
      stages: [
        {
          id: "prepare",
          steps: [{ id: "prep", action: async () => ({ prepared: true }) }],
        },
        {
          id: "wait",
          steps: [
            {
              id: "register",
              action: async (ctx) => {
                const pause = await ctx.use((d) => d.require("__pause_service__"));
                pause.register({
                  event: "pausing.kick",
                  conditions: [{ path: "k", op: "==", value: ctx.state().k }],
                });
              },
            },
          ],
        },
        {
          id: "after",
          steps: [
            {
              id: "finish",
              action: async (ctx) => {
                await yieldOnce();
                ctx.logger.info("finished", { k: ctx.state().k });
                return { finished: true };
              },
            },
          ],
        },
      ],
    },
  },
};

/**
 * "charging": waits for `charging.approved` naming its id, then charges: logs "charging", then
 * waits for `charged` (a promise that never settles makes the process "crash" mid-charge).
 */
export function charging(charged) {
  return {
    id: "charging",
    triggers: { go: { event: "charging.go", pipeline: "p" } },
    pipelines: {
      p: {
        stages: [
          {
            id: "approval",
            steps: [
              {
                id: "ask",
                action: async (ctx) => {
                  const pause = await ctx.use((d) => d.require("__pause_service__"));
                  pause.register({
                    event: "charging.approved",
                    conditions: [{ path: "id", op: "==", value: ctx.state().id }],
                  });
                },
              },
            ],
          },
          {
            id: "charge",
            steps: [
              {
                id: "charge",
                action: async (ctx) => {
                  ctx.logger.info(`charging (pid ${process.pid})`);
                  await charged;
                  return { charged: true };
                },
              },
            ],
          },
        ],
      },
    },
  };
}
