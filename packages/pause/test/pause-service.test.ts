import { SystemError } from "@sluice/errors";
import { describe, expect, it } from "vitest";
import { matchPauseRequest, type PauseRequestData, PauseService, type PauseSink } from "../src/index.js";

/** A real (tiny) sink with the semantics a pipeline run gives it: a list of outstanding requests. */
class RecordingSink implements PauseSink {
  requests: PauseRequestData[] = [];
  requestPause(request: PauseRequestData): void {
    this.requests.push(request);
  }
  withdrawPause(predicate: (request: PauseRequestData) => boolean): void {
    this.requests = this.requests.filter((r) => !predicate(r));
  }
}

const setup = () => {
  const sink = new RecordingSink();
  let n = 0;
  const service = new PauseService(sink, { now: () => 1_000, createId: () => `p${++n}` });
  return { sink, service };
};

const code = (c: string) => expect.objectContaining({ code: c });

describe("PauseService", () => {
  it("sends plain, JSON-safe request data to the sink and keeps the patch mapper locally", () => {
    const { sink, service } = setup();
    const patch = (p: { by: string }) => ({ approvedBy: p.by });
    const handle = service.register({
      event: "order.approved",
      conditions: [{ path: "orderId", op: "==", value: "A1" }],
      patch,
      timeoutMs: 500,
    });
    expect(handle.id).toBe("p1");
    expect(sink.requests).toEqual([
      {
        id: "p1",
        event: "order.approved",
        conditions: [{ path: "orderId", op: "==", value: "A1" }],
        timeoutMs: 500,
        deadline: 1_500,
      },
    ]);
    expect(JSON.parse(JSON.stringify(sink.requests[0]))).toEqual(sink.requests[0]);
    expect(service.pending()).toEqual(sink.requests);
    expect(service.patchMapper("p1")).toBe(patch);
    expect(service.patchMapper("nope")).toBeUndefined();
  });

  it("request(id) is the very request data the sink got for a registration still held", () => {
    const { sink, service } = setup();
    const handle = service.register({ event: "a", id: "approval" });
    expect(service.request(handle.id)).toBe(sink.requests[0]);
    expect(service.request("nope")).toBeUndefined();
    handle.cancel();
    expect(service.request("approval")).toBeUndefined();
    // the same id again: the new registration's, never the withdrawn one's
    service.register({ event: "b", id: "approval" });
    expect(service.request("approval")).toBe(sink.requests[0]);
    expect(service.request("approval")?.event).toBe("b");
    service.release("approval");
    expect(service.request("approval")).toBeUndefined();
  });

  it("copies and freezes the request, so later edits to the registration do not leak in", () => {
    const { sink, service } = setup();
    const conditions = [{ path: "a", op: "==" as const, value: 1 }];
    service.register({ event: "e", conditions });
    conditions[0]!.value = 2;
    conditions.push({ path: "b", op: "==", value: 3 });
    expect(sink.requests[0]!.conditions).toEqual([{ path: "a", op: "==", value: 1 }]);
    expect(Object.isFrozen(sink.requests[0])).toBe(true);
  });

  it("registers a direct-resume wait (no event) with the minimal data", () => {
    const { sink, service } = setup();
    service.register({});
    expect(sink.requests).toEqual([{ id: "p1" }]);
  });

  it("uses a caller-chosen id and rejects a duplicate pending id", () => {
    const { service } = setup();
    service.register({ id: "approval", event: "e" });
    expect(() => service.register({ id: "approval", event: "e" })).toThrowError(code("DUPLICATE_KEY"));
    service.cancel("approval");
    expect(() => service.register({ id: "approval", event: "e" })).not.toThrow();
  });

  it("generates unique ids by default", () => {
    const service = new PauseService(new RecordingSink());
    const ids = new Set(Array.from({ length: 50 }, () => service.register({}).id));
    expect(ids.size).toBe(50);
  });

  it("cancel(id) withdraws one registration from the sink and forgets it", () => {
    const { sink, service } = setup();
    const first = service.register({ event: "a" });
    service.register({ event: "b" });
    first.cancel();
    first.cancel();
    expect(sink.requests.map((r) => r.id)).toEqual(["p2"]);
    expect(service.pending().map((r) => r.id)).toEqual(["p2"]);
    service.cancel("unknown");
    expect(sink.requests).toHaveLength(1);
  });

  it("cancel() withdraws every registration of this service only", () => {
    const sink = new RecordingSink();
    sink.requestPause({ id: "someone-else" });
    const service = new PauseService(sink, {
      createId: (() => {
        let n = 0;
        return () => `p${++n}`;
      })(),
    });
    service.register({ event: "a" });
    service.register({ event: "b" });
    service.cancel();
    expect(service.pending()).toEqual([]);
    expect(sink.requests.map((r) => r.id)).toEqual(["someone-else"]);
  });

  it("a handle cancels only its own registration: once withdrawn or released, never a later one with the same id", () => {
    const { sink, service } = setup();
    // cancelled, then the id registered again: cancelling the old handle twice leaves the new one
    const first = service.register({ event: "a", id: "approval" });
    first.cancel();
    const second = service.register({ event: "b", id: "approval", patch: () => ({ second: true }) });
    first.cancel();
    expect(sink.requests.map((r) => r.event)).toEqual(["b"]);
    expect(service.pending().map((r) => r.event)).toEqual(["b"]);
    expect(service.patchMapper("approval")?.({})).toEqual({ second: true });
    // released as the runtime does once the run paused, then the next stage reuses the id
    service.release();
    sink.requests = [];
    const third = service.register({ event: "c", id: "approval" });
    second.cancel();
    expect(sink.requests.map((r) => r.event)).toEqual(["c"]);
    expect(service.pending().map((r) => r.event)).toEqual(["c"]);
    third.cancel();
    expect(sink.requests).toEqual([]);
    expect(service.pending()).toEqual([]);
  });

  it("release() forgets registrations without withdrawing them", () => {
    const { sink, service } = setup();
    service.register({ event: "a", patch: () => ({}) });
    service.register({ event: "b" });
    service.release("p1");
    expect(service.patchMapper("p1")).toBeUndefined();
    expect(service.pending().map((r) => r.id)).toEqual(["p2"]);
    service.release();
    expect(service.pending()).toEqual([]);
    expect(sink.requests).toHaveLength(2);
  });

  it("keeps nothing when the sink refuses the request", () => {
    const sink: PauseSink = {
      requestPause() {
        throw new SystemError("INVALID_STATE", "run already finished");
      },
      withdrawPause() {},
    };
    const service = new PauseService(sink);
    expect(() => service.register({ event: "a" })).toThrowError(code("INVALID_STATE"));
    expect(service.pending()).toEqual([]);
  });

  it("rejects bad registrations with INVALID_INPUT naming the field", () => {
    const { sink, service } = setup();
    const cases: Array<[unknown, RegExp]> = [
      [null, /registration must be an object/],
      [{ event: "" }, /registration\.event/],
      [{ event: 5 }, /registration\.event/],
      [{ patch: "x" }, /registration\.patch/],
      [{ timeoutMs: 0 }, /registration\.timeoutMs/],
      [{ timeoutMs: -1 }, /registration\.timeoutMs/],
      [{ timeoutMs: Number.POSITIVE_INFINITY }, /registration\.timeoutMs/],
      [{ timeoutMs: "5" }, /registration\.timeoutMs/],
      [{ id: "" }, /registration\.id/],
      [{ conditions: "x" }, /registration\.conditions: must be an array/],
      [{ conditions: [{ path: "a", op: "~" }] }, /registration\.conditions\[0\]\.op/],
      [{ conditions: [{ path: "__proto__.x", op: "exists" }] }, /registration\.conditions\[0\]\.path/],
    ];
    for (const [registration, message] of cases) {
      let error: unknown;
      try {
        service.register(registration as any);
      } catch (e) {
        error = e;
      }
      expect(SystemError.is(error, "INVALID_INPUT"), String(message)).toBe(true);
      expect((error as Error).message).toMatch(message);
    }
    expect(sink.requests).toEqual([]);
    expect(service.pending()).toEqual([]);
  });

  it("rejects a sink without the hook methods", () => {
    expect(() => new PauseService({} as any)).toThrowError(code("INVALID_INPUT"));
  });
});

