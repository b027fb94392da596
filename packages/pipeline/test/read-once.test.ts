import { SystemError } from "@sluice/errors";
import { describe, expect, it } from "vitest";
import { Pipeline, type PipelineDefinition, type PipelineState, validatePipeline } from "../src/index.js";
import { MemoryState } from "./helpers.js";

/** An object whose `key` gives `first` on its first read and `later` on every read after it. */
function flipping<T extends object>(
  base: T,
  key: string,
  first: unknown,
  later: unknown,
): T & { reads: number } {
  const target = base as T & { reads: number };
  let reads = 0;
  Object.defineProperty(target, key, {
    enumerable: true,
    get() {
      reads++;
      return reads === 1 ? first : later;
    },
  });
  Object.defineProperty(target, "reads", { get: () => reads, enumerable: false });
  return target;
}

async function run(pipeline: Pipeline<PipelineState>, state = new MemoryState<PipelineState>({})) {
  const result = await pipeline.start({ runId: "r", state }).execute();
  return { result, state: state.value };
}

function thrown(fn: () => unknown): SystemError {
  try {
    fn();
  } catch (error) {
    expect(SystemError.is(error, "INVALID_DEFINITION")).toBe(true);
    return error as SystemError;
  }
  throw new Error("expected it to throw");
}

