import { SystemError } from "@sluice/errors";
import { describe, expect, it } from "vitest";
import { type PauseRequestData, PauseService, readPauseRequest } from "../src/index.js";

function service(knownPatches?: ReadonlySet<string>) {
  const requests: PauseRequestData[] = [];
  const sink = { requestPause: (r: PauseRequestData) => requests.push(r), withdrawPause: () => {} };
  return {
    pause: new PauseService(sink, knownPatches === undefined ? undefined : { knownPatches }),
    requests,
  };
}

function refusal(run: () => unknown): SystemError {
  try {
    run();
  } catch (error) {
    if (SystemError.is(error)) return error;
    throw error;
  }
  throw new Error("did not throw");
}

describe("named patch mappers", () => {
  it("a declared name goes into the request data (it travels in checkpoints); no function is kept", () => {
    const { pause, requests } = service(new Set(["approval"]));
    const handle = pause.register({ event: "order.approved", patch: "approval", id: "w1" });
    expect(requests).toEqual([{ id: "w1", event: "order.approved", patch: "approval" }]);
    expect(pause.patchMapper(handle.id)).toBeUndefined();
    expect(JSON.parse(JSON.stringify(requests[0]))).toEqual(requests[0]);
  });

  it("a function is kept in memory and not in the request data", () => {
    const { pause, requests } = service(new Set(["approval"]));
    const mapper = (payload: { by: string }) => ({ approvedBy: payload.by });
    pause.register({ event: "order.approved", patch: mapper, id: "w1" });
    expect(requests).toEqual([{ id: "w1", event: "order.approved" }]);
    expect(pause.patchMapper("w1")).toBe(mapper);
  });

  it("an undeclared name is INVALID_INPUT listing the declared ones; nothing is sent", () => {
    const { pause, requests } = service(new Set(["approval", "rejection"]));
    const error = refusal(() => pause.register({ event: "e", patch: "aproval" }));
    expect(error.code).toBe("INVALID_INPUT");
    expect(error.message).toBe(
      'pause.register: registration.patch names patch mapper "aproval", which is not declared (patches: approval, rejection)',
    );
    expect(requests).toEqual([]);
  });

  it("without knownPatches a name is refused, saying to declare it", () => {
    const { pause } = service();
    expect(refusal(() => pause.register({ patch: "approval" })).message).toBe(
      `pause.register: registration.patch names patch mapper "approval", but none is declared (declare it in the workflow's patches, or pass a function)`,
    );
  });

  it("knownPatches must be a Set; a patch neither function nor string is refused", () => {
    const sink = { requestPause: () => {}, withdrawPause: () => {} };
    expect(() => new PauseService(sink, { knownPatches: ["approval"] as never })).toThrow(
      "options.knownPatches must be a Set of patch mapper names",
    );
    expect(() => new PauseService(sink, { knownPatches: new Set(["", "approval"]) })).toThrow(
      "options.knownPatches must hold non-empty strings (patch mapper names)",
    );
    const { pause } = service(new Set(["approval"]));
    expect(refusal(() => pause.register({ patch: `x\u0000${"y".repeat(200)}` })).message).toBe(
      `pause.register: registration.patch names patch mapper ${JSON.stringify(`x\u0000${"y".repeat(78)}…`)}, which is not declared (patches: approval)`,
    );
    expect(refusal(() => pause.register({ patch: 42 as never })).message).toBe(
      "pause.register: registration.patch must be a function (payload) => patch, or the name of a declared patch mapper (got 42)",
    );
  });

  it("readPauseRequest keeps a name and refuses a patch that is not a non-empty string", () => {
    expect(readPauseRequest({ id: "w", event: "e", patch: "approval" }, "c.pause[0]")).toEqual({
      id: "w",
      event: "e",
      patch: "approval",
    });
    for (const patch of ["", 42, {}, null]) {
      expect(refusal(() => readPauseRequest({ id: "w", patch }, "c.pause[0]")).message).toBe(
        "c.pause[0].patch: must be the name of a patch mapper (a non-empty string)",
      );
    }
  });
});
