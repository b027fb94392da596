import { SystemError } from "@sluice/errors";
import { describe, expect, it } from "vitest";
import { Pipeline, validatePipeline } from "../src/index.js";

const action = () => undefined;

function errorOf(definition: unknown, path = "pipelines.fulfil"): SystemError {
  try {
    validatePipeline(definition, path);
  } catch (e) {
    expect(SystemError.is(e, "INVALID_DEFINITION")).toBe(true);
    return e as SystemError;
  }
  throw new Error("expected validatePipeline to throw");
}

function messageOf(definition: unknown, path = "pipelines.fulfil"): string {
  try {
    validatePipeline(definition, path);
  } catch (e) {
    expect(SystemError.is(e, "INVALID_DEFINITION")).toBe(true);
    return (e as SystemError).message;
  }
  throw new Error("expected validatePipeline to throw");
}

describe("validatePipeline", () => {
  it("accepts a well-formed definition", () => {
    expect(() =>
      validatePipeline(
        {
          stages: [
            {
              id: "a",
              steps: [{ id: "x", action, retry: { attempts: 3, backoffMs: 0, factor: 1, maxBackoffMs: 10 } }],
            },
            { id: "b", concurrent: true, steps: [{ id: "y", action, timeoutMs: 5, when: () => true }] },
          ],
        },
        "pipelines.fulfil",
      ),
    ).not.toThrow();
  });

  it.each([
    [
      null,
      'pipelines.fulfil: a pipeline must be an object with a "stages" array (got null)',
      "pipelines.fulfil",
    ],
    [
      {},
      "pipelines.fulfil.stages: must be a non-empty array of stages (got undefined)",
      "pipelines.fulfil.stages",
    ],
    [
      { stages: [] },
      "pipelines.fulfil.stages: must be a non-empty array of stages (got an array of 0 items)",
      "pipelines.fulfil.stages",
    ],
    [
      { stages: ["x"] },
      'pipelines.fulfil.stages[0]: a stage must be an object with "id" and "steps" (got "x")',
      "pipelines.fulfil.stages[0]",
    ],
    [
      { stages: [{ steps: [{ id: "x", action }] }] },
      'pipelines.fulfil.stages[0]: "id" must be a non-empty string',
      "pipelines.fulfil.stages[0].id",
    ],
    [
      { stages: [{ id: "a", steps: [] }] },
      'pipelines.fulfil.stages[0]: "steps" must be a non-empty array of steps (got an array of 0 items)',
      "pipelines.fulfil.stages[0].steps",
    ],
    [
      {
        stages: [
          { id: "a", steps: [{ id: "x", action }] },
          { id: "a", steps: [{ id: "y", action }] },
        ],
      },
      'pipelines.fulfil.stages[1]: duplicate stage id "a" (already used at pipelines.fulfil.stages[0]); stage ids must be unique',
      "pipelines.fulfil.stages[1].id",
    ],
    [
      {
        stages: [
          { id: "a", steps: [{ id: "x", action }] },
          { id: "b", steps: [{ id: "x", action }] },
        ],
      },
      'pipelines.fulfil.stages[1].steps[0]: duplicate step id "x" (already used at pipelines.fulfil.stages[0].steps[0]); step ids must be unique in a pipeline',
      "pipelines.fulfil.stages[1].steps[0].id",
    ],
    [
      {
        stages: [
          { id: "a", steps: [{ id: "x", action }] },
          { id: "b", steps: [{ id: "y" }] },
        ],
      },
      'pipelines.fulfil.stages[1].steps[0]: "action" must be a function (got undefined)',
      "pipelines.fulfil.stages[1].steps[0].action",
    ],
    [
      { stages: [{ id: "a", steps: [{ id: "", action }] }] },
      'pipelines.fulfil.stages[0].steps[0]: "id" must be a non-empty string',
      "pipelines.fulfil.stages[0].steps[0].id",
    ],
    [
      { stages: [{ id: "a", concurrent: "yes", steps: [{ id: "x", action }] }] },
      'pipelines.fulfil.stages[0]: "concurrent" must be a boolean (got "yes")',
      "pipelines.fulfil.stages[0].concurrent",
    ],
    [
      { stages: [{ id: "a", steps: [{ id: "x", action: { run: action } }] }] },
      'pipelines.fulfil.stages[0].steps[0]: "action" must be a function (got an object)',
      "pipelines.fulfil.stages[0].steps[0].action",
    ],
    [
      { stages: [{ id: "a", steps: [{ id: "x", action, retry: () => 3 }] }] },
      'pipelines.fulfil.stages[0].steps[0]: "retry" must be an object like { attempts: 3 } (got a function)',
      "pipelines.fulfil.stages[0].steps[0].retry",
    ],
    [
      { stages: [{ id: "a", steps: [{ id: "x", action, when: true }] }] },
      'pipelines.fulfil.stages[0].steps[0]: "when" must be a function returning a boolean (got true)',
      "pipelines.fulfil.stages[0].steps[0].when",
    ],
    [
      { stages: [{ id: "a", steps: [{ id: "x", action, timeoutMs: 0 }] }] },
      'pipelines.fulfil.stages[0].steps[0]: "timeoutMs" must be a finite number > 0 (got 0)',
      "pipelines.fulfil.stages[0].steps[0].timeoutMs",
    ],
    [
      { stages: [{ id: "a", steps: [{ id: "x", action, timeoutMs: "5" }] }] },
      'pipelines.fulfil.stages[0].steps[0]: "timeoutMs" must be a finite number > 0 (got "5")',
      "pipelines.fulfil.stages[0].steps[0].timeoutMs",
    ],
    [
      { stages: [{ id: "a", steps: [{ id: "x", action, retry: 3 }] }] },
      'pipelines.fulfil.stages[0].steps[0]: "retry" must be an object like { attempts: 3 } (got 3)',
      "pipelines.fulfil.stages[0].steps[0].retry",
    ],
    [
      { stages: [{ id: "a", steps: [{ id: "x", action, retry: { attempts: 0 } }] }] },
      'pipelines.fulfil.stages[0].steps[0].retry: "attempts" must be an integer ≥ 1 (got 0)',
      "pipelines.fulfil.stages[0].steps[0].retry.attempts",
    ],
    [
      { stages: [{ id: "a", steps: [{ id: "x", action, retry: { attempts: 1.5 } }] }] },
      'pipelines.fulfil.stages[0].steps[0].retry: "attempts" must be an integer ≥ 1 (got 1.5)',
      "pipelines.fulfil.stages[0].steps[0].retry.attempts",
    ],
    [
      { stages: [{ id: "a", steps: [{ id: "x", action, retry: { attempts: 2, backoffMs: -1 } }] }] },
      'pipelines.fulfil.stages[0].steps[0].retry: "backoffMs" must be a finite number ≥ 0 (got -1)',
      "pipelines.fulfil.stages[0].steps[0].retry.backoffMs",
    ],
    [
      { stages: [{ id: "a", steps: [{ id: "x", action, retry: { attempts: 2, factor: 0.5 } }] }] },
      'pipelines.fulfil.stages[0].steps[0].retry: "factor" must be a finite number ≥ 1 (got 0.5)',
      "pipelines.fulfil.stages[0].steps[0].retry.factor",
    ],
    [
      {
        stages: [{ id: "a", steps: [{ id: "x", action, retry: { attempts: 2, maxBackoffMs: Number.NaN } }] }],
      },
      'pipelines.fulfil.stages[0].steps[0].retry: "maxBackoffMs" must be a finite number ≥ 0 (got NaN)',
      "pipelines.fulfil.stages[0].steps[0].retry.maxBackoffMs",
    ],
    [
      {
        stages: [
          { id: "a", steps: [{ id: "x", action, retry: { attempts: 2, factor: Number.POSITIVE_INFINITY } }] },
        ],
      },
      'pipelines.fulfil.stages[0].steps[0].retry: "factor" must be a finite number ≥ 1 (got Infinity)',
      "pipelines.fulfil.stages[0].steps[0].retry.factor",
    ],
    [
      { stages: [{ id: "a", steps: [{ id: "x", action, timeoutMs: Number.NEGATIVE_INFINITY }] }] },
      'pipelines.fulfil.stages[0].steps[0]: "timeoutMs" must be a finite number > 0 (got -Infinity)',
      "pipelines.fulfil.stages[0].steps[0].timeoutMs",
    ],
    [
      { stages: [{ id: "a", steps: [{ id: "x", action, timeoutMs: 30 * 24 * 3_600_000 }] }] },
      'pipelines.fulfil.stages[0].steps[0]: "timeoutMs" must be at most 2147483647 ms (about 24.8 days, the longest timer setTimeout supports) (got 2592000000)',
      "pipelines.fulfil.stages[0].steps[0].timeoutMs",
    ],
    [
      { stages: [{ id: "a", steps: [{ id: "x", action, retry: { attempts: 2, backoffMs: 2 ** 31 } }] }] },
      'pipelines.fulfil.stages[0].steps[0].retry: "backoffMs" must be at most 2147483647 ms (about 24.8 days, the longest timer setTimeout supports) (got 2147483648)',
      "pipelines.fulfil.stages[0].steps[0].retry.backoffMs",
    ],
    [
      { stages: [{ id: "a", steps: [{ id: "x", action, retry: { attempts: 2, maxBackoffMs: 1e12 } }] }] },
      'pipelines.fulfil.stages[0].steps[0].retry: "maxBackoffMs" must be at most 2147483647 ms (about 24.8 days, the longest timer setTimeout supports) (got 1000000000000)',
      "pipelines.fulfil.stages[0].steps[0].retry.maxBackoffMs",
    ],
  ])(
    "rejects %j with a message naming the path, details.path the offending field's",
    (definition, message, path) => {
      const error = errorOf(definition);
      expect(error.message).toBe(message);
      expect(error.details).toEqual({ path });
    },
  );

  it("accepts timer values up to 2147483647 ms, the longest timer setTimeout supports", () => {
    const max = 2_147_483_647;
    expect(() =>
      validatePipeline(
        {
          stages: [
            {
              id: "a",
              steps: [
                {
                  id: "x",
                  action,
                  timeoutMs: max,
                  retry: { attempts: 2, backoffMs: max, maxBackoffMs: max },
                },
              ],
            },
          ],
        },
        "pipelines.fulfil",
      ),
    ).not.toThrow();
  });

  it("reads own properties only, so inherited fields do not count", () => {
    const inherited = Object.create({ action });
    inherited.id = "x";
    expect(messageOf({ stages: [{ id: "a", steps: [inherited] }] })).toBe(
      'pipelines.fulfil.stages[0].steps[0]: "action" must be a function (got undefined)',
    );
  });

  it.each([
    [{ stages: [{ id: "a", steps: [{ id: "x", action }] }], stage: [] }, "pipelines.fulfil.stage", "stages"],
    [
      { stages: [{ id: "a", concurent: true, steps: [{ id: "x", action }] }] },
      "pipelines.fulfil.stages[0].concurent",
      "id, steps, concurrent",
    ],
    [
      { stages: [{ id: "a", steps: [{ id: "x", action, timeoutMS: 5 }] }] },
      "pipelines.fulfil.stages[0].steps[0].timeoutMS",
      "id, action, retry, timeoutMs, when",
    ],
    [
      {
        stages: [
          {
            id: "a",
            steps: [
              { id: "x", action },
              { id: "y", action, retries: 3 },
            ],
          },
        ],
      },
      "pipelines.fulfil.stages[0].steps[1].retries",
      "id, action, retry, timeoutMs, when",
    ],
    [
      { stages: [{ id: "a", steps: [{ id: "x", action, retry: { attempts: 3, backof: 10 } }] }] },
      "pipelines.fulfil.stages[0].steps[0].retry.backof",
      "attempts, backoffMs, factor, maxBackoffMs",
    ],
  ])("refuses an unknown field in %j, naming it and the fields there", (definition, path, options) => {
    let error: unknown;
    try {
      validatePipeline(definition, "pipelines.fulfil");
    } catch (e) {
      error = e;
    }
    expect(SystemError.is(error, "INVALID_DEFINITION")).toBe(true);
    expect((error as SystemError).message).toBe(`${path}: is not an option here (options: ${options})`);
    expect((error as SystemError).details).toEqual({ path });
  });

  it("names an unknown field before the missing one it may be a typo of", () => {
    expect(messageOf({ stages: [{ id: "a", steps: [{ id: "x", acton: action }] }] })).toBe(
      "pipelines.fulfil.stages[0].steps[0].acton: is not an option here (options: id, action, retry, timeoutMs, when)",
    );
  });

  it("is what the Pipeline constructor runs, prefixed pipelines.<id>", () => {
    expect(() => new Pipeline("orders", { stages: [{ id: "s", steps: [{ id: "x" } as never] }] })).toThrow(
      'pipelines.orders.stages[0].steps[0]: "action" must be a function (got undefined)',
    );
    expect(() => new Pipeline("", { stages: [] })).toThrow(/pipeline id must be a non-empty string/);
    expect(
      () =>
        new Pipeline("orders", { stages: [{ id: "s", steps: [{ id: "x", action }] }], label: "x" } as never),
    ).toThrow("pipelines.orders.label: is not an option here (options: stages)");
  });
});
