import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { afterEach, describe, expect, it } from "vitest";
import * as esm from "../dist/index.js";

// The dual-package hazard: one dependency `require`s the package and another `import`s it, so both
// builds load in one thread, each with its own module state. Their buses are of one thread all the
// same, and must treat each other as they treat buses of their own copy.
const cjs = createRequire(import.meta.url)("../dist/index.cjs") as typeof esm;

type Delivery = [type: string, payload: unknown];

const opened: Array<{ close(): void }> = [];
afterEach(() => {
  for (const bus of opened.splice(0)) bus.close();
});

describe("both builds of the package in one thread", () => {
  it("are two copies, so the test means something", () => {
    expect(cjs.createBroadcastEventBus).not.toBe(esm.createBroadcastEventBus);
  });

  it("one bus from each: both get every event once, in the order the two emitted them, and nothing is reported lost", async () => {
    const channel = `sluice-dual-${randomUUID()}`;
    const errors: unknown[] = [];
    const onError = (error: unknown) => void errors.push(error);
    const fromImport = esm.createBroadcastEventBus({ channel, onError });
    const fromRequire = cjs.createBroadcastEventBus({ channel, onError });
    opened.push(fromImport, fromRequire);
    const seenImport = record(fromImport);
    const seenRequire = record(fromRequire);

    // The other copy's event comes first: a bus that took it for one from another thread held it
    // behind its own event still on the way back, and delivered them swapped.
    fromRequire.emit("y", 1);
    fromImport.emit("x", 2);
    fromRequire.emit("y", 3);
    fromImport.emit("x", 4);
    // (messages another bus posted arrive when the event loop polls for I/O: a turn per setImmediate;
    // no clock, and a cap far above the few turns it takes)
    for (let turns = 0; (seenImport.length < 4 || seenRequire.length < 4) && turns < 10_000; turns++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all([fromImport.delivered(), fromRequire.delivered()]);
    await new Promise((resolve) => setImmediate(resolve));

    const emitted: Delivery[] = [
      ["y", 1],
      ["x", 2],
      ["y", 3],
      ["x", 4],
    ];
    expect(seenImport).toEqual(emitted);
    expect(seenRequire).toEqual(emitted);
    expect(errors).toEqual([]);
  });
});

function record(bus: esm.BroadcastEventBus): Delivery[] {
  const seen: Delivery[] = [];
  bus.on("*", (type, payload) => void seen.push([String(type), payload]));
  return seen;
}
