import { afterEach, describe, expect, it, vi } from "vitest";
import type { TriggerDefinition } from "../src/index.js";
import type { Harness } from "./helpers.js";
import { oneTrigger } from "./one-trigger.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.runtime.stop();
  h = undefined;
  vi.useRealTimers();
});

/**
 * A trigger with a debounce and a throttle (one event a second): n 1 goes on, n 2 waits for the
 * throttle, n 3 is held by the debounce. Events in that order of arrival.
 */
async function oneOfEach(trigger: Partial<TriggerDefinition> = {}) {
  const t = await oneTrigger("held", {
    debounce: { periodMs: 10 },
    throttle: { limit: 1, periodMs: 1000 },
    ...trigger,
  });
  h = t.h;
  t.emit({ n: 1 });
  await t.later(10);
  t.emit({ n: 2 });
  await t.later(10);
  t.emit({ n: 3 });
  expect(t.reports()).toEqual([["started", 1]]);
  return t;
}

describe("events a trigger holds back, dropped all at once", () => {
  it("deregister() reports them in arrival order: those waiting for the throttle before the one the debounce holds", async () => {
    const t = await oneOfEach();
    await h!.runtime.deregister("held");
    expect(t.reports()).toEqual([
      ["started", 1],
      ["dropped", 2],
      ["dropped", 3],
    ]);
  });

  it("a cancelOn event reports them in arrival order too", async () => {
    const t = await oneOfEach({ cancelOn: [{ event: "stop" }] });
    h!.bus.emit("stop", {});
    expect(t.reports()).toEqual([
      ["started", 1],
      ["dropped", 2],
      ["dropped", 3],
    ]);
    expect(t.dispatched[2]!.reason).toBe('cancelled by event "stop"');
  });
});