describe("matchPauseRequest", () => {
  const request: PauseRequestData = {
    id: "p1",
    event: "order.approved",
    conditions: [{ path: "orderId", op: "==", value: "A1" }],
  };

  it("matches the same event whose payload meets the conditions", () => {
    expect(matchPauseRequest(request, "order.approved", { orderId: "A1" })).toBe(true);
    expect(matchPauseRequest(request, "order.approved", { orderId: "B2" })).toBe(false);
    expect(matchPauseRequest(request, "order.rejected", { orderId: "A1" })).toBe(false);
    expect(matchPauseRequest(request, undefined, { orderId: "A1" })).toBe(false);
  });

  it("matches any payload of the event when there are no conditions", () => {
    expect(matchPauseRequest({ id: "p", event: "tick" }, "tick", null)).toBe(true);
  });

  it("a request without event matches only a direct resume", () => {
    const direct: PauseRequestData = { id: "p2" };
    expect(matchPauseRequest(direct, undefined, { any: 1 })).toBe(true);
    expect(matchPauseRequest(direct, "order.approved", {})).toBe(false);
    const guarded: PauseRequestData = { id: "p3", conditions: [{ path: "ok", op: "==", value: true }] };
    expect(matchPauseRequest(guarded, undefined, { ok: true })).toBe(true);
    expect(matchPauseRequest(guarded, undefined, { ok: false })).toBe(false);
  });

  it("works on checkpointed (JSON round-tripped) requests and never throws", () => {
    const restored = JSON.parse(JSON.stringify(request));
    expect(matchPauseRequest(restored, "order.approved", { orderId: "A1" })).toBe(true);
    expect(matchPauseRequest(null as any, "x", {})).toBe(false);
    expect(matchPauseRequest({ id: "p", event: "x", conditions: "bad" } as any, "x", {})).toBe(false);
  });
});

