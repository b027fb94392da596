import { describe, expect, it } from "vitest";
import { Pipeline, type PipelineCheckpoint, PipelineRegistry, type PipelineState } from "../src/index.js";
import { MapDependencies, MemoryState } from "./helpers.js";

const RUN_KEYS = "runId, state, event, dependencies, observer, signal, onObserverError, startedAt";

function pipeline(): Pipeline<PipelineState> {
  return new Pipeline<PipelineState>("fulfil", {
    stages: [
      {
        id: "wait",
        steps: [
          {
            id: "wait",
            action: async (ctx) => {
              await ctx
                .use((d) => d.require<{ register(r: object): void }>("pause"))
                .then((p) => p.register({}));
            },
          },
        ],
      },
      { id: "ship", steps: [{ id: "ship", action: () => ({ shipped: true }) }] },
    ],
  });
}

async function pausedCheckpoint(p: Pipeline<PipelineState>, state: MemoryState<PipelineState>) {
  let run: ReturnType<Pipeline<PipelineState>["start"]> | undefined;
  const dependencies = new MapDependencies<PipelineState>(
    { pause: { register: (request: object) => run?.requestPause({ id: "w", ...request }) } },
    state,
  );
  run = p.start({ runId: "r1", state, dependencies });
  const result = await run.execute();
  if (!result.ok || result.value.status !== "paused") throw new Error("the run did not pause");
  return { checkpoint: result.value.checkpoint as PipelineCheckpoint<PipelineState>, dependencies };
}

describe("unknown keys of the pipeline's options objects", () => {
  it("Pipeline.start refuses a key RunOptions does not have, and takes every one it has", async () => {
    const p = pipeline();
    const state = new MemoryState<PipelineState>({});
    expect(() => p.start({ runId: "r1", state, evnt: {} } as never)).toThrow(
      expect.objectContaining({
        code: "INVALID_INPUT",
        message: `pipeline "fulfil": options.evnt is not an option (options: ${RUN_KEYS})`,
      }),
    );
    const all = {
      runId: "r1",
      state,
      event: {},
      dependencies: new MapDependencies<PipelineState>({}, state),
      observer: { onEvent() {} },
      signal: new AbortController().signal,
      onObserverError: () => {},
      startedAt: Date.now(),
    };
    expect(() => p.start(all)).not.toThrow();
  });

  it("Pipeline.restore refuses a key RestoreOptions does not have, and takes patch and resumedBy", async () => {
    const p = pipeline();
    const state = new MemoryState<PipelineState>({});
    const { checkpoint, dependencies } = await pausedCheckpoint(p, state);
    expect(() => p.restore(checkpoint, { runId: "r1", state, pach: { a: 1 } } as never)).toThrow(
      expect.objectContaining({
        code: "INVALID_INPUT",
        message: `pipeline "fulfil": options.pach is not an option (options: ${RUN_KEYS}, patch, resumedBy)`,
      }),
    );
    const result = await p
      .restore(checkpoint, {
        runId: "r1",
        state,
        dependencies,
        patch: { a: 1 },
        resumedBy: { by: "control" },
      })
      .execute();
    expect(result.ok && result.value.status).toBe("completed");
    expect(state.get()).toMatchObject({ a: 1, shipped: true });
  });

  it("new PipelineRegistry refuses an unknown option and an unknown retention field", () => {
    expect(() => new PipelineRegistry({ workflowId: "wf", retain: {} } as never)).toThrow(
      expect.objectContaining({
        code: "INVALID_INPUT",
        message: "PipelineRegistry: options.retain is not an option (options: workflowId, retention)",
      }),
    );
    expect(() => new PipelineRegistry({ workflowId: "wf", retention: { maxFinishd: 1 } } as never)).toThrow(
      expect.objectContaining({
        code: "INVALID_INPUT",
        message:
          'PipelineRegistry "wf": options.retention.maxFinishd is not an option (options: maxFinished, maxAgeMs)',
      }),
    );
    expect(() => new PipelineRegistry({ workflowId: "wf", retention: 5 } as never)).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT" }),
    );
    expect(
      () => new PipelineRegistry({ workflowId: "wf", retention: { maxFinished: 1, maxAgeMs: 10 } }),
    ).not.toThrow();
  });
});
