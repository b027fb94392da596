import { SystemError } from "@sluice/errors";
import { describe, expect, it } from "vitest";
import { type PauseRegistration, type PauseRequestData, PauseService, type PauseSink } from "../src/index.js";

class RecordingSink implements PauseSink {
  requests: PauseRequestData[] = [];
  requestPause(request: PauseRequestData): void {
    this.requests.push(request);
  }
  withdrawPause(predicate: (request: PauseRequestData) => boolean): void {
    this.requests = this.requests.filter((r) => !predicate(r));
  }
}

// Each message names the field, what was given and what to pass instead.
describe("pause.register(registration): INVALID_INPUT naming the field and what was given", () => {
  const cases: Array<[unknown, string, string]> = [
    [
      "order.approved",
      "registration",
      'must be an object { event?, conditions?, patch?, timeoutMs?, timeoutPatch?, id? } (got "order.approved")',
    ],
    [
      { event: 5 },
      "registration.event",
      "must be a non-empty string, or omitted to wait for a direct resume (got 5)",
    ],
    [
      { event: "e", patch: true },
      "registration.patch",
      "must be a function (payload) => patch, or the name of a declared patch mapper (got true)",
    ],
    [
      { event: "e", timeoutMs: "5m" },
      "registration.timeoutMs",
      'must be a finite number of milliseconds greater than 0 (got "5m")',
    ],
    [
      { event: "e", timeoutMs: Number.POSITIVE_INFINITY },
      "registration.timeoutMs",
      "must be a finite number of milliseconds greater than 0 (got Infinity)",
    ],
    [
      { event: "e", timeoutPatch: { late: true } },
      "registration.timeoutPatch",
      "needs timeoutMs: a wait without a timeout never applies it; set timeoutMs, or remove timeoutPatch",
    ],
    [
      { event: "e", id: 7 },
      "registration.id",
      "must be a non-empty string, or omitted to generate one (got 7)",
    ],
  ];
  for (const [registration, field, problem] of cases) {
    it(`${field}: ${problem.slice(0, 40)}`, () => {
      const pause = new PauseService(new RecordingSink());
      let error: unknown;
      try {
        pause.register(registration as PauseRegistration);
      } catch (e) {
        error = e;
      }
      expect(SystemError.is(error, "INVALID_INPUT")).toBe(true);
      expect(error).toMatchObject({ message: `pause.register: ${field} ${problem}`, details: { field } });
    });
  }

  it("a duplicate id is quoted as JSON, so a crafted id cannot break the message", () => {
    const pause = new PauseService(new RecordingSink());
    pause.register({ event: "e", id: 'a"b' });
    expect(() => pause.register({ event: "e", id: 'a"b' })).toThrow(
      'pause.register: a registration with id "a\\"b" is already pending; cancel it or use another id',
    );
  });
});
