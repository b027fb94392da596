import { afterEach, describe, expect, it } from "vitest";
import type {
  DispatchResult,
  RegisterOptions,
  RunResult,
  TriggerDefinition,
  Workflow,
} from "../src/index.js";
import { type ApprovalState, approval, approvalWorkflow } from "./approval-workflow.js";
import { deferred, type Harness, harness } from "./helpers.js";

/** A stage of a definition, to reach into its steps. */
type StageDefinitionLike = { steps: Array<{ action: unknown }> };

// register() reads the host's definition and options once, into a copy of its own, checks the
// copy and uses only the copy: a getter or Proxy cannot pass the checks with one value and be
// used with another, and the host changing its objects after register() changes nothing.

let h: Harness | undefined;
afterEach(async () => {
  await h?.runtime.stop();
  h = undefined;
});

/** A value that is `first` on its first read and `later` on every read after. */
function flipping<T>(first: T, later: unknown): () => T {
  let reads = 0;
  return () => (reads++ === 0 ? first : (later as T));
}

/** `object` with an enumerable getter `key` that gives `get()`. */
function withGetter<T extends object>(object: T, key: string, get: () => unknown): T {
  return Object.defineProperty(object, key, { get, enumerable: true, configurable: true });
}

/** "w": trigger "go" on `w.go` runs pipeline "p", whose one step returns `{ ran: "p" }`. */
function simple(): Workflow & { triggers: Record<string, TriggerDefinition> } {
  return {
    id: "w",
    triggers: { go: { event: "w.go", pipeline: "p" } },
    pipelines: {
      p: { stages: [{ id: "s", steps: [{ id: "a", action: () => ({ ran: "p" }) }] }] },
      q: { stages: [{ id: "s", steps: [{ id: "a", action: () => ({ ran: "q" }) }] }] },
    },
  };
}

/** Registers `workflow`, collecting what its runs end with and what its triggers dispatch. */
async function register(workflow: Workflow<any>, options: RegisterOptions<any> = {}) {
  h = await harness();
  const completed: RunResult[] = [];
  const dispatched: DispatchResult[] = [];
  await h.runtime.register(workflow, {
    onComplete: (result) => void completed.push(result),
    onDispatch: (result) => void dispatched.push(result),
    ...options,
  });
  return { ...h, completed, dispatched };
}

describe("register() reads the definition once: a value that changes after its first read", () => {
  for (const [name, define] of [
    [
      "workflow.patches (a getter)",
      () => withGetter(approvalWorkflow("approval"), "patches", flipping({ approval }, { approval: 42 })),
    ],
    [
      "a patch mapper (a getter in patches)",
      () => approvalWorkflow("approval", withGetter({}, "approval", flipping(approval, "not a function"))),
    ],
  ] as const) {
    it(`${name}: the run resumes through the mapper that was checked, not what a later read gives`, async () => {
      const n = await register(define() as Workflow<any>);
      const parked = await n.runtime.invoke<ApprovalState>("orders", "placed", { orderId: "o1" });
      expect(parked.ok && parked.value.status).toBe("paused");
      n.bus.emit("order.approved", { orderId: "o1", by: "kim" });
      await expect.poll(() => n.completed.length).toBe(1);
      expect(n.completed[0]!.ok && n.completed[0]!.value.state).toEqual({
        orderId: "o1",
        approved: true,
        approvedBy: "kim",
        shipped: true,
      });
      expect(n.errors).toEqual([]);
    });
  }

  for (const [name, define] of [
    [
      "workflow.triggers (a getter), naming another pipeline later",
      () =>
        withGetter(
          simple(),
          "triggers",
          flipping({ go: { event: "w.go", pipeline: "p" } }, { go: { event: "w.go", pipeline: "missing" } }),
        ),
    ],
    [
      "a trigger's event (a getter)",
      () => {
        const workflow = simple();
        withGetter(workflow.triggers.go!, "event", flipping("w.go", "w.other"));
        return workflow;
      },
    ],
    [
      "a trigger's pipeline (a getter)",
      () => {
        const workflow = simple();
        withGetter(workflow.triggers.go!, "pipeline", flipping("p", "q"));
        return workflow;
      },
    ],
  ] as const) {
    it(`${name}: the trigger fires on the event it was checked with and runs the pipeline it named`, async () => {
      const n = await register(define() as Workflow);
      n.bus.emit("w.go", {});
      n.bus.emit("w.other", {});
      await expect.poll(() => n.completed.length).toBe(1);
      expect(n.dispatched.map((d) => [d.event, d.outcome])).toEqual([["w.go", "started"]]);
      expect(n.completed[0]!.ok && n.completed[0]!.value.state).toEqual({ ran: "p" });
      const invoked = await n.runtime.invoke("w", "go", {});
      expect(invoked.ok && invoked.value.state).toEqual({ ran: "p" });
      expect(n.errors).toEqual([]);
    });
  }

  for (const [name, define] of [
    [
      "a step's action (a getter)",
      () => {
        const workflow = simple();
        const step = (workflow.pipelines.p!.stages[0] as StageDefinitionLike).steps[0]!;
        withGetter(
          step,
          "action",
          flipping(() => ({ ran: "checked" }), "not a function"),
        );
        return workflow;
      },
    ],
    [
      "a pipeline's stages (a getter)",
      () => {
        const workflow = simple();
        withGetter(
          workflow.pipelines.p!,
          "stages",
          flipping(
            [{ id: "s", steps: [{ id: "a", action: () => ({ ran: "checked" }) }] }],
            [{ id: "s", steps: [{ id: "a", action: () => ({ ran: "later" }) }] }],
          ),
        );
        return workflow;
      },
    ],
  ] as const) {
    it(`${name}: the run runs the step that was checked`, async () => {
      const n = await register(define() as Workflow);
      const result = await n.runtime.invoke("w", "go", {});
      expect(result.ok && result.value.state).toEqual({ ran: "checked" });
    });
  }

  it("options.mode's concurrency (a getter): the mode runs with the concurrency that was checked", async () => {
    const gate = deferred();
    const workflow: Workflow = {
      id: "w",
      triggers: { go: { event: "w.go", pipeline: "p" } },
      pipelines: { p: { stages: [{ id: "s", steps: [{ id: "a", action: () => gate.promise }] }] } },
    };
    const mode = withGetter({ type: "transient" as const, concurrency: 0 }, "concurrency", flipping(1, 10));
    const n = await register(workflow, { mode });
    n.bus.emit("w.go", {});
    n.bus.emit("w.go", {});
    expect(n.dispatched.map((d) => d.outcome)).toEqual(["started", "queued"]);
    gate.resolve();
    await expect.poll(() => n.completed.length).toBe(2);
  });
});

