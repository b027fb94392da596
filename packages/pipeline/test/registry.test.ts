import { SystemError } from "@sluice/errors";
import { describe, expect, it } from "vitest";
import { PipelineRegistry, type RunInfo } from "../src/index.js";

function info(runId: string, status: RunInfo["status"], at = 1000): RunInfo {
  return {
    runId,
    workflowId: "orders",
    pipelineId: "fulfil",
    triggerId: "placed",
    status,
    startedAt: at,
    updatedAt: at,
  };
}

describe("PipelineRegistry", () => {
  it("stores, looks up, updates, lists and deletes runs", () => {
    const registry = new PipelineRegistry({ workflowId: "orders" });
    registry.set(info("r1", "queued"));
    registry.set(info("r2", "running"));
    expect(registry.size).toBe(2);
    expect(registry.has("r1")).toBe(true);
    expect(registry.get("r1")?.status).toBe("queued");
    const updated = registry.update("r1", { status: "running", stage: "validate", updatedAt: 2000 });
    expect(updated).toMatchObject({ runId: "r1", status: "running", stage: "validate", updatedAt: 2000 });
    expect(registry.update("missing", { status: "failed" })).toBeUndefined();
    expect(registry.list().map((r) => r.runId)).toEqual(["r1", "r2"]);
    expect(registry.delete("r2")).toBe(true);
    expect(registry.delete("r2")).toBe(false);
    expect(registry.get("r2")).toBeUndefined();
    expect(registry.workflowId).toBe("orders");
  });

  it("finds nothing for a run id that is not a string, with finished runs held too", () => {
    const registry = new PipelineRegistry({ workflowId: "orders" });
    registry.set(info("r1", "running"));
    registry.set(info("r2", "completed"));
    for (const bad of [undefined, null, 42, {}]) {
      expect(registry.get(bad as never)).toBeUndefined();
      expect(registry.has(bad as never)).toBe(false);
      expect(registry.delete(bad as never)).toBe(false);
    }
    expect(registry.size).toBe(2);
  });

  it("stamps updatedAt on update unless given, and never lets a patch change runId", () => {
    const registry = new PipelineRegistry({ workflowId: "orders" });
    registry.set(info("r1", "running", 5));
    const before = Date.now();
    const updated = registry.update("r1", { runId: "other", stage: "ship" } as Partial<RunInfo>);
    expect(updated?.runId).toBe("r1");
    expect(updated!.updatedAt).toBeGreaterThanOrEqual(before);
    expect(registry.has("other")).toBe(false);
  });

  it("hands out copies, so callers cannot change what it holds", () => {
    const registry = new PipelineRegistry({ workflowId: "orders" });
    registry.set(info("r1", "running"));
    const copy = registry.get("r1")!;
    copy.status = "failed";
    registry.list()[0]!.status = "aborted";
    expect(registry.get("r1")?.status).toBe("running");
  });

  it("keeps at most maxFinished finished runs, dropping the oldest finished first, never active ones", () => {
    const registry = new PipelineRegistry({ workflowId: "orders", retention: { maxFinished: 2 } });
    registry.set(info("active", "running"));
    registry.set(info("paused", "paused"));
    registry.set(info("queued", "queued"));
    for (const id of ["a", "b", "c", "d"]) {
      registry.set(info(id, "running"));
      registry.update(id, { status: id === "b" ? "failed" : "completed" });
    }
    expect(registry.list().map((r) => r.runId)).toEqual(["active", "paused", "queued", "c", "d"]);
    // a finished run that changes again, its updatedAt the same, keeps its place in the finishing order
    const c = registry.get("c")!;
    registry.update("c", { error: { code: "X", message: "y" }, updatedAt: c.updatedAt });
    registry.set(info("e", "aborted"));
    expect(registry.list().map((r) => r.runId)).toEqual(["active", "paused", "queued", "d", "e"]);
    // one whose updatedAt changes counts as finishing now
    registry.update("d", { stage: "late-note", updatedAt: Date.now() + 10 });
    registry.set(info("f", "aborted"));
    expect(registry.list().map((r) => r.runId)).toEqual(["active", "paused", "queued", "d", "f"]);
  });

  it("drops finished runs older than maxAgeMs on prune(now), and reports how many went", () => {
    const registry = new PipelineRegistry({ workflowId: "orders", retention: { maxAgeMs: 1000 } });
    registry.set(info("old", "completed", 1000));
    registry.set(info("new", "completed", 5000));
    registry.set(info("old-but-running", "running", 1000));
    expect(registry.prune(5500)).toBe(1);
    expect(registry.list().map((r) => r.runId)).toEqual(["new", "old-but-running"]);
    expect(registry.prune(5500)).toBe(0);
  });

  it("prunes by age a finished run expired behind one updated later (it moved to the newest end)", () => {
    const registry = new PipelineRegistry({ workflowId: "orders", retention: { maxAgeMs: 1000 } });
    registry.set(info("a", "completed", 1000));
    registry.set(info("b", "completed", 2000));
    registry.set(info("c", "failed", 3000));
    registry.update("a", { stage: "late-annotation", updatedAt: 9500 });
    expect(registry.prune(10_000)).toBe(2);
    expect(registry.list().map((r) => `${r.runId}@${r.updatedAt}`)).toEqual(["a@9500"]);
  });

  it("prunes by age every expired run, also when runs arrive stamped out of order", () => {
    const registry = new PipelineRegistry({ workflowId: "orders", retention: { maxAgeMs: 1000 } });
    const stamps = [5000, 1000, 7000, 2000, 8000, 9000, 3000, 9500];
    for (const [i, at] of stamps.entries()) registry.set(info(`r${i}`, "completed", at));
    expect(registry.prune(10_000)).toBe(6);
    expect(registry.list().map((r) => r.updatedAt)).toEqual([9000, 9500]);
    // in order again from here on: the walk stops at the first young run
    registry.set(info("late", "completed", 10_000));
    expect(registry.prune(10_800)).toBe(2);
    expect(registry.list().map((r) => r.runId)).toEqual(["late"]);
  });

  it("refuses a status it does not know, naming the ones it does, and leaves the run as it was", () => {
    const registry = new PipelineRegistry({ workflowId: "orders" });
    for (const status of ["bogus", "Completed", undefined]) {
      expect(() => registry.set({ ...info("x", "running"), status } as unknown as RunInfo)).toThrow(
        /"status" must be one of "queued", "running", "paused", "completed", "failed", "aborted"/,
      );
    }
    expect(registry.has("x")).toBe(false);
    registry.set(info("y", "running"));
    let refused: unknown;
    try {
      registry.update("y", { status: "done" as RunInfo["status"] });
    } catch (error) {
      refused = error;
    }
    expect(SystemError.is(refused, "INVALID_INPUT")).toBe(true);
    expect(registry.get("y")?.status).toBe("running");
  });

  it("copies the error it is given, on set and on update", () => {
    const registry = new PipelineRegistry({ workflowId: "orders" });
    const error = { code: "STEP_FAILED", message: "original" };
    registry.set({ ...info("r", "failed"), error });
    error.message = "changed by the caller";
    expect(registry.get("r")?.error).toEqual({ code: "STEP_FAILED", message: "original" });
    const later = { code: "TIMEOUT", message: "later" };
    registry.update("r", { error: later });
    later.message = "changed again";
    expect(registry.get("r")?.error).toEqual({ code: "TIMEOUT", message: "later" });
    expect(() => registry.set({ ...info("s", "failed"), error: null } as unknown as RunInfo)).toThrow(
      /"error" must be an object like \{ code, message \}/,
    );
  });

  it("keeps a run's key through its changes, its finish and a grow of its columns, and refuses a key that is not a non-empty string", () => {
    const registry = new PipelineRegistry({ workflowId: "orders" });
    registry.set({ ...info("r1", "queued"), key: "o1" });
    registry.set(info("r2", "queued"));
    // more runs than the first columns hold: they are copied into bigger ones
    for (let i = 3; i <= 40; i++) registry.set({ ...info(`r${i}`, "running"), key: `o${i}` });
    expect(registry.get("r1")?.key).toBe("o1");
    expect(registry.get("r2")).not.toHaveProperty("key");
    registry.setStatus("r1", "paused", 2000, undefined, "approval");
    expect(registry.get("r1")).toMatchObject({ status: "paused", stage: "approval", key: "o1" });
    registry.setStatus("r1", "completed", 3000);
    expect(registry.get("r1")).toMatchObject({ status: "completed", key: "o1" });
    expect(registry.list().find((r) => r.runId === "r40")?.key).toBe("o40");
    // finished, through the ring's growth and the packing of its holes
    for (let i = 3; i <= 40; i++) registry.setStatus(`r${i}`, "completed", 4000 + i);
    for (let i = 3; i <= 40; i += 2) registry.delete(`r${i}`);
    expect(registry.get("r40")).toMatchObject({ status: "completed", key: "o40" });
    expect(registry.list().filter((r) => r.key !== undefined)).toHaveLength(20);
    // a run set again without a key has none
    registry.set(info("r40", "completed", 5000));
    expect(registry.get("r40")).not.toHaveProperty("key");
    expect(registry.update("r1", { key: "o1b" })?.key).toBe("o1b");
    for (const key of [42, ""]) {
      expect(() => registry.set({ ...info("r41", "queued"), key: key as string })).toThrow(
        `PipelineRegistry "orders" run "r41": "key" must be a non-empty string or left out (got ${JSON.stringify(key)})`,
      );
    }
    expect(registry.has("r41")).toBe(false);
  });

  it("does not grow with the number of runs ever made", () => {
    const registry = new PipelineRegistry({ workflowId: "orders", retention: { maxFinished: 50 } });
    for (let i = 0; i < 20_000; i++) {
      registry.set(info(`r${i}`, "running", i));
      registry.update(`r${i}`, { status: i % 3 === 0 ? "failed" : "completed", updatedAt: i });
    }
    expect(registry.size).toBe(50);
    expect(registry.has("r19999")).toBe(true);
    expect(registry.has("r19949")).toBe(false);
  });

  it("counts a run that finishes, runs again and finishes again once, at its latest finish", () => {
    const registry = new PipelineRegistry({ workflowId: "orders", retention: { maxFinished: 2 } });
    registry.set(info("a", "completed"));
    registry.set(info("b", "completed"));
    registry.update("a", { status: "running" });
    registry.update("a", { status: "completed" });
    registry.set(info("c", "completed"));
    // "b" finished longest ago now; "a" is counted once, as finishing after "b"
    expect(registry.list().map((r) => r.runId)).toEqual(["a", "c"]);
  });

  it("keeps retention exact when finished runs are deleted or replaced", () => {
    const registry = new PipelineRegistry({ workflowId: "orders", retention: { maxFinished: 3 } });
    for (let i = 0; i < 5_000; i++) {
      registry.set(info(`d${i}`, "completed", i));
      registry.delete(`d${i}`);
    }
    expect(registry.size).toBe(0);
    registry.set(info("x", "completed"));
    registry.set(info("x", "failed")); // replaced in place: still one finished run
    registry.set(info("y", "completed"));
    registry.set(info("z", "completed"));
    expect(registry.list().map((r) => r.runId)).toEqual(["x", "y", "z"]);
    registry.set(info("w", "completed"));
    expect(registry.list().map((r) => r.runId)).toEqual(["y", "z", "w"]);
  });

  it("moves runs through setStatus by handle or id, keeping stage and error until they change", () => {
    const registry = new PipelineRegistry({ workflowId: "orders", retention: { maxFinished: 2 } });
    const handle = registry.adopt(info("r1", "queued"));
    const other = registry.adopt(info("r2", "running"));
    expect(registry.setStatus("r1", "running", 1001, undefined, undefined, handle)).toBe(true);
    expect(registry.setStatus("r1", "paused", 1002, undefined, "approval", handle)).toBe(true);
    expect(registry.get("r1")).toEqual({ ...info("r1", "paused"), updatedAt: 1002, stage: "approval" });
    // a stale handle (naming another run) is checked against the id and ignored
    expect(registry.setStatus("r2", "paused", 1003, undefined, "review", handle)).toBe(true);
    expect(registry.get("r2")?.stage).toBe("review");
    expect(registry.get("r1")?.stage).toBe("approval");
    // finishing keeps the stage it paused at, and takes the error
    const error = { code: "ABORTED", message: "stopped" };
    expect(registry.setStatus("r1", "aborted", 1004, error, undefined, handle)).toBe(true);
    expect(registry.get("r1")).toEqual({
      ...info("r1", "aborted"),
      updatedAt: 1004,
      stage: "approval",
      error,
    });
    expect(registry.setStatus("r2", "completed", 1005, undefined, undefined, other)).toBe(true);
    expect(registry.list().map((run) => [run.runId, run.status])).toEqual([
      ["r1", "aborted"],
      ["r2", "completed"],
    ]);
    expect(registry.setStatus("nope", "running", 1006)).toBe(false);
  });

  it("ignores prototype keys in an update patch", () => {
    const registry = new PipelineRegistry({ workflowId: "orders" });
    registry.set(info("a", "running"));
    registry.update("a", JSON.parse('{"__proto__": {"polluted": true}, "stage": "s1"}'));
    const held = registry.get("a") as RunInfo & { polluted?: unknown };
    expect(held.stage).toBe("s1");
    expect(held.polluted).toBeUndefined();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it("uses 1000 finished runs by default", () => {
    const registry = new PipelineRegistry({ workflowId: "orders" });
    for (let i = 0; i < 1500; i++) registry.set(info(`r${i}`, "completed", i));
    expect(registry.size).toBe(1000);
  });

  it("rejects bad options and run ids with INVALID_INPUT", () => {
    expect(() => new PipelineRegistry({ workflowId: "" })).toThrow(/"workflowId" must be a non-empty string/);
    expect(() => new PipelineRegistry({ workflowId: "w", retention: { maxFinished: -1 } })).toThrow(
      /maxFinished/,
    );
    expect(() => new PipelineRegistry({ workflowId: "w", retention: { maxAgeMs: -5 } })).toThrow(/maxAgeMs/);
    const registry = new PipelineRegistry({ workflowId: "w" });
    expect(() => registry.set({ ...info("x", "queued"), runId: "" })).toThrow(
      /"runId" must be a non-empty string/,
    );
  });
});

describe("PipelineRegistry retention at its edges", () => {
  it("refuses a prune time that is not a finite number instead of dropping every finished run", () => {
    const registry = new PipelineRegistry({ workflowId: "w", retention: { maxAgeMs: 60_000 } });
    registry.set(info("done", "completed", 1000));
    registry.set(info("live", "running", 1000));
    for (const now of [Number.NaN, "soon", Number.POSITIVE_INFINITY]) {
      let thrown: unknown;
      try {
        registry.prune(now as number);
      } catch (error) {
        thrown = error;
      }
      expect(SystemError.is(thrown, "INVALID_INPUT"), String(now)).toBe(true);
      expect((thrown as Error).message).toMatch(/prune\(now\): "now" must be a finite number of epoch ms/);
      expect(registry.has("done")).toBe(true);
    }
    expect(registry.prune(1000 + 60_000)).toBe(0);
    expect(registry.prune(1000 + 60_001)).toBe(1);
    expect(registry.list().map((r) => r.runId)).toEqual(["live"]);
  });

  it("keeps no finished run with maxFinished 0, and drops only runs older than now with maxAgeMs 0", () => {
    const none = new PipelineRegistry({ workflowId: "w", retention: { maxFinished: 0 } });
    none.set(info("a", "running"));
    expect(none.update("a", { status: "completed" })?.status).toBe("completed");
    expect(none.size).toBe(0);
    none.set(info("b", "failed"));
    expect(none.has("b")).toBe(false);
    const fresh = new PipelineRegistry({ workflowId: "w", retention: { maxAgeMs: 0 } });
    fresh.set(info("old", "completed", 999));
    fresh.set(info("now", "completed", 1000));
    expect(fresh.prune(1000)).toBe(1);
    expect(fresh.list().map((r) => r.runId)).toEqual(["now"]);
  });
});

describe("PipelineRegistry stamps", () => {
  it("refuses a run whose startedAt or updatedAt is not a finite number (retention by age could not order it)", () => {
    const registry = new PipelineRegistry({ workflowId: "w", retention: { maxAgeMs: 50 } });
    const base = { workflowId: "w", pipelineId: "p", triggerId: "t", status: "completed" as const };
    expect(() => registry.set({ ...base, runId: "a", startedAt: 1, updatedAt: Number.NaN })).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT", message: expect.stringContaining('"updatedAt"') }),
    );
    expect(() => registry.set({ ...base, runId: "b", startedAt: undefined as never, updatedAt: 1 })).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT", message: expect.stringContaining('"startedAt"') }),
    );
    expect(registry.list()).toEqual([]);
  });

  it("prunes by age runs that arrived late, behind younger ones", () => {
    const registry = new PipelineRegistry({ workflowId: "w", retention: { maxAgeMs: 50 } });
    const base = {
      workflowId: "w",
      pipelineId: "p",
      triggerId: "t",
      status: "completed" as const,
      startedAt: 0,
    };
    for (const [runId, updatedAt] of [
      ["a", 100],
      ["b", 5],
      ["c", 120],
      ["d", 30],
      ["e", 130],
    ] as const) {
      registry.set({ ...base, runId, updatedAt });
    }
    registry.prune(125); // cutoff 75: b and d expired, each behind a younger run
    expect(registry.list().map((r) => r.runId)).toEqual(["a", "c", "e"]);
  });
});
