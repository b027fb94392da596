import { SystemError } from "@sluice/errors";
import { describe, expect, it } from "vitest";
import { type PauseRequestData, PauseService, type PauseSink } from "../src/index.js";

// PauseService behaviour that pause-service.test.ts leaves open: what the sink may rely on after
// register/release/cancel, and where the JSON checks of a timeoutPatch draw their lines.

class RecordingSink implements PauseSink {
  requests: PauseRequestData[] = [];
  withdrawals = 0;
  requestPause(request: PauseRequestData): void {
    this.requests.push(request);
  }
  withdrawPause(predicate: (request: PauseRequestData) => boolean): void {
    this.withdrawals++;
    this.requests = this.requests.filter((r) => !predicate(r));
  }
}

const setup = () => {
  const sink = new RecordingSink();
  let n = 0;
  const service = new PauseService(sink, { now: () => 1_000, createId: () => `p${++n}` });
  return { sink, service };
};

/** `depth` nested containers: objects, or a top-level object holding nested arrays. */
function nested(depth: number, kind: "object" | "array"): Record<string, unknown> {
  let value: unknown = 1;
  for (let i = 1; i < depth; i++) value = kind === "object" ? { d: value } : [value];
  return { d: value };
}

describe("PauseService and its sink", () => {
  it("the request data a sink receives cannot be changed afterwards, its conditions included", () => {
    const { sink, service } = setup();
    service.register({ event: "e", conditions: [{ path: "orderId", op: "==", value: "A1" }] });
    const request = sink.requests[0]!;
    expect(Object.isFrozen(request.conditions)).toBe(true);
    expect(Object.isFrozen(request.conditions![0])).toBe(true);
    expect(() => request.conditions!.push({ path: "x", op: "exists" })).toThrow(TypeError);
    expect(() => {
      (request.conditions![0] as { value: unknown }).value = "B2";
    }).toThrow(TypeError);
    expect(service.pending()[0]!.conditions).toEqual([{ path: "orderId", op: "==", value: "A1" }]);
  });

  it("cancel(id) of a registration already released leaves the sink alone", () => {
    const { sink, service } = setup();
    service.register({ event: "e", id: "w" });
    // the runtime resolved the wait: the service forgets it, the sink keeps what it has
    service.release("w");
    service.cancel("w");
    service.cancel("never-registered");
    expect(sink.withdrawals).toBe(0);
    expect(sink.requests.map((r) => r.id)).toEqual(["w"]);
  });
});

describe("PauseService timeoutPatch nesting limit", () => {
  const refusal = (timeoutPatch: Record<string, unknown>): unknown => {
    const { service } = setup();
    try {
      service.register({ event: "e", timeoutMs: 10, timeoutPatch });
    } catch (e) {
      return e;
    }
    return undefined;
  };

  it("accepts 32 levels of objects or arrays and refuses a 33rd", () => {
    for (const kind of ["object", "array"] as const) {
      expect(refusal(nested(32, kind)), kind).toBeUndefined();
      const e = refusal(nested(33, kind));
      expect(SystemError.is(e, "INVALID_INPUT"), kind).toBe(true);
      expect((e as Error).message).toMatch(/nests deeper than 32 levels/);
    }
  });
});

describe("PauseService timeoutPatch objects and arrays", () => {
  it("accepts null-prototype objects (plain data) and keeps an ordinary copy", () => {
    const { sink, service } = setup();
    const inner = Object.assign(Object.create(null), { n: 1 });
    const timeoutPatch = Object.assign(Object.create(null), { branch: "timeout", inner });
    service.register({ event: "e", timeoutMs: 10, timeoutPatch });
    const kept = sink.requests[0]!.timeoutPatch!;
    expect(kept).toEqual({ branch: "timeout", inner: { n: 1 } });
    expect(JSON.parse(JSON.stringify(kept))).toEqual(kept);
  });

  it("refuses an array subclass, which a checkpoint would bring back as a plain array", () => {
    class Tags extends Array<string> {}
    const tags = Tags.from(["a", "b"]);
    const { sink, service } = setup();
    expect(() => service.register({ event: "e", timeoutMs: 10, timeoutPatch: { tags } })).toThrow(
      /registration\.timeoutPatch\.tags must be plain JSON.*\(got an instance of Tags\)/,
    );
    expect(sink.requests).toEqual([]);
  });
});
