import { describe, expect, it } from "vitest";
import { type PauseRequestData, PauseService, type PauseSink, validateConditions } from "../src/index.js";

function sink(): PauseSink & { requests: PauseRequestData[] } {
  const requests: PauseRequestData[] = [];
  return { requests, requestPause: (r) => void requests.push(r), withdrawPause() {} };
}

const KEYS = "event, conditions, patch, timeoutMs, timeoutPatch, id";

describe("unknown keys of PauseService's options objects", () => {
  it("register refuses a misspelt field instead of waiting for any event of the name", () => {
    const s = sink();
    const pause = new PauseService(s);
    expect(() =>
      pause.register({
        event: "order.approved",
        condition: [{ path: "orderId", op: "==", value: "A1" }],
      } as never),
    ).toThrow(
      expect.objectContaining({
        code: "INVALID_INPUT",
        message: `pause.register: registration.condition is not an option (options: ${KEYS})`,
        details: { path: "registration.condition" },
      }),
    );
    expect(() => pause.register({ event: "e", timeout: 5 } as never)).toThrow(
      `pause.register: registration.timeout is not an option (options: ${KEYS})`,
    );
    expect(s.requests).toEqual([]);
  });

  it("register takes every documented field, and inherited keys are not read as options", () => {
    const s = sink();
    const pause = new PauseService(s, { now: () => 1_000 });
    pause.register({
      event: "order.approved",
      conditions: [{ path: "orderId", op: "==", value: "A1" }],
      patch: (p: { by: string }) => ({ approvedBy: p.by }),
      timeoutMs: 10,
      timeoutPatch: { late: true },
      id: "w1",
    });
    pause.register(Object.assign(Object.create({ typo: 1 }), { event: "e", id: "w2" }));
    expect(s.requests.map((r) => r.id)).toEqual(["w1", "w2"]);
    expect(s.requests[0]).toMatchObject({ deadline: 1_010, timeoutPatch: { late: true } });
  });

  it("the constructor refuses an unknown option and takes now and createId", () => {
    expect(() => new PauseService(sink(), { createID: () => "x" } as never)).toThrow(
      expect.objectContaining({
        code: "INVALID_INPUT",
        message: "new PauseService: options.createID is not an option (options: now, createId, knownPatches)",
      }),
    );
    const pause = new PauseService(sink(), { now: () => 5, createId: () => "fixed" });
    expect(pause.register({ timeoutMs: 1 }).id).toBe("fixed");
  });

  it("a condition with a field it does not have is refused, in a registration and in a definition", () => {
    const pause = new PauseService(sink());
    expect(() =>
      pause.register({ event: "e", conditions: [{ path: "a", op: "exists", vaule: 1 }] } as never),
    ).toThrow(
      expect.objectContaining({
        code: "INVALID_INPUT",
        message:
          "pause.register: registration.conditions[0].vaule: is not an option here (options: path, op, value)",
      }),
    );
    expect(() =>
      validateConditions([{ path: "a", op: "==", value: 1, note: "x" }], "triggers.t.when"),
    ).toThrow(
      expect.objectContaining({
        code: "INVALID_DEFINITION",
        message: "triggers.t.when[0].note: is not an option here (options: path, op, value)",
      }),
    );
    expect(() =>
      validateConditions([
        { path: "a", op: "==", value: 1 },
        { path: "b", op: "exists" },
      ]),
    ).not.toThrow();
  });
});