describe("PauseService timeoutPatch", () => {
  it("carries a JSON copy of timeoutPatch in the request data, and requires timeoutMs", () => {
    const requests: PauseRequestData[] = [];
    const service = new PauseService({ requestPause: (r) => void requests.push(r), withdrawPause() {} });
    const patch = { branch: "timeout" };
    service.register({ event: "x", timeoutMs: 10, timeoutPatch: patch });
    patch.branch = "mutated";
    expect(requests[0]?.timeoutPatch).toEqual({ branch: "timeout" });
    expect(() => service.register({ event: "y", timeoutPatch: { a: 1 } })).toThrow(
      /registration.timeoutPatch.*needs timeoutMs/,
    );
    expect(() => service.register({ event: "y", timeoutMs: 5, timeoutPatch: [] as never })).toThrow(
      /plain object/,
    );
  });

  it("sends it frozen all the way down: whoever the request is handed to cannot change what the run times out with", () => {
    const requests: PauseRequestData[] = [];
    const service = new PauseService({ requestPause: (r) => void requests.push(r), withdrawPause() {} });
    service.register({
      event: "x",
      timeoutMs: 10,
      timeoutPatch: { approved: false, review: { by: "nobody", notes: ["late", { why: "timeout" }] } },
    });
    const patch = requests[0]!.timeoutPatch as { review: { notes: [string, { why: string }] } };
    for (const value of [patch, patch.review, patch.review.notes, patch.review.notes[1]]) {
      expect(Object.isFrozen(value)).toBe(true);
    }
    expect(() => {
      patch.review.notes[1].why = "approved";
    }).toThrow(TypeError);
    expect(service.pending()[0]!.timeoutPatch).toEqual({
      approved: false,
      review: { by: "nobody", notes: ["late", { why: "timeout" }] },
    });
  });
});

