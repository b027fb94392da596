import { type Condition, matchesConditions, matchPauseRequest, type PauseService } from "@sluice/pause";
import { afterEach, describe, expect, it } from "vitest";
import { type DispatchResult, defineWorkflow } from "../src/index.js";
import { deferred, type Harness, harness, tick } from "./helpers.js";

// A seeded differential test: whatever the payload and conditions, a parked run resumes on an
// event exactly when `matchPauseRequest` says one of its waits matches (the runtime finds
// candidates through its wait index, keyed by the first `==` value), and a trigger fires exactly
// when `matchesConditions` says its `when` holds.

function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PATHS = ["a", "b", "a.b", "items.0.id", "items.length", "n"];
const EQ_VALUES = [0, 1, 5, "5", "a", "b", "", null, true, false, -1.5];
const ORDER_VALUES = [0, 1, 5, "5", "a", "b", "", -1.5];
const PAYLOAD_VALUES = [...EQ_VALUES, -0, undefined, Number.NaN, [1], { b: 1 }, { b: "5" }, { id: "a" }];
const OPS = ["==", "!=", ">", ">=", "<", "<=", "exists"] as const;

function generator(seed: number) {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const condition = (): Condition => {
    const op = pick(OPS);
    const path = pick(PATHS);
    if (op === "exists") return { path, op };
    return { path, op, value: pick(op === "==" || op === "!=" ? EQ_VALUES : ORDER_VALUES) };
  };
  const conditions = () => Array.from({ length: 1 + Math.floor(r() * 3) }, condition);
  const payload = (): unknown => {
    const p: Record<string, unknown> = {};
    for (const key of ["a", "b", "n"]) if (r() < 0.7) p[key] = pick(PAYLOAD_VALUES);
    if (r() < 0.5)
      p.items = r() < 0.5 ? [] : [r() < 0.5 ? { id: pick(PAYLOAD_VALUES) } : pick(PAYLOAD_VALUES)];
    return p;
  };
  return { r, pick, conditions, payload };
}

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

describe("condition matching: runtime vs matcher (seeded differential)", () => {
  it("parked runs resume exactly on the events matchPauseRequest accepts", async () => {
    h = await harness();
    const plans = new Map<string, { event: string; conditions: Condition[] }[]>();
    const resumed: string[] = [];
    await h.runtime.register(
      defineWorkflow<{ plan: string }>({
        id: "diff",
        triggers: { start: { event: "start", pipeline: "p" } },
        pipelines: {
          p: {
            stages: [
              {
                id: "wait",
                steps: [
                  {
                    id: "register",
                    action: async (ctx) => {
                      const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                      for (const wait of plans.get(ctx.state().plan)!)
                        pause.register({ ...wait, patch: () => ({}) });
                    },
                  },
                ],
              },
              { id: "done", steps: [{ id: "done", action: () => undefined }] },
            ],
          },
        },
      }),
      { mode: { type: "transient", concurrency: 1000 }, onResume: (ctx) => void resumed.push(ctx.runId) },
    );
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const g = generator(seed);
      const runs = new Map<string, { event: string; conditions: Condition[] }[]>();
      for (let i = 0; i < 25; i++) {
        const plan = `${seed}-${i}`;
        const waits = Array.from({ length: 1 + Math.floor(g.r() * 2) }, () => ({
          event: g.r() < 0.85 ? "go" : "other",
          conditions: g.conditions(),
        }));
        plans.set(plan, waits);
        const result = await h.runtime.invoke("diff", "start", { plan });
        expect(result.ok && result.value.status).toBe("paused");
        runs.set(result.metadata.runId!, waits);
      }
      for (let e = 0; e < 12; e++) {
        const payload = g.payload();
        const expected = [...runs]
          .filter(([, waits]) => waits.some((w) => matchPauseRequest({ id: "x", ...w }, "go", payload)))
          .map(([id]) => id)
          .sort();
        resumed.length = 0;
        h.bus.emit("go", payload);
        await expect.poll(() => resumed.length).toBe(expected.length);
        await tick(2);
        expect([...resumed].sort(), `seed ${seed} event ${e}: ${JSON.stringify(payload)}`).toEqual(expected);
        for (const id of expected) runs.delete(id);
      }
      for (const id of runs.keys()) await h.runtime.abort(id);
    }
    expect(h.errors).toEqual([]);
  });

  it("triggers fire exactly on the events matchesConditions accepts for their when", async () => {
    h = await harness();
    const g = generator(42);
    const whens = Array.from({ length: 20 }, () => g.conditions());
    const fired: string[] = [];
    await h.runtime.register(
      defineWorkflow({
        id: "triggers",
        triggers: Object.fromEntries(whens.map((when, i) => [`t${i}`, { event: "go", pipeline: "p", when }])),
        pipelines: { p: { stages: [{ id: "s", steps: [{ id: "s", action: () => undefined }] }] } },
      }),
      { onDispatch: (d: DispatchResult) => void fired.push(d.triggerId) },
    );
    for (let e = 0; e < 200; e++) {
      const payload = g.payload();
      fired.length = 0;
      h.bus.emit("go", payload);
      const expected = whens.flatMap((when, i) => (matchesConditions(payload, when) ? [`t${i}`] : []));
      expect(fired.sort(), JSON.stringify(payload)).toEqual(expected.sort());
    }
  });

  it("an event held while the run was busy is matched and merged as it was emitted, even if the host then reuses its object", async () => {
    h = await harness();
    const gate = deferred();
    await h.runtime.register(
      defineWorkflow<{ orderId?: string; by?: string }>({
        id: "w",
        triggers: { t: { event: "start", pipeline: "p" } },
        pipelines: {
          p: {
            stages: [
              {
                id: "ask",
                steps: [
                  {
                    id: "ask",
                    action: async (ctx) => {
                      const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                      pause.register({
                        event: "approved",
                        conditions: [{ path: "order.id", op: "==", value: "o1" }],
                      });
                      await gate.promise;
                    },
                  },
                ],
              },
              { id: "ship", steps: [{ id: "ship", action: () => undefined }] },
            ],
          },
        },
      }),
    );
    const result = h.runtime.invoke("w", "t", {});
    await tick(5);
    const message = { order: { id: "o1" }, by: "ann" };
    h.bus.emit("approved", message);
    message.order.id = "o2"; // the host reuses its message object for the next one
    message.by = "bob";
    gate.resolve();
    const r = await result;
    expect(r.ok && r.value.status).toBe("completed");
    expect(r.ok && r.value.state).toMatchObject({ order: { id: "o1" }, by: "ann" });
  });
});
