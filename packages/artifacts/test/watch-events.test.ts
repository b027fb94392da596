import { createStateStore } from "@sluice/store";
import { describe, expect, it } from "vitest";
import { ArtifactContainer } from "../src/index.js";
import { delay, errorSink } from "./helpers.js";

describe("watch", () => {
  it("observer.get() peeks, subscribe() hears new values and undefined on invalidation", async () => {
    const c = new ArtifactContainer();
    let v = 0;
    c.register({ key: "n", factory: () => ++v });
    const obs = c.watch<number>("n");
    expect(obs.get()).toBeUndefined();
    const heard: Array<number | undefined> = [];
    const off = obs.subscribe((value) => heard.push(value));
    await c.require("n");
    expect(obs.get()).toBe(1);
    await c.invalidate("n");
    await delay(1);
    // a watched artifact is rebuilt at once after invalidation
    expect(heard).toEqual([1, undefined, 2]);
    off();
    await c.invalidate("n");
    await delay(1);
    expect(heard).toEqual([1, undefined, 2]);
    expect(c.peek("n")).toBeUndefined();
  });

  it("turns a selecting artifact into a live derived value, emitting stream:emit", async () => {
    const store = createStateStore({ items: [1, 2] });
    const c = new ArtifactContainer({ store, name: "run" });
    c.register({ key: "total", factory: (ctx) => ctx.select((s) => s.items).reduce((a, b) => a + b, 0) });
    const emitted: unknown[] = [];
    c.on("stream:emit", (e) => emitted.push(e));
    const totals: Array<number | undefined> = [];
    c.watch<number>("total").subscribe((t) => totals.push(t));
    await c.require("total");
    store.set({ items: [1, 2, 3] });
    await delay(1);
    expect(totals).toEqual([3, undefined, 6]);
    expect(emitted).toEqual([
      { container: "run", key: "total", param: undefined, value: 3 },
      { container: "run", key: "total", param: undefined, value: undefined },
      { container: "run", key: "total", param: undefined, value: 6 },
    ]);
  });

  it("an async watch listener or on() handler that rejects goes to onError, never an unhandled rejection", async () => {
    const sink = errorSink();
    const c = new ArtifactContainer({ onError: sink.onError });
    c.on("artifact:registered", async () => {
      throw new Error("handler bug");
    });
    c.register({ key: "n", factory: () => 1 });
    c.watch<number>("n").subscribe(async () => {
      throw new Error("listener bug");
    });
    await c.require("n");
    await delay(1);
    expect(sink.errors.map((e) => [e.code, e.message])).toEqual([
      ["INVALID_STATE", 'on("artifact:registered"): a handler rejected: handler bug'],
      ["INVALID_STATE", 'watch("n"): a listener rejected: listener bug'],
    ]);
  });

  it("an async onError that rejects leaves no unhandled rejection, as a throwing one is caught", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const c = new ArtifactContainer({ onError: async () => Promise.reject(new Error("reporter")) });
      c.on("artifact:registered", () => {
        throw new Error("handler bug");
      });
      c.register({ key: "n", factory: () => 1 });
      await delay(10);
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("follows a param value, survives an override, and a throwing listener goes to onError", async () => {
    const sink = errorSink();
    const c = new ArtifactContainer({ onError: sink.onError });
    c.register({ key: "p", param: true, factory: (ctx) => `v1:${ctx.param}` });
    const obs = c.watch<string>("p", "x");
    const heard: Array<string | undefined> = [];
    obs.subscribe((v) => heard.push(v));
    obs.subscribe(() => {
      throw new Error("listener bug");
    });
    await c.require("p", "y");
    await c.require("p", "x");
    c.register({ key: "p", param: true, factory: (ctx) => `v2:${ctx.param}` }, { override: true });
    await c.require("p", "x");
    expect(heard).toEqual(["v1:x", undefined, "v2:x"]);
    expect(sink.errors.length).toBe(3);
    obs.dispose();
    expect(c.debugInfo().artifacts[0]!.watchers).toBe(0);
  });

  it("watch() of an unknown key throws NOT_FOUND", () => {
    expect(() => new ArtifactContainer().watch("nope")).toThrow(
      expect.objectContaining({ code: "NOT_FOUND" }),
    );
  });
});

describe("events", () => {
  it("emits build:start, build:complete and build:error with key, param and container", async () => {
    const c = new ArtifactContainer({ name: "app" });
    const seen: string[] = [];
    c.on("build:start", (e) => seen.push(`start ${e.key} #${e.attempt}`));
    c.on("build:complete", (e) => seen.push(`complete ${e.key}=${String(e.value)}`));
    const off = c.on("build:error", (e) => seen.push(`error ${e.key} ${e.error.code}`));
    c.register({ key: "ok", factory: () => 1 });
    c.register({
      key: "bad",
      factory: () => {
        throw new Error("x");
      },
    });
    await c.resolve("ok");
    await c.resolve("bad");
    off();
    await c.resolve("bad");
    expect(seen).toEqual([
      "start ok #1",
      "complete ok=1",
      "start bad #1",
      "error bad FACTORY_FAILED",
      "start bad #1",
    ]);
  });

  it("rejects an unknown event name and reports a throwing handler without breaking the build", async () => {
    const sink = errorSink();
    const c = new ArtifactContainer({ onError: sink.onError });
    expect(() => c.on("build:done" as never, () => {})).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT" }),
    );
    c.on("build:complete", () => {
      throw new Error("handler bug");
    });
    c.register({ key: "a", factory: () => 1 });
    expect(await c.require("a")).toBe(1);
    expect(sink.errors.map((e) => e.message)).toEqual([expect.stringContaining("handler bug")]);
  });
});

describe("build:complete durationMs", () => {
  it("is the attempt's real duration even when the first listener subscribes while the build runs", async () => {
    const c = new ArtifactContainer();
    c.register({
      key: "slow",
      factory: async () => {
        await delay(20);
        return 1;
      },
    });
    const pending = c.resolve("slow");
    const durations: number[] = [];
    c.on("build:complete", (e) => durations.push(e.durationMs));
    await pending;
    expect(durations).toHaveLength(1);
    expect(durations[0]).toBeGreaterThanOrEqual(15);
    expect(durations[0]).toBeLessThan(5_000);
  });
});
