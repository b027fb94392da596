import { randomUUID } from "node:crypto";
import { BroadcastChannel as NodeBroadcastChannel } from "node:worker_threads";
import { SystemError } from "@sluice/errors";
import { afterEach, describe, expect, it, onTestFinished, vi } from "vitest";
import {
  type BroadcastChannelConstructor,
  type BroadcastEventBus,
  type BroadcastEventBusOptions,
  createBroadcastEventBus,
} from "../src/index.js";

// Real BroadcastChannels throughout: Node's global one, between buses (and plain channels) of this
// thread, which Node connects as it connects threads.

type Delivery = [type: string, payload: unknown];

const opened: Array<{ close(): void }> = [];
afterEach(() => {
  for (const channel of opened.splice(0)) channel.close();
});

const uniqueChannel = (): string => `sluice-test-${randomUUID()}`;

function open(options: BroadcastEventBusOptions): BroadcastEventBus {
  const bus = createBroadcastEventBus({ onError: () => {}, ...options });
  opened.push(bus);
  return bus;
}

/** A plain BroadcastChannel on `name` that records what it gets. */
function rawChannel(name: string): { channel: BroadcastChannel; seen: unknown[] } {
  const channel = new BroadcastChannel(name);
  opened.push(channel);
  const seen: unknown[] = [];
  channel.onmessage = (event) => void seen.push(event.data);
  return { channel, seen };
}

function record(bus: BroadcastEventBus): Delivery[] {
  const seen: Delivery[] = [];
  bus.on("*", (type, payload) => void seen.push([String(type), payload]));
  return seen;
}

