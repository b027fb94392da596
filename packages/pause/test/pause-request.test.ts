import { SystemError } from "@sluice/errors";
import { describe, expect, it } from "vitest";
import { type PauseRequestData, PauseService, readPauseRequest } from "../src/index.js";

function refusal(value: unknown): SystemError {
  try {
    readPauseRequest(value, "saved.pause[0]");
  } catch (error) {
    expect(SystemError.is(error, "INVALID_INPUT")).toBe(true);
    return error as SystemError;
  }
  throw new Error("expected a refusal");
}

describe("readPauseRequest", () => {
  it("reads back, frozen and equal, every wait PauseService makes once it has been through JSON", () => {
    const made: PauseRequestData[] = [];
    const service = new PauseService(
      { requestPause: (request) => made.push(request), withdrawPause: () => {} },
      { now: () => 1_000 },
    );
    service.register({});
    service.register({ event: "order.approved", conditions: [{ path: "orderId", op: "==", value: "o1" }] });
    service.register({
      id: "t",
      event: "x",
      conditions: [{ path: "a.b", op: "exists" }],
      timeoutMs: 500,
      timeoutPatch: { late: true, nested: { n: [1, null] } },
    });
    for (const wait of made) {
      const read = readPauseRequest(JSON.parse(JSON.stringify(wait)), "w");
      expect(read).toEqual(wait);
      expect(Object.isFrozen(read)).toBe(true);
    }
    expect(made[2]!.deadline).toBe(1_500);
  });

  it("copies what it reads: later edits to the source do not reach the wait", () => {
    const source = {
      id: "w",
      event: "e",
      conditions: [{ path: "k", op: "==", value: 1 }],
      timeoutMs: 10,
      deadline: 20,
      timeoutPatch: { deep: { v: 1 } },
    };
    const read = readPauseRequest(source, "w");
    source.conditions[0]!.value = 2;
    source.timeoutPatch.deep.v = 2;
    expect(read.conditions).toEqual([{ path: "k", op: "==", value: 1 }]);
    expect(read.timeoutPatch).toEqual({ deep: { v: 1 } });
  });

  it("returns the wait frozen all the way down, conditions and timeoutPatch included", () => {
    const read = readPauseRequest(
      {
        id: "w",
        event: "e",
        conditions: [{ path: "k", op: "==", value: 1 }],
        timeoutMs: 10,
        deadline: 20,
        timeoutPatch: { deep: { list: [{ v: 1 }] } },
      },
      "w",
    );
    const patch = read.timeoutPatch as { deep: { list: [{ v: number }] } };
    for (const value of [
      read,
      read.conditions,
      read.conditions![0],
      patch,
      patch.deep,
      patch.deep.list,
      patch.deep.list[0],
    ]) {
      expect(Object.isFrozen(value)).toBe(true);
    }
  });

  it("drops an empty conditions list, as register does", () => {
    expect(readPauseRequest({ id: "w", event: "e", conditions: [] }, "w")).toEqual({ id: "w", event: "e" });
  });

  it.each([
    ["not an object", "nope", "saved.pause[0]: must be an object"],
    ["an array", [], "saved.pause[0]: must be an object"],
    [
      "a misspelt key",
      { id: "w", condition: [] },
      "saved.pause[0].condition: is not an option here (options: id, event, conditions, timeoutMs, deadline, timeoutPatch, patch)",
    ],
    ["no id", { event: "e" }, "saved.pause[0].id: must be a non-empty string"],
    ["an empty id", { id: "" }, "saved.pause[0].id: must be a non-empty string"],
    ["an empty event", { id: "w", event: "" }, "saved.pause[0].event: must be a non-empty event name"],
    ["the bus wildcard", { id: "w", event: "*" }, 'other than "*"'],
    ["a bad operator", { id: "w", conditions: [{ path: "a", op: "=" }] }, "saved.pause[0].conditions[0].op"],
    [
      "a path into prototypes",
      { id: "w", conditions: [{ path: "__proto__.x", op: "exists" }] },
      "paths cannot reach prototypes",
    ],
    [
      "timeoutMs without deadline",
      { id: "w", timeoutMs: 5 },
      "saved.pause[0].deadline: a wait with a timeout has both",
    ],
    [
      "deadline without timeoutMs",
      { id: "w", deadline: 5 },
      "saved.pause[0].timeoutMs: a wait with a timeout has both",
    ],
    [
      "a zero timeout",
      { id: "w", timeoutMs: 0, deadline: 5 },
      "saved.pause[0].timeoutMs: must be a finite number",
    ],
    [
      "a text deadline",
      { id: "w", timeoutMs: 5, deadline: "soon" },
      "saved.pause[0].deadline: must be a finite epoch time",
    ],
    [
      // 0 is a finite epoch time: the message says what else is asked of it
      "a zero deadline",
      { id: "w", timeoutMs: 5, deadline: 0 },
      "saved.pause[0].deadline: must be a finite epoch time in ms, greater than 0",
    ],
    [
      "a NaN deadline",
      { id: "w", timeoutMs: 5, deadline: Number.NaN },
      "saved.pause[0].deadline: must be a finite epoch time",
    ],
    [
      "timeoutPatch without a timeout",
      { id: "w", timeoutPatch: {} },
      "saved.pause[0].timeoutPatch: needs timeoutMs",
    ],
    [
      "a timeoutPatch that is not JSON",
      { id: "w", timeoutMs: 5, deadline: 6, timeoutPatch: { at: new Date(0) } },
      "saved.pause[0].timeoutPatch.at",
    ],
  ])("refuses %s, naming the field", (_what, value, message) => {
    expect(refusal(value).message).toContain(message);
  });
});
