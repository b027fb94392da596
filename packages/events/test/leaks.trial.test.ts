import { getHeapSnapshot } from "node:v8";
import { describe, expect, it } from "vitest";
import { createDeferredEventBus, createEventBus, type EventBus } from "../src/index.js";

/**
 * How many strings matching `pattern` (a JSON string literal, quotes included) the heap holds: a
 * heap snapshot is taken after a full GC and lists the text of every live string, so this counts
 * the event names something still keeps.
 */
async function liveStrings(pattern: RegExp): Promise<number> {
  let count = 0;
  let tail = "";
  for await (const chunk of getHeapSnapshot()) {
    const text = tail + String(chunk);
    let end = 0;
    for (const match of text.matchAll(pattern)) {
      count++;
      end = match.index + match[0].length;
    }
    tail = text.slice(Math.max(end, text.length - 64));
  }
  return count;
}

describe("leaks: a bus subscribed to ever new event names", () => {
  it("keeps nothing of a name once its last handler unsubscribed (order.<id>.approved, one name per run)", async () => {
    // the names are built here and held by nothing but the bus (the pattern is not in this source);
    // joined, so each is one flat string, which a snapshot lists by its text
    const prefix = ["leak", "probe"].join("");
    const buses = [createEventBus(), createDeferredEventBus()];
    // in a function of its own, so that no variable here holds the last name
    const subscribeAndLeave = (bus: EventBus, b: number): void => {
      for (let i = 0; i < 500; i++) {
        const off = bus.on([prefix, b, i].join("-"), () => {});
        bus.on("kept", () => {});
        off();
      }
    };
    for (const [b, bus] of buses.entries()) subscribeAndLeave(bus, b);
    expect(buses.map((bus) => bus.listenerCount())).toEqual([500, 500]);
    // it kept each name, with an empty handler list, for as long as the bus lived: 1000 here
    expect(await liveStrings(/"leakprobe-\d-\d+"/g)).toBe(0);
    expect(buses.map((bus) => bus.listenerCount("kept"))).toEqual([500, 500]);
  });
});