/** Resolves once `done()` holds, polling every few milliseconds; rejects after two seconds. */
async function until(what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function thrown(run: () => unknown): SystemError {
  try {
    run();
  } catch (error) {
    if (error instanceof SystemError) return error;
    throw new Error(`threw ${String(error)}, not a SystemError`);
  }
  throw new Error("did not throw");
}

describe("options", () => {
  it.each([
    [
      undefined,
      /^createBroadcastEventBus: options must be an object \{ channel, onError\?, BroadcastChannel\? \} \(got undefined\)$/,
    ],
    [null, /options must be an object .* \(got null\)$/],
    ["my-channel", /options must be an object .* \(got "my-channel"\)$/],
    [{}, /^createBroadcastEventBus: options\.channel must be a non-empty string, .* \(got undefined\)$/],
    [{ channel: "" }, /options\.channel must be a non-empty string, .* \(got ""\)$/],
    [{ channel: 7 }, /options\.channel must be a non-empty string, .* \(got 7\)$/],
    [
      { channel: "c", onError: "log" },
      /^createBroadcastEventBus: options\.onError must be a function \(got "log"\)$/,
    ],
    [
      { channel: "c", BroadcastChannel: {} },
      /^createBroadcastEventBus: options\.BroadcastChannel must be a constructor, new \(name\) => channel \(got an object\)$/,
    ],
    [{ channel: "c", chanel: "d" }, /^createBroadcastEventBus: options\.chanel is not an option .*channel/],
  ])("refuses %o with INVALID_INPUT saying what to fix", (options, message) => {
    const error = thrown(() => createBroadcastEventBus(options as never));
    expect(error.code).toBe("INVALID_INPUT");
    expect(error.message).toMatch(message);
  });

  it("without a global BroadcastChannel, says to pass one; one passed is used", () => {
    const global = Object.getOwnPropertyDescriptor(globalThis, "BroadcastChannel")!;
    delete (globalThis as { BroadcastChannel?: unknown }).BroadcastChannel;
    try {
      const error = thrown(() => createBroadcastEventBus({ channel: "c" }));
      expect(error.code).toBe("INVALID_INPUT");
      expect(error.message).toBe(
        "createBroadcastEventBus: there is no BroadcastChannel in this environment (globalThis.BroadcastChannel is undefined): pass options.BroadcastChannel, a constructor new (name) => channel",
      );
      const opens: string[] = [];
      // node:worker_threads' own export, and a subclass that records what it opens
      class Recording extends NodeBroadcastChannel {
        constructor(name: string) {
          super(name);
          opens.push(name);
        }
      }
      open({ channel: "given", BroadcastChannel: Recording as unknown as BroadcastChannelConstructor });
      // one to listen, one to post (a channel does not hear itself: the bus hears its own events)
      expect(opens).toEqual(["given", "given"]);
    } finally {
      Object.defineProperty(globalThis, "BroadcastChannel", global);
    }
  });

  it("a BroadcastChannel constructor that throws is INVALID_INPUT naming the channel, with the cause", () => {
    const cause = new Error("no channels today");
    class Failing {
      constructor(_name: string) {
        throw cause;
      }
    }
    const error = thrown(() =>
      createBroadcastEventBus({
        channel: "c",
        BroadcastChannel: Failing as unknown as BroadcastChannelConstructor,
      }),
    );
    expect(error.code).toBe("INVALID_INPUT");
    expect(error.message).toBe(
      'createBroadcastEventBus: opening BroadcastChannel "c" failed: no channels today',
    );
    expect(error.cause).toBe(cause);
  });
});

describe("delivery", () => {
  it("two buses on one channel in one thread get each other's events, in order, and their own once", async () => {
    const name = uniqueChannel();
    const a = open({ channel: name });
    const b = open({ channel: name });
    const other = open({ channel: uniqueChannel() });
    const seenA = record(a);
    const seenB = record(b);
    const seenOther = record(other);
    a.emit("x", 1);
    b.emit("y", 2);
    a.emit("x", 3);
    b.emit("y", 4);
    await until("both buses to get all four events", () => seenA.length >= 4 && seenB.length >= 4);
    await Promise.all([a.delivered(), b.delivered(), new Promise((r) => setTimeout(r, 20))]);
    // in the order they were emitted, own events and the other bus's alike (own events that waited
    // for a timer came after the other bus's, whichever was emitted first)
    const emitted: Delivery[] = [
      ["x", 1],
      ["y", 2],
      ["x", 3],
      ["y", 4],
    ];
    expect(seenA).toEqual(emitted);
    expect(seenB).toEqual(emitted);
    expect(seenOther).toEqual([]);
  });

  it("an answer from another bus to this bus's event reaches this bus's handlers after the event", async () => {
    // b answers every "ping" with a "pong": the pong is caused by the ping, so a's handlers (a
    // runtime that starts a run on the ping and waits for the pong) get the ping first. (a's own
    // events waited for a timer, by which time b's answer had often arrived: pong came first.)
    const name = uniqueChannel();
    const a = open({ channel: name });
    const b = open({ channel: name });
    b.on("ping", (payload) => b.emit("pong", payload));
    const seen = record(a);
    const rounds = 20;
    for (let i = 0; i < rounds; i++) {
      a.emit("ping", i);
      await until(`pong ${i}`, () => seen.length === 2 * (i + 1));
    }
    expect(seen).toEqual(
      Array.from({ length: rounds }, (_, i): Delivery[] => [
        ["ping", i],
        ["pong", i],
      ]).flat(),
    );
  });

  it("an event from elsewhere that arrives while this bus's own events are on their way back comes after them, in a task of its own", async () => {
    // (In Node, an answer from another thread can reach a bus before its own event does: the
    // channel hands a message to each listener in turn, and the other thread may answer between.)
    // The plain channel's message says no sender: from elsewhere. It arrives first, while the bus's
    // "placed" is still on its way back; it is delivered after "placed", once what "placed"'s
    // handler started has gone on (a run registering the wait an approval meets).
    const name = uniqueChannel();
    const bus = open({ channel: name });
    const raw = rawChannel(name);
    const log: string[] = [];
    let registered = false;
    bus.on("placed", async () => {
      log.push("placed");
      await Promise.resolve();
      await Promise.resolve();
      registered = true;
    });
    bus.on("approved", () => void log.push(`approved (wait registered: ${registered})`));
    raw.channel.postMessage({ sluice: 1, type: "approved", payload: {} });
    bus.emit("placed", {});
    await until("both", () => log.length === 2);
    expect(log).toEqual(["placed", "approved (wait registered: true)"]);
  });

  it("events from elsewhere held behind the bus's own are released one per task without timers: a flood is not slowed to one a millisecond", async () => {
    // setTimeout frozen: the held events must come all the same (released on timers, 10 000 of them
    // took 14 s where the channel brings them in 0.4 s)
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    onTestFinished(() => void vi.useRealTimers());
    const name = uniqueChannel();
    const bus = open({ channel: name });
    const raw = rawChannel(name);
    const seen = record(bus);
    const count = 1_000;
    for (let i = 0; i < count; i++) raw.channel.postMessage({ sluice: 1, type: "flood", payload: i });
    bus.emit("mine", 0); // on its way back when the flood arrives: the flood waits for it
    for (let turns = 0; seen.length < count + 1 && turns < 100_000; turns++)
      await new Promise((resolve) => setImmediate(resolve));
    expect(seen[0]).toEqual(["mine", 0]);
    expect(seen.slice(1)).toEqual(Array.from({ length: count }, (_, i): Delivery => ["flood", i]));
  });

  it("posts { sluice: 1, type, payload, from, seq } on the channel, and delivers { sluice: 1, type, payload } from a plain channel", async () => {
    const name = uniqueChannel();
    const bus = open({ channel: name });
    const raw = rawChannel(name);
    const seen = record(bus);
    bus.emit("order.placed", { orderId: "A1" });
    bus.emit("nothing", undefined);
    await until("the plain channel to get both", () => raw.seen.length === 2);
    expect(raw.seen).toEqual([
      { sluice: 1, type: "order.placed", payload: { orderId: "A1" }, from: expect.any(String), seq: 1 },
      { sluice: 1, type: "nothing", payload: undefined, from: expect.any(String), seq: 2 },
    ]);
    raw.channel.postMessage({ sluice: 1, type: "from.raw", payload: [1] });
    await until("the bus to get the plain channel's message", () => seen.length === 3);
    expect(seen).toEqual([
      ["order.placed", { orderId: "A1" }],
      ["nothing", undefined],
      ["from.raw", [1]],
    ]);
  });

  it("ignores messages without the sluice: 1 marker or with a type that cannot be emitted, reporting nothing", async () => {
    const name = uniqueChannel();
    const reported: unknown[] = [];
    const bus = open({ channel: name, onError: (error) => void reported.push(error) });
    const seen = record(bus);
    const typed: unknown[] = [];
    bus.on("x", (payload) => void typed.push(payload));
    const raw = rawChannel(name);
    // a listener that throws on a malformed message would throw into the event loop: in Node an
    // uncaught exception, which ends a process
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => void uncaught.push(error);
    process.on("uncaughtException", onUncaught);
    onTestFinished(() => void process.off("uncaughtException", onUncaught));
    for (const message of [
      "text",
      null,
      42,
      [1, "x", 2],
      { type: "x", payload: "no marker" },
      { sluice: true, type: "x", payload: "marker true" },
      { sluice: "1", type: "x", payload: "marker '1'" },
      { sluice: 2, type: "x", payload: "marker 2" },
      { sluice: 1, type: "*", payload: "wildcard type" },
      { sluice: 1, type: "", payload: "empty type" },
      { sluice: 1, type: 5, payload: "number type" },
      { sluice: 1, payload: "no type" },
      { sluice: 1, type: "x", payload: "kept" },
    ])
      raw.channel.postMessage(message);
    await until("the one well-formed message", () => seen.length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen).toEqual([["x", "kept"]]);
    expect(typed).toEqual(["kept"]);
    expect(reported).toEqual([]);
    expect(uncaught).toEqual([]);
  });

  it("a throwing handler is reported through onError for local and remote events, and the others still run", async () => {
    const name = uniqueChannel();
    const reported: unknown[][] = [];
    const a = open({ channel: name, onError: (...args) => void reported.push(args) });
    const b = open({ channel: name });
    const boom = new Error("boom");
    a.on("e", () => {
      throw boom;
    });
    const after: unknown[] = [];
    a.on("e", (payload) => void after.push(payload));
    a.emit("e", { n: 1 });
    b.emit("e", { n: 2 });
    await until("both events", () => after.length === 2);
    // (a's own event first: it was emitted before b's arrived)
    expect(after).toEqual([{ n: 1 }, { n: 2 }]);
    expect(reported.map(([error, type, payload]) => ({ error, type, payload }))).toEqual([
      { error: boom, type: "e", payload: { n: 1 } },
      { error: boom, type: "e", payload: { n: 2 } },
    ]);
  });

  it("own handlers get the event a macrotask after emit, in emit order; delivered() waits for events handlers emit", async () => {
    const bus = open({ channel: uniqueChannel() });
    const seen = record(bus);
    bus.on("outer", (payload) => bus.emit("inner", { from: payload }));
    bus.emit("outer", 1);
    bus.emit("b", 2);
    expect(seen).toEqual([]);
    await Promise.resolve();
    expect(seen).toEqual([]);
    await bus.delivered();
    expect(seen).toEqual([
      ["outer", 1],
      ["b", 2],
      ["inner", { from: 1 }],
    ]);
  });

  it("emit refuses a bad type as createEventBus does (its messages), sending nothing", async () => {
    const name = uniqueChannel();
    const bus = open({ channel: name });
    const raw = rawChannel(name);
    const loose = bus as unknown as { emit(type: unknown, payload: unknown): void };
    expect(thrown(() => loose.emit("*", 1)).message).toBe(
      'eventBus.emit: "*" is reserved for wildcard subscriptions and cannot be emitted',
    );
    expect(thrown(() => loose.emit("", 1)).message).toBe(
      'eventBus.emit: the event type must be a non-empty string (got "")',
    );
    expect(thrown(() => loose.emit(Symbol("s"), 1)).code).toBe("INVALID_INPUT");
    bus.emit("fine", 1);
    await until("the good event", () => raw.seen.length === 1);
    expect(raw.seen).toEqual([{ sluice: 1, type: "fine", payload: 1, seq: 1, from: expect.any(String) }]);
  });
});

describe("payloads are structured clones", () => {
  class Point {
    constructor(
      public x: number,
      public y: number,
    ) {}
    norm(): number {
      return Math.hypot(this.x, this.y);
    }
  }

  it("Dates, Maps, Sets, undefined properties and cycles survive, here and in another bus; class instances arrive plain", async () => {
    const name = uniqueChannel();
    const a = open({ channel: name });
    const b = open({ channel: name });
    const local: unknown[] = [];
    const remote: unknown[] = [];
    a.on("v", (payload) => void local.push(payload));
    b.on("v", (payload) => void remote.push(payload));
    const cyclic: { self?: unknown; n: number } = { n: 1 };
    cyclic.self = cyclic;
    const sent = {
      at: new Date(Date.UTC(2024, 5, 1)),
      tags: new Set(["a"]),
      index: new Map([["k", 1]]),
      missing: undefined,
      big: 10n,
      point: new Point(3, 4),
      cyclic,
    };
    a.emit("v", sent);
    await a.delivered();
    await until("the other bus", () => remote.length === 1);
    for (const got of [local[0], remote[0]] as Array<typeof sent>) {
      expect(got).not.toBe(sent);
      expect(got.at).toBeInstanceOf(Date);
      expect(got.at.getTime()).toBe(Date.UTC(2024, 5, 1));
      expect(got.tags).toEqual(new Set(["a"]));
      expect(got.index).toEqual(new Map([["k", 1]]));
      expect(Object.hasOwn(got, "missing")).toBe(true);
      expect(got.big).toBe(10n);
      expect(Object.getPrototypeOf(got.point)).toBe(Object.prototype);
      expect(got.point).toEqual({ x: 3, y: 4 });
      expect(got.cyclic.self).toBe(got.cyclic);
    }
  });

  it("own handlers get a copy made at emit: changing the payload afterwards changes nothing delivered", async () => {
    const bus = open({ channel: uniqueChannel() });
    const seen: unknown[] = [];
    bus.on("v", (payload) => void seen.push(payload));
    const payload = { n: 1, list: [1] };
    bus.emit("v", payload);
    payload.n = 2;
    payload.list.push(2);
    await bus.delivered();
    expect(seen).toEqual([{ n: 1, list: [1] }]);
    expect(seen[0]).not.toBe(payload);
  });

  it("a payload that cannot be cloned is INVALID_INPUT naming the event; nothing is sent or delivered", async () => {
    const name = uniqueChannel();
    const a = open({ channel: name });
    const b = open({ channel: name });
    const raw = rawChannel(name);
    const seenA = record(a);
    const seenB = record(b);
    a.emit("before", 1);
    const error = thrown(() => a.emit("order.placed", { orderId: "A1", callback: () => {} }));
    expect(error.code).toBe("INVALID_INPUT");
    expect(error.message).toMatch(
      /^eventBus\.emit\("order\.placed"\): the payload cannot be sent over a BroadcastChannel \(it must survive structuredClone: no functions, symbols or DOM nodes\): [\s\S]*could not be cloned/,
    );
    expect((error.cause as Error).name).toBe("DataCloneError");
    expect(thrown(() => a.emit("sym", Symbol("s"))).code).toBe("INVALID_INPUT");
    a.emit("after", 2);
    await a.delivered();
    // (delivered() may post a fence, a message without a type: see the wire format)
    const events = () => raw.seen.filter((m) => (m as { type?: string }).type !== undefined);
    await until("the other bus and the plain channel", () => seenB.length === 2 && events().length === 2);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const expected: Delivery[] = [
      ["before", 1],
      ["after", 2],
    ];
    expect(seenA).toEqual(expected);
    expect(seenB).toEqual(expected);
    expect(events().map((m) => (m as { type: string }).type)).toEqual(["before", "after"]);
  });
});

describe("close()", () => {
  it("drops own deliveries not yet made, stops remote ones, and is idempotent; delivered() resolves", async () => {
    const name = uniqueChannel();
    const a = open({ channel: name });
    const b = open({ channel: name });
    const seenA = record(a);
    const seenB = record(b);
    a.emit("e", 1); // posted at once: b gets it; a's own copy is on its way back, and dropped
    a.close();
    a.close();
    await a.delivered();
    b.emit("e", 2); // a's channel is closed: never reaches a
    await b.delivered();
    await until("b to get a's event", () => seenB.length === 2);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seenA).toEqual([]);
    expect(seenB).toEqual([
      ["e", 1],
      ["e", 2],
    ]);
  });

  it("after close, emit and on throw INVALID_STATE naming the channel; unsubscribe and listenerCount still work", () => {
    const bus = open({ channel: "closing" });
    const off = bus.on("e", () => {});
    bus.on("*", () => {});
    bus.close();
    const emitError = thrown(() => bus.emit("e", 1));
    expect(emitError.code).toBe("INVALID_STATE");
    expect(emitError.message).toBe(
      'eventBus.emit: the broadcast bus on channel "closing" is closed; create a new bus to emit again',
    );
    const onError = thrown(() => bus.on("e", () => {}));
    expect(onError.code).toBe("INVALID_STATE");
    expect(onError.message).toBe(
      'eventBus.on: the broadcast bus on channel "closing" is closed; create a new bus to subscribe again',
    );
    expect(bus.listenerCount()).toBe(2);
    off();
    off();
    expect(bus.listenerCount("e")).toBe(0);
    expect(bus.listenerCount()).toBe(1);
  });

  it("close() from a handler drops the rest of the events waiting for delivery", async () => {
    const bus = open({ channel: uniqueChannel() });
    const seen = record(bus);
    bus.on("stop", () => bus.close());
    bus.emit("a", 1);
    bus.emit("stop", 2);
    bus.emit("b", 3);
    await bus.delivered();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen).toEqual([
      ["a", 1],
      ["stop", 2],
    ]);
  });
});
