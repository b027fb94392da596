import { afterEach, describe, expect, it } from "vitest";
import type { RunResult, Workflow } from "../src/index.js";
import { type Harness, harness } from "./helpers.js";

const wf: Workflow = {
  id: "hooks",
  triggers: { go: { event: "hooks.go", pipeline: "main" } },
  pipelines: {
    main: {
      stages: [{ id: "s", steps: [{ id: "x", action: (ctx) => ({ seenPrepared: ctx.state().prepared }) }] }],
    },
  },
};

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

describe("hooks", () => {
  it("runs onPrepare before the first stage, then onComplete, bookkeeping, onCleanup in that order", async () => {
    h = await harness();
    const order: string[] = [];
    let completed: RunResult | undefined;
    await h.runtime.register(wf, {
      onPrepare: (ctx) => {
        order.push(`prepare:${ctx.triggerId}`);
        return { prepared: true };
      },
      onComplete: (result) => {
        completed = result;
        // bookkeeping has not happened yet: the run is still active
        order.push(`complete:${h.runtime.watch("hooks", result.metadata.runId!)?.status}`);
      },
      onCleanup: (info) => {
        order.push(`cleanup:${h.runtime.watch("hooks", info.runId)?.status}`);
      },
    });
    const result = await h.runtime.invoke("hooks", "go", {});
    expect(order).toEqual(["prepare:go", "complete:running", "cleanup:completed"]);
    expect(result.ok && result.value.state).toMatchObject({ prepared: true, seenPrepared: true });
    expect(completed).toBe(result);
  });

  it("never runs a hook inside the host's call: invoke() and bus.emit() return first, even when every step is synchronous", async () => {
    h = await harness();
    const order: string[] = [];
    await h.runtime.register(wf, {
      onComplete: () => void order.push("onComplete"),
      onCleanup: () => void order.push("onCleanup"),
    });
    const done = h.runtime.invoke("hooks", "go", {});
    order.push("invoke returned");
    await done;
    h.bus.emit("hooks.go", {});
    order.push("emit returned");
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(order).toEqual([
      "invoke returned",
      "onComplete",
      "onCleanup",
      "emit returned",
      "onComplete",
      "onCleanup",
    ]);
  });

  it("reports a throwing onComplete/onCleanup without losing the run", async () => {
    h = await harness();
    await h.runtime.register(wf, {
      onComplete: () => {
        throw new Error("ui down");
      },
      onCleanup: async () => {
        throw new Error("cleanup down");
      },
    });
    const result = await h.runtime.invoke("hooks", "go", {});
    expect(result.ok).toBe(true);
    expect(h.errors.map((e) => [e.code, e.message])).toEqual([
      ["HOOK_FAILED", `workflow "hooks": onComplete of run ${result.metadata.runId} threw: ui down`],
      ["HOOK_FAILED", `workflow "hooks": onCleanup of run ${result.metadata.runId} threw: cleanup down`],
    ]);
    expect(h.runtime.watch("hooks", result.metadata.runId!)?.status).toBe("completed");
  });

  it("fails the run with HOOK_FAILED when onPrepare throws, and still calls onComplete and onCleanup", async () => {
    h = await harness();
    const calls: string[] = [];
    await h.runtime.register(wf, {
      onPrepare: () => {
        throw new Error("no db");
      },
      onComplete: () => {
        calls.push("complete");
      },
      onCleanup: () => {
        calls.push("cleanup");
      },
    });
    const result = await h.runtime.invoke("hooks", "go", {});
    expect(!result.ok && result.error.code).toBe("HOOK_FAILED");
    expect(calls).toEqual(["complete", "cleanup"]);
    expect(h.runtime.watch("hooks", result.metadata.runId!)?.status).toBe("failed");
  });

  it("fails the run with HOOK_FAILED when onPrepare throws a value that cannot become text", async () => {
    h = await harness();
    await h.runtime.register(wf, {
      onPrepare: () => {
        throw Object.create(null);
      },
    });
    const result = await h.runtime.invoke("hooks", "go", {});
    const runId = result.metadata.runId!;
    expect(!result.ok && [result.error.code, result.error.message]).toEqual([
      "HOOK_FAILED",
      `workflow "hooks": onPrepare of run ${runId} threw: [object Object]`,
    ]);
    // as every other hook's failure: the run named, in the message and the details
    expect(!result.ok && result.error.details).toEqual({ workflowId: "hooks", runId, hook: "onPrepare" });
  });

  it("fails the run with HOOK_FAILED naming the run when onPrepare returns something else than a plain object", async () => {
    h = await harness();
    await h.runtime.register(wf, { onPrepare: () => new Map() as never });
    const result = await h.runtime.invoke("hooks", "go", {});
    const runId = result.metadata.runId!;
    expect(!result.ok && [result.error.code, result.error.message, result.error.details]).toEqual([
      "HOOK_FAILED",
      `workflow "hooks": onPrepare of run ${runId} must return a plain object patch or nothing`,
      { workflowId: "hooks", runId, hook: "onPrepare" },
    ]);
  });

  it("lets onCleanup deregister the workflow", async () => {
    h = await harness();
    await h.runtime.register(wf, {
      onCleanup: async () => {
        await h.runtime.deregister("hooks");
      },
    });
    const result = await h.runtime.invoke("hooks", "go", {});
    expect(result.ok).toBe(true);
    expect(h.runtime.hasWorkflow("hooks")).toBe(false);
  });

  it("onDispatch reports a throwing hook without breaking dispatch", async () => {
    h = await harness();
    const done: string[] = [];
    await h.runtime.register(wf, {
      onDispatch: () => {
        throw new Error("bad listener");
      },
      onComplete: (r) => {
        done.push(r.metadata.runId!);
      },
    });
    h.bus.emit("hooks.go", {});
    await expect.poll(() => done.length).toBe(1);
    expect(h.errors[0]?.code).toBe("HOOK_FAILED");
  });
});

describe("an onError that throws a value console.error cannot print", () => {
  it("a failing hook is still only reported: the run finishes, its slot and store are released, invoke() resolves", async () => {
    // util.inspect (behind console.error) reads `name` of an Error-like value: this one throws there
    const unprintable = Object.create(Error.prototype, {
      name: {
        get() {
          throw Object.create(null);
        },
      },
    });
    h = await harness({
      onError: () => {
        throw unprintable;
      },
    });
    const results: string[] = [];
    await h.runtime.register(
      { ...wf, id: "faulty" },
      {
        mode: { type: "serialized" },
        onComplete: (r) => {
          results.push(r.ok ? r.value.status : r.error.code);
          throw new Error("onComplete fails");
        },
      },
    );
    const invoked = await h.runtime.invoke("faulty", "go", {});
    expect(invoked.ok && invoked.value.status).toBe("completed");
    h.bus.emit("hooks.go", {});
    h.bus.emit("hooks.go", {});
    await expect.poll(() => results.length).toBe(3);
    await expect
      .poll(() => h.runtime.listAllRuns().map((r) => r.status))
      .toEqual(["completed", "completed", "completed"]);
    expect(h.storeRegistry.size).toBe(0);
  });
});