describe("PauseService keeps registrations JSON-safe for checkpoints", () => {
  const failure = (registration: unknown): SystemError => {
    const { sink, service } = setup();
    try {
      service.register(registration as any);
    } catch (e) {
      expect(sink.requests).toEqual([]);
      if (SystemError.is(e, "INVALID_INPUT")) return e;
      throw e;
    }
    throw new Error("expected register to throw INVALID_INPUT");
  };

  it("refuses condition values JSON would turn into null", () => {
    for (const value of [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN]) {
      for (const op of [">", "<", "=="] as const) {
        expect(failure({ event: "e", conditions: [{ path: "n", op, value }] }).message).toMatch(
          /registration\.conditions\[0\]\.value: .*finite number/,
        );
      }
    }
  });

  it("refuses a timeoutPatch that is not plain JSON all the way down, naming the path", () => {
    class Custom {
      k = 1;
    }
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 40; i++) deep = { d: deep };
    const cases: Array<[unknown, RegExp]> = [
      [{ a: new Date(0) }, /registration\.timeoutPatch\.a must be plain JSON: .*\(got an instance of Date\)/],
      [
        { a: new Map([[1, 2]]) },
        /registration\.timeoutPatch\.a must be plain JSON.*\(got an instance of Map\)/,
      ],
      [
        { a: new Custom() },
        /registration\.timeoutPatch\.a must be plain JSON.*\(got an instance of Custom\)/,
      ],
      [{ a: Number.POSITIVE_INFINITY }, /registration\.timeoutPatch\.a .*\(got Infinity\)/],
      [{ a: { b: [1, Number.NaN] } }, /registration\.timeoutPatch\.a\.b\[1\] .*\(got NaN\)/],
      [{ a: [1, undefined] }, /registration\.timeoutPatch\.a\[1\] .*\(got undefined\)/],
      // biome-ignore lint/suspicious/noSparseArray: a hole is what is tested
      [{ a: [, 1] }, /registration\.timeoutPatch\.a\[0\]/],
      [{ "odd key": () => 1 }, /registration\.timeoutPatch\["odd key"\] .*\(got a function\)/],
      [{ a: 1n }, /registration\.timeoutPatch\.a .*\(got 1n\)/],
      [cyclic, /registration\.timeoutPatch\.self .*cycle/],
      [deep, /registration\.timeoutPatch(\.d)+ nests deeper than 32 levels/],
      [new Custom(), /registration\.timeoutPatch must be a plain object \(got an instance of Custom\)/],
      [[], /registration\.timeoutPatch must be a plain object \(got an array of 0 items\)/],
      [null, /registration\.timeoutPatch must be a plain object \(got null\)/],
      ["patch", /registration\.timeoutPatch must be a plain object \(got "patch"\)/],
      [
        Object.create({ a: 1 }),
        /registration\.timeoutPatch must be a plain object \(got an object whose prototype is not Object\.prototype/,
      ],
    ];
    for (const [timeoutPatch, message] of cases) {
      const e = failure({ event: "e", timeoutMs: 10, timeoutPatch });
      expect(e.message, String(message)).toMatch(message);
      expect(e.message).toMatch(/strings, finite numbers, booleans and null|cycle|levels|plain object/);
    }
  });

  it("deep-copies an accepted timeoutPatch, which survives a JSON round trip unchanged", () => {
    const { sink, service } = setup();
    const shared = { n: 1 };
    const timeoutPatch: Record<string, any> = {
      nested: { list: [1, "two", true, null, { three: 3 }], shared, again: shared },
      negativeZero: -0,
      skipped: undefined,
      ...JSON.parse('{"__proto__":{"p":1}}'),
    };
    service.register({ event: "e", timeoutMs: 10, timeoutPatch });
    timeoutPatch.nested.list[4].three = 4;
    shared.n = 2;
    timeoutPatch.added = 1;
    const kept = sink.requests[0]!.timeoutPatch!;
    expect(JSON.parse(JSON.stringify(kept))).toEqual(kept);
    expect(kept).toEqual(
      JSON.parse(
        '{"nested":{"list":[1,"two",true,null,{"three":3}],"shared":{"n":1},"again":{"n":1}},"negativeZero":0,"__proto__":{"p":1}}',
      ),
    );
    expect(Object.getPrototypeOf(kept)).toBe(Object.prototype);
    expect(Object.hasOwn(kept, "skipped")).toBe(false);
  });

  it("reads each condition field once: a getter cannot pass the checks and then answer otherwise", () => {
    const { sink, service } = setup();
    const twoFaced = (first: unknown, then: unknown) => {
      let reads = 0;
      return () => (reads++ === 0 ? first : then);
    };
    const value = twoFaced(1, Number.NaN);
    const path = twoFaced("n", "__proto__.polluted");
    const op = twoFaced("==", "=");
    service.register({
      event: "e",
      conditions: [
        {
          get path() {
            return path() as string;
          },
          get op() {
            return op() as "==";
          },
          get value() {
            return value();
          },
        },
      ],
    });
    const kept = sink.requests[0]!;
    expect(kept.conditions).toEqual([{ path: "n", op: "==", value: 1 }]);
    expect(JSON.parse(JSON.stringify(kept))).toEqual(kept);
    expect(matchPauseRequest(kept, "e", { n: 1 })).toBe(true);
  });

  it("keeps a condition value of -0 as 0, as a JSON round trip gives it back", () => {
    const { sink, service } = setup();
    service.register({ event: "e", conditions: [{ path: "n", op: ">=", value: -0 }] });
    const kept = sink.requests[0]!;
    expect(Object.is(kept.conditions![0]!.value, 0)).toBe(true);
    expect(JSON.parse(JSON.stringify(kept))).toEqual(kept);
  });

  it('refuses to wait on the bus wildcard "*"', () => {
    expect(failure({ event: "*" }).message).toMatch(
      /registration\.event "\*" is the event bus's wildcard and cannot be waited on/,
    );
    const { sink, service } = setup();
    service.register({ event: "*.done" });
    expect(sink.requests).toHaveLength(1);
  });
});