describe("new Pipeline reads its definition once", () => {
  it("runs the step action it validated, not one a getter gives on a later read", async () => {
    const step = flipping(
      { id: "x" },
      "action",
      () => ({ ran: "validated" }),
      () => ({ ran: "swapped" }),
    );
    const pipeline = new Pipeline("p", { stages: [{ id: "s", steps: [step as never] }] });
    expect(step.reads).toBe(1);
    const { result, state } = await run(pipeline);
    expect(result.ok && result.value.status).toBe("completed");
    expect(state).toEqual({ ran: "validated" });
    expect(step.reads).toBe(1);
  });

  it("runs the steps it validated, not a stage's steps a getter gives on a later read", async () => {
    const stage = flipping(
      { id: "s" },
      "steps",
      [{ id: "x", action: () => ({ ran: "x" }) }],
      // never validated: not a function
      [{ id: "y", action: "not a function" }],
    );
    const pipeline = new Pipeline("p", { stages: [stage as never] });
    expect(stage.reads).toBe(1);
    const { result, state } = await run(pipeline);
    expect(result.ok && result.value.status).toBe("completed");
    expect(state).toEqual({ ran: "x" });
  });

  it("retries as often as the retry it validated says, not a retry a getter gives later", async () => {
    let calls = 0;
    const step = flipping(
      {
        id: "x",
        action: () => {
          calls++;
          throw new Error("no");
        },
      },
      "retry",
      { attempts: 2 },
      { attempts: 5 },
    );
    const pipeline = new Pipeline("p", { stages: [{ id: "s", steps: [step as never] }] });
    const { result } = await run(pipeline);
    expect(result.ok).toBe(false);
    expect(calls).toBe(2);
    expect(step.reads).toBe(1);
  });

  it("uses the retry fields it validated, not what their getters give later", async () => {
    let calls = 0;
    const retry = flipping({}, "attempts", 2, 0);
    const pipeline = new Pipeline("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "x",
              retry: retry as never,
              action: () => {
                calls++;
                throw new Error("no");
              },
            },
          ],
        },
      ],
    });
    await run(pipeline);
    expect(calls).toBe(2);
    expect(retry.reads).toBe(1);
  });

  it("times a step out by the timeoutMs it validated, not one a getter gives later", async () => {
    const step = flipping(
      {
        id: "x",
        action: async () => {
          await new Promise((resolve) => setTimeout(resolve, 30));
          return { done: true };
        },
      },
      "timeoutMs",
      undefined,
      1,
    );
    const pipeline = new Pipeline("p", { stages: [{ id: "s", steps: [step as never] }] });
    const { result, state } = await run(pipeline);
    expect(result.ok && result.value.status).toBe("completed");
    expect(state).toEqual({ done: true });
    expect(step.reads).toBe(1);

    const limited = flipping(
      {
        id: "x",
        action: async () => {
          await new Promise((resolve) => setTimeout(resolve, 30));
          return { done: true };
        },
      },
      "timeoutMs",
      5,
      undefined,
    );
    const timed = await run(new Pipeline("p", { stages: [{ id: "s", steps: [limited as never] }] }));
    expect(!timed.result.ok && timed.result.error.code).toBe("TIMEOUT");
  });

  it("keeps the when and concurrent it validated", async () => {
    const step = flipping({ id: "x", action: () => ({ ran: true }) }, "when", undefined, () => false);
    const stage = flipping({ id: "s", steps: [step] }, "concurrent", false, "yes");
    const pipeline = new Pipeline("p", { stages: [stage as never] });
    const { state } = await run(pipeline);
    expect(state).toEqual({ ran: true });
    expect(step.reads).toBe(1);
    expect(stage.reads).toBe(1);
  });

  it("reads every property of the definition once, through a Proxy, and nothing while running", async () => {
    const reads = new Map<string, number>();
    const counted = <T extends object>(target: T, path: string): T =>
      new Proxy(target, {
        get(t, key, receiver) {
          const value = Reflect.get(t, key, receiver);
          if (typeof key !== "string") return value;
          const at = `${path}.${key}`;
          reads.set(at, (reads.get(at) ?? 0) + 1);
          return typeof value === "object" && value !== null ? counted(value, at) : value;
        },
      });
    const definition: PipelineDefinition = {
      stages: [
        {
          id: "a",
          steps: [
            { id: "x", action: () => ({ x: 1 }), retry: { attempts: 2, backoffMs: 0 }, timeoutMs: 1000 },
            { id: "y", action: () => ({ y: 1 }), when: () => true },
          ],
        },
        { id: "b", concurrent: true, steps: [{ id: "z", action: () => ({ z: 1 }) }] },
      ],
    };
    const pipeline = new Pipeline("p", counted(definition, "def"));
    expect([...reads.values()].every((n) => n === 1)).toBe(true);
    expect(reads.get("def.stages.0.steps.0.retry.attempts")).toBe(1);
    const before = reads.size;
    const { state } = await run(pipeline);
    expect(state).toEqual({ x: 1, y: 1, z: 1 });
    expect(reads.size).toBe(before);
    expect([...reads.values()].every((n) => n === 1)).toBe(true);
  });

  it("compiles what it read before a later getter changed the host's objects", async () => {
    const first = { id: "x", action: () => ({ ran: "x" }) } as { id: string; action: unknown };
    // reading stage b's steps changes stage a's step, after stage a was checked
    const second = flipping({ id: "b" }, "steps", [{ id: "y", action: () => ({}) }], []);
    const stages = [{ id: "a", steps: [first] }, second];
    Object.defineProperty(second, "id", {
      enumerable: true,
      get() {
        first.action = "not a function";
        return "b";
      },
    });
    const pipeline = new Pipeline("p", { stages: stages as never });
    const { result, state } = await run(pipeline);
    expect(result.ok && result.value.status).toBe("completed");
    expect(state).toEqual({ ran: "x" });
  });

  it("does not change when the host edits its definition afterwards", async () => {
    const retry = { attempts: 2 };
    let calls = 0;
    const flaky = {
      id: "flaky",
      retry,
      action: (): object => {
        calls++;
        if (calls === 1) throw new Error("once");
        return { flaky: true };
      },
    } as Record<string, unknown>;
    const steps: Record<string, unknown>[] = [{ id: "x", action: () => ({ x: 1 }) }, flaky];
    const stage = { id: "a", steps } as Record<string, unknown>;
    const stages = [stage];
    const definition = { stages } as unknown as PipelineDefinition;
    const pipeline = new Pipeline("p", definition);

    retry.attempts = 1;
    flaky.timeoutMs = 1;
    flaky.when = () => false;
    steps[0]!.action = () => ({ x: "changed" });
    steps.push({ id: "late", action: () => ({ late: true }) });
    stage.id = "renamed";
    stage.concurrent = true;
    stages.push({ id: "extra", steps: [{ id: "e", action: () => ({ extra: true }) }] });

    expect(pipeline.stageIds).toEqual(["a"]);
    const { result, state } = await run(pipeline);
    expect(result.ok && result.value.status).toBe("completed");
    expect(state).toEqual({ x: 1, flaky: true });
    expect(calls).toBe(2);
  });

  it("names a part whose reading throws, the thrown error as cause", () => {
    const boom = new Error("boom");
    const step = {
      id: "x",
      get action(): never {
        throw boom;
      },
    };
    const error = thrown(() => new Pipeline("p", { stages: [{ id: "s", steps: [step as never] }] }));
    expect(error.message).toBe("pipelines.p.stages[0].steps[0].action could not be read: boom");
    expect(error.details).toEqual({ path: "pipelines.p.stages[0].steps[0].action" });
    expect(error.cause).toBe(boom);

    const stages = new Proxy([{ id: "s", steps: [{ id: "x", action: () => undefined }] }], {
      get(target, key, receiver) {
        if (key === "0") throw new Error("no stage");
        return Reflect.get(target, key, receiver);
      },
    });
    expect(thrown(() => validatePipeline({ stages }, "pipelines.p")).message).toBe(
      "pipelines.p.stages[0] could not be read: no stage",
    );

    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(thrown(() => new Pipeline("p", { stages: [{ id: "s", steps: proxy as never }] })).message).toBe(
      "pipelines.p.stages[0].steps could not be read: Cannot perform 'IsArray' on a proxy that has been revoked",
    );
  });

  it("refuses an unknown field before reading the fields it knows", () => {
    const step = {
      id: "x",
      get action(): never {
        throw new Error("not reached");
      },
      acton: () => undefined,
    };
    expect(thrown(() => new Pipeline("p", { stages: [{ id: "s", steps: [step as never] }] })).message).toBe(
      "pipelines.p.stages[0].steps[0].acton: is not an option here (options: id, action, retry, timeoutMs, when)",
    );
  });

  it("stops reading an array where the checks stop: 2 ** 32 - 1 holes are refused at once", () => {
    const holes = new Array(2 ** 32 - 1);
    expect(thrown(() => new Pipeline("p", { stages: holes })).message).toBe(
      'pipelines.p.stages[0]: a stage must be an object with "id" and "steps" (got undefined)',
    );
    const steps = new Array(2 ** 32 - 1);
    steps[0] = { id: "x", action: () => undefined };
    expect(thrown(() => new Pipeline("p", { stages: [{ id: "s", steps }] })).message).toBe(
      'pipelines.p.stages[0].steps[1]: a step must be an object with "id" and "action" (got undefined)',
    );
  });

  it("keeps own __proto__ keys own (refused as unknown) and reads non-enumerable fields", async () => {
    const parsed = JSON.parse('{ "id": "x", "__proto__": { "action": 1 } }');
    parsed.action = () => undefined;
    expect(thrown(() => new Pipeline("p", { stages: [{ id: "s", steps: [parsed] }] })).message).toBe(
      "pipelines.p.stages[0].steps[0].__proto__: is not an option here (options: id, action, retry, timeoutMs, when)",
    );
    const hidden = { id: "x" };
    Object.defineProperty(hidden, "action", { value: () => ({ hidden: true }), enumerable: false });
    const { state } = await run(new Pipeline("p", { stages: [{ id: "s", steps: [hidden as never] }] }));
    expect(state).toEqual({ hidden: true });
  });
});
