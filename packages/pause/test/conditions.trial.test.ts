import { describe, expect, it } from "vitest";
import {
  matchesConditions,
  matchPauseRequest,
  type PauseRequestData,
  PauseService,
  type PauseSink,
  readPath,
  readPauseRequest,
} from "../src/index.js";

class Sink implements PauseSink {
  requests: PauseRequestData[] = [];
  requestPause(r: PauseRequestData): void {
    this.requests.push(r);
  }
  withdrawPause(p: (r: PauseRequestData) => boolean): void {
    this.requests = this.requests.filter((r) => !p(r));
  }
}
const service = () => {
  const sink = new Sink();
  let n = 0;
  return { sink, pause: new PauseService(sink, { now: () => 1, createId: () => `w${++n}` }) };
};
const m = (payload: unknown, path: string, op: any, value?: unknown) =>
  matchesConditions(payload, op === "exists" ? [{ path, op }] : [{ path, op, value }]);

describe("condition edge cases", () => {
  it("null, undefined and missing, per operator", () => {
    for (const payload of [{}, { a: undefined }, null, undefined, 3, "s"]) {
      expect(m(payload, "a", "==", null)).toBe(false);
      expect(m(payload, "a", "!=", null)).toBe(true);
      expect(m(payload, "a", "exists")).toBe(false);
      expect(m(payload, "a", ">", 0)).toBe(false);
    }
    expect(m({ a: null }, "a", "==", null)).toBe(true);
    expect(m({ a: null }, "a", "exists")).toBe(true);
    expect(m({ a: null }, "a", "!=", null)).toBe(false);
    expect(m({ a: null }, "a", "<=", 0)).toBe(false);
  });

  it("arrays, dotted keys, prototypes, getters and proxies", () => {
    expect(m({ items: [{ id: "x" }] }, "items.0.id", "==", "x")).toBe(true);
    expect(m({ items: [1, 2] }, "items.length", "==", 2)).toBe(true);
    expect(m({ "a.b": 1 }, "a.b", "exists")).toBe(false);
    expect(m({ a: { b: 1 } }, "a.b", "==", 1)).toBe(true);
    expect(m(Object.create({ a: 1 }), "a", "exists")).toBe(false);
    expect(m({ a: {} }, "a.toString", "exists")).toBe(false);
    let reads = 0;
    const getter = {
      get a() {
        reads++;
        throw new Error("boom");
      },
    };
    expect(m(getter, "a", "!=", 1)).toBe(false);
    const trap = new Proxy(
      {},
      {
        getOwnPropertyDescriptor() {
          throw new Error("trap");
        },
      },
    );
    expect(m({ p: trap }, "p.x", "!=", 1)).toBe(false);
    expect(readPath({ p: trap }, "p.x")).toEqual({ found: false, value: undefined });
    const deep = "a.".repeat(5000) + "a";
    let obj: any = 1;
    for (let i = 0; i < 5001; i++) obj = { a: obj };
    expect(m(obj, deep, "==", 1)).toBe(true);
    expect(reads).toBe(1);
  });

  it("register refuses bad operators and values with INVALID_INPUT naming the field", () => {
    const { pause } = service();
    const bad: [unknown, string][] = [
      [{ path: "a", op: "=", value: 1 }, "registration.conditions[0].op"],
      [{ path: "a", op: "==", value: [1] }, "registration.conditions[0].value"],
      [{ path: "a", op: "==", value: { x: 1 } }, "registration.conditions[0].value"],
      [{ path: "a", op: "==", value: undefined }, "registration.conditions[0].value"],
      [{ path: "a", op: ">", value: true }, "registration.conditions[0].value"],
      [{ path: "a", op: ">", value: null }, "registration.conditions[0].value"],
      [{ path: "", op: "exists" }, "registration.conditions[0].path"],
      [{ path: "a..b", op: "exists" }, "registration.conditions[0].path"],
      [{ path: "a.__proto__", op: "exists" }, "registration.conditions[0].path"],
      [{ path: "constructor.prototype", op: "exists" }, "registration.conditions[0].path"],
      [{ path: "a", op: "exists", value: 1 }, "registration.conditions[0].value"],
    ];
    for (const [condition, path] of bad) {
      let thrown: any;
      try {
        pause.register({ event: "e", conditions: [condition as any] });
      } catch (e) {
        thrown = e;
      }
      expect(thrown, JSON.stringify(condition)).toMatchObject({ code: "INVALID_INPUT" });
      expect(thrown.message, JSON.stringify(condition)).toContain(path);
    }
  });

  it("conditions survive JSON and match identically", () => {
    const { sink, pause } = service();
    pause.register({
      event: "e",
      conditions: [
        { path: "n", op: ">=", value: -0 },
        { path: "s", op: "<", value: "m" },
        { path: "z", op: "!=", value: null },
        { path: "items.1.ok", op: "==", value: true },
        { path: "x", op: "exists" },
      ],
    });
    const live = sink.requests[0]!;
    const back = readPauseRequest(JSON.parse(JSON.stringify(live)), "cp");
    expect(back).toEqual(live);
    const payloads = [
      { n: 0, s: "a", items: [0, { ok: true }], x: null },
      { n: -0, s: "a", z: 1, items: [0, { ok: true }], x: 0 },
      { n: -1, s: "a", items: [0, { ok: true }], x: 0 },
      { n: 0, s: "m", items: [0, { ok: true }], x: 0 },
      { n: 0, s: "a", z: null, items: [0, { ok: true }], x: 0 },
      { n: 0, s: "a", items: [{ ok: true }], x: 0 },
    ];
    for (const p of payloads) expect(matchPauseRequest(back, "e", p)).toBe(matchPauseRequest(live, "e", p));
    expect(payloads.map((p) => matchPauseRequest(back, "e", p))).toEqual([
      true,
      true,
      false,
      false,
      false,
      false,
    ]);
  });
});
