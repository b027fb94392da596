import { afterEach, describe, expect, it } from "vitest";
import type { DispatchResult, ExecutionMode, Workflow } from "../src/index.js";
import { type Harness, harness } from "./helpers.js";

// One bus event firing the triggers of several workflows, while one of them is deregistered by a
// hook that the same event runs.

function recorded(id: string) {
  const started: string[] = [];
  const workflow: Workflow = {
    id,
    triggers: { go: { event: "job", pipeline: "main" } },
    pipelines: {
      main: {
        stages: [
          { id: "s", steps: [{ id: "x", action: (ctx) => void started.push(ctx.state().id as string) }] },
        ],
      },
    },
  };
  return { workflow, started };
}

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

describe("a workflow deregistered while an event is being delivered", () => {
  const modes: ExecutionMode[] = [
    { type: "transient", concurrency: 2 },
    { type: "serialized" },
    { type: "singleton_loop", onBusy: "drop" },
    { type: "exclusive", onBusy: "reject" },
  ];
  for (const mode of modes) {
    it(`${mode.type}: gets no run from that event (reported dropped)`, async () => {
      h = await harness();
      const first = recorded("first");
      const second = recorded("second");
      const secondDispatched: DispatchResult[] = [];
      let deregistering: Promise<boolean> | undefined;
      // both fire on "job"; the first one's onDispatch deregisters the second, next in line
      await h.runtime.register(first.workflow, {
        mode,
        onDispatch: () => {
          deregistering ??= h.runtime.deregister("second");
        },
      });
      await h.runtime.register(second.workflow, { mode, onDispatch: (r) => secondDispatched.push(r) });
      h.bus.emit("job", { id: "x" });
      expect(await deregistering).toBe(true);
      expect(secondDispatched).toEqual([
        expect.objectContaining({ outcome: "dropped", reason: expect.stringContaining("deregistered") }),
      ]);
      await expect.poll(() => first.started).toEqual(["x"]);
      expect(second.started).toEqual([]);
    });
  }

  it("a workflow deregistering itself from onDispatch does not keep the event from the workflows after it", async () => {
    h = await harness();
    const leaving = recorded("leaving");
    const staying = recorded("staying");
    let deregistering: Promise<boolean> | undefined;
    await h.runtime.register(leaving.workflow, {
      onDispatch: () => {
        deregistering ??= h.runtime.deregister("leaving");
      },
    });
    await h.runtime.register(staying.workflow);
    h.bus.emit("job", { id: "x" });
    await deregistering;
    await expect.poll(() => staying.started).toEqual(["x"]);
    h.bus.emit("job", { id: "y" });
    await expect.poll(() => staying.started).toEqual(["x", "y"]);
    expect(h.runtime.listWorkflows()).toEqual(["staying"]);
  });
});