describe("register() keeps its own copy: the host changing its objects afterwards changes nothing", () => {
  it("a trigger's when, or a condition in it, replaced after register(): events are still filtered as registered", async () => {
    const workflow = simple();
    const condition = { path: "vip", op: "==" as const, value: true };
    workflow.triggers.go!.when = [condition];
    const n = await register(workflow);
    workflow.triggers.go!.when = [];
    condition.value = false as never;
    n.bus.emit("w.go", { vip: false });
    n.bus.emit("w.go", {});
    n.bus.emit("w.go", { vip: true });
    await expect.poll(() => n.completed.length).toBe(1);
    expect(n.dispatched.map((d) => d.payload)).toEqual([{ vip: true }]);
  });

  it("a trigger's event, pipeline or map replaced after register(): it fires, maps and runs as registered, and deregister() unwires it", async () => {
    const workflow = simple();
    workflow.triggers.go!.map = (payload: any) => ({ mapped: payload.n });
    const n = await register(workflow);
    workflow.triggers.go!.event = "w.other";
    workflow.triggers.go!.pipeline = "q";
    workflow.triggers.go!.map = () => ({ mapped: "later" });
    n.bus.emit("w.other", { n: 0 });
    n.bus.emit("w.go", { n: 1 });
    await expect.poll(() => n.completed.length).toBe(1);
    expect(n.completed[0]!.ok && n.completed[0]!.value.state).toEqual({ mapped: 1, ran: "p" });
    const invoked = await n.runtime.invoke("w", "go", { n: 2 });
    expect(invoked.ok && invoked.value.state).toEqual({ mapped: 2, ran: "p" });
    expect(await n.runtime.deregister("w")).toBe(true);
    n.bus.emit("w.go", { n: 3 });
    expect(n.dispatched.map((d) => d.event)).toEqual(["w.go"]);
    expect(n.errors).toEqual([]);
  });

  it("a hook replaced in the options after register(): the one registered is called", async () => {
    const calls: string[] = [];
    const options: RegisterOptions = {
      onPrepare: () => void calls.push("onPrepare"),
      onComplete: () => void calls.push("onComplete"),
    };
    h = await harness();
    await h.runtime.register(simple(), options);
    options.onPrepare = () => void calls.push("later onPrepare");
    options.onComplete = () => void calls.push("later onComplete");
    options.onDispatch = () => void calls.push("later onDispatch");
    h.bus.emit("w.go", {});
    await expect.poll(() => calls.length).toBe(2);
    expect(calls).toEqual(["onPrepare", "onComplete"]);
  });

  // These three were already safe before register() took its copy (the patch mappers and the
  // triggers went into maps of their own at register(), and a Pipeline compiles its own copy of
  // its steps): kept so that the whole guarantee is pinned down.
  it("a patch mapper replaced, a step action replaced or a trigger added after register(): nothing changes", async () => {
    const workflow = approvalWorkflow("approval", { approval });
    const n = await register(workflow as Workflow<any>);
    workflow.patches!.approval = () => ({ approvedBy: "later" });
    const ship = (workflow.pipelines.fulfil!.stages[1] as StageDefinitionLike).steps[0]!;
    ship.action = () => ({ shipped: "later" });
    workflow.triggers.added = { event: "order.added", pipeline: "fulfil" };
    const parked = await n.runtime.invoke<ApprovalState>("orders", "placed", { orderId: "o1" });
    expect(parked.ok && parked.value.status).toBe("paused");
    n.bus.emit("order.approved", { orderId: "o1", by: "kim" });
    n.bus.emit("order.added", { orderId: "o2" });
    await expect.poll(() => n.completed.length).toBe(1);
    expect(n.completed[0]!.ok && n.completed[0]!.value.state).toEqual({
      orderId: "o1",
      approved: true,
      approvedBy: "kim",
      shipped: true,
    });
    expect((await n.runtime.invoke("orders", "added", {})).ok).toBe(false);
    expect(n.dispatched.map((d) => d.event)).toEqual([]);
  });
});

