import { describe, expect, it } from "vitest";
import { ArtifactContainer } from "../src/index.js";
import { delay, errorSink } from "./helpers.js";

describe("timeouts and retries", () => {
  it("fails a factory that exceeds timeoutMs with TIMEOUT and aborts its signal", async () => {
    const c = new ArtifactContainer({ name: "app" });
    let signal: AbortSignal | undefined;
    c.register({
      key: "slow",
      timeoutMs: 20,
      factory: async (ctx) => {
        signal = ctx.signal;
        await delay(200);
        return 1;
      },
    });
    const started = Date.now();
    const r = await c.resolve("slow");
    expect(Date.now() - started).toBeLessThan(150);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe("TIMEOUT");
    expect(r.error.message).toMatch(/"slow".*20 ms/);
    expect(signal?.aborted).toBe(true);
  });

  it("runs the cleanup of a value that arrives after its timeout", async () => {
    const c = new ArtifactContainer();
    const closed: string[] = [];
    c.register({
      key: "late",
      timeoutMs: 10,
      factory: async (ctx) => {
        await delay(40);
        ctx.onCleanup(() => void closed.push("late socket"));
        return "socket";
      },
    });
    expect((await c.resolve("late")).ok).toBe(false);
    await delay(60);
    expect(closed).toEqual(["late socket"]);
  });

  it("retries a failing factory with exponential backoff, then succeeds", async () => {
    const c = new ArtifactContainer();
    const at: number[] = [];
    c.register({
      key: "flaky",
      retries: { attempts: 3, backoffMs: 20, factor: 2 },
      factory: () => {
        at.push(Date.now());
        if (at.length < 3) throw new Error(`fail ${at.length}`);
        return "up";
      },
    });
    expect(await c.require("flaky")).toBe("up");
    expect(at).toHaveLength(3);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(18);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(38);
  });

  it("gives up after the retries, reporting the last error once through build:error", async () => {
    const c = new ArtifactContainer();
    let calls = 0;
    const errors: Array<{ attempts: number; code: string }> = [];
    const starts: number[] = [];
    c.on("build:error", (e) => errors.push({ attempts: e.attempts, code: e.error.code }));
    c.on("build:start", (e) => starts.push(e.attempt));
    c.register({
      key: "down",
      retries: { attempts: 2, backoffMs: 1 },
      factory: () => {
        calls++;
        throw new Error("still down");
      },
    });
    const r = await c.resolve("down");
    expect(r.ok ? "" : r.error.message).toContain("still down");
    expect(calls).toBe(3);
    expect(starts).toEqual([1, 2, 3]);
    expect(errors).toEqual([{ attempts: 3, code: "FACTORY_FAILED" }]);
  });

  it("retries a timed-out attempt and accepts a number as the retry count", async () => {
    const c = new ArtifactContainer();
    let calls = 0;
    c.register({
      key: "slowOnce",
      timeoutMs: 15,
      retries: 1,
      factory: async () => {
        calls++;
        if (calls === 1) await delay(100);
        return calls;
      },
    });
    expect(await c.require("slowOnce")).toBe(2);
  });

  it("does not retry a circular dependency or a missing key", async () => {
    const c = new ArtifactContainer();
    let calls = 0;
    c.register({
      key: "needs",
      retries: { attempts: 5, backoffMs: 50 },
      factory: (ctx) => {
        calls++;
        return ctx.require("missing");
      },
    });
    const r = await c.resolve("needs");
    expect(r.ok ? "" : r.error.code).toBe("NOT_FOUND");
    expect(calls).toBe(1);
  });

  it("runs cleanups a failing attempt registered before it threw", async () => {
    const sink = errorSink();
    const c = new ArtifactContainer({ onError: sink.onError });
    const closed: number[] = [];
    let n = 0;
    c.register({
      key: "half",
      retries: { attempts: 1, backoffMs: 1 },
      factory: (ctx) => {
        const id = ++n;
        ctx.onCleanup(() => void closed.push(id));
        if (id === 1) throw new Error("half-built");
        return id;
      },
    });
    expect(await c.require("half")).toBe(2);
    expect(closed).toEqual([1]);
  });
});

describe("retries and dispose", () => {
  it.each(["singleton", "transient"] as const)(
    "no attempt starts after dispose() during the wait between retries; the resolve gets DISPOSED (%s)",
    async (scope) => {
      const c = new ArtifactContainer({ name: "run", onError: () => {} });
      let runs = 0;
      c.register({
        key: "flaky",
        scope,
        retries: { attempts: 3, backoffMs: 20 },
        factory: () => {
          runs++;
          throw new Error("down");
        },
      });
      const pending = c.resolve("flaky");
      await delay(5); // the first attempt failed; the first retry waits 20 ms
      expect(runs).toBe(1);
      await c.dispose();
      const r = await pending;
      await delay(60);
      expect(runs).toBe(1);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe("DISPOSED");
    },
  );
});