describe("register() reads the definition once: arrays", () => {
  // Not cases the old code got wrong: they guard the copy, which must not read every index up to
  // an array's length (a sparse array's can be 2 ** 32 - 1 with nothing in it), nor move a hole.
  it("a sparse array with a huge length is refused at its first hole, at once", async () => {
    h = await harness();
    const huge = () => new Array(2 ** 32 - 1);
    const cases: Array<[Workflow, string]> = [
      [{ ...simple(), services: huge() }, "services[0]: must be an object with id and factory"],
      [
        { ...simple(), triggers: { go: { event: "w.go", pipeline: "p", when: huge() } } },
        "triggers.go.when[0]: must be an object { path, op, value? } (got undefined)",
      ],
      [
        { ...simple(), pipelines: { p: { stages: huge() } } },
        'pipelines.p.stages[0]: a stage must be an object with "id" and "steps" (got undefined)',
      ],
    ];
    const started = performance.now();
    for (const [workflow, message] of cases) {
      await expect(h.runtime.register(workflow)).rejects.toMatchObject({
        code: "INVALID_DEFINITION",
        message,
      });
    }
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it("a hole before the elements of an array is refused where it is", async () => {
    const steps = new Array(3);
    steps[2] = { id: "a", action: () => ({}) };
    h = await harness();
    await expect(
      h.runtime.register({ ...simple(), pipelines: { p: { stages: [{ id: "s", steps }] } } }),
    ).rejects.toMatchObject({
      message: expect.stringContaining("pipelines.p.stages[0].steps[0]: a step must be an object"),
    });
  });
});

describe("register() reads the definition once: parts that throw when read", () => {
  for (const [name, define, path] of [
    [
      "a getter on the workflow",
      () =>
        withGetter(simple(), "patches", () => {
          throw new Error("boom");
        }),
      "workflow.patches",
    ],
    [
      "a getter on a trigger",
      () => {
        const workflow = simple();
        withGetter(workflow.triggers.go!, "event", () => {
          throw new Error("boom");
        });
        return workflow;
      },
      "triggers.go.event",
    ],
    [
      "a getter on a step",
      () => {
        const workflow = simple();
        const step = (workflow.pipelines.q!.stages[0] as StageDefinitionLike).steps[0]!;
        withGetter(step, "action", () => {
          throw new Error("boom");
        });
        return workflow;
      },
      "pipelines.q.stages[0].steps[0].action",
    ],
  ] as const) {
    it(`${name} that throws: INVALID_DEFINITION naming it, the thrown error as cause`, async () => {
      h = await harness();
      await expect(h.runtime.register(define() as Workflow)).rejects.toMatchObject({
        code: "INVALID_DEFINITION",
        message: `${path} could not be read: boom`,
        cause: expect.objectContaining({ message: "boom" }),
      });
      expect(h.runtime.hasWorkflow("w")).toBe(false);
    });
  }
});
