import { createStateStore } from "@sluice/store";
import { describe, expect, it } from "vitest";
import { ArtifactContainer, type ArtifactFactoryContext } from "../src/index.js";
import { delay, gate } from "./helpers.js";

// Trials of the dependency graph by outside eyes: diamonds, cycles, cascades and their observers.

/** Lets queued microtasks (watch rebuilds) and zero-delay timers run. */
const settle = () => delay(0);

describe("diamonds", () => {
  it("builds each node once under concurrent resolution, whatever order the branches finish in", async () => {
    const c = new ArtifactContainer();
    const builds: Record<string, number> = {};
    const cleaned: string[] = [];
    let version = 0;
    const node = (key: string, deps: string[], ms: number) =>
      c.register({
        key,
        factory: async (ctx) => {
          builds[key] = (builds[key] ?? 0) + 1;
          const values = await Promise.all(deps.map((d) => ctx.require<string>(d)));
          await delay(ms);
          const value = deps.length === 0 ? `${key}${++version}` : `${key}(${values.join(",")})`;
          ctx.onCleanup(() => void cleaned.push(value));
          return value;
        },
      });
    node("a", [], 3);
    node("b", ["a"], 5);
    node("c", ["a"], 1); // c is ready before b
    node("d", ["b", "c"], 0);
    const all = await Promise.all(Array.from({ length: 10 }, () => c.require("d")));
    expect(new Set(all)).toEqual(new Set(["d(b(a1),c(a1))"]));
    await c.invalidate("a", { rebuild: true });
    expect(c.peek("d")).toBe("d(b(a2),c(a2))");
    expect(builds).toEqual({ a: 2, b: 2, c: 2, d: 2 });
    expect([cleaned[0], cleaned.at(-1)]).toEqual(["d(b(a1),c(a1))", "a1"]);
  });

  it("a watched tip hears one new value per change, rebuilt once, from fresh nodes only", async () => {
    const store = createStateStore({ n: 1 });
    const c = new ArtifactContainer({ store });
    const builds: Record<string, number> = {};
    const counted =
      <T>(key: string, factory: (ctx: ArtifactFactoryContext) => T) =>
      (ctx: ArtifactFactoryContext) => {
        builds[key] = (builds[key] ?? 0) + 1;
        return factory(ctx);
      };
    c.register({ key: "a", factory: counted("a", (ctx) => ctx.select((s) => s.n)) });
    c.register({ key: "b", factory: counted("b", async (ctx) => (await ctx.require<number>("a")) * 10) });
    c.register({ key: "c", factory: counted("c", async (ctx) => (await ctx.require<number>("a")) * 100) });
    c.register({
      key: "d",
      factory: counted(
        "d",
        async (ctx) => (await ctx.require<number>("b")) + (await ctx.require<number>("c")),
      ),
    });
    const tip: Array<number | undefined> = [];
    const branch: Array<number | undefined> = [];
    c.watch<number>("d").subscribe((x) => tip.push(x));
    c.watch<number>("b").subscribe((x) => branch.push(x));
    await c.require("d");
    store.set({ n: 2 });
    store.set({ n: 3 }); // before the rebuild ran: one rebuild, reading 3
    await settle();
    expect(tip).toEqual([110, undefined, 330]);
    expect(branch).toEqual([10, undefined, 30]);
    expect(builds).toEqual({ a: 2, b: 2, c: 2, d: 2 });
  });
});

describe("resolving again from what an invalidation notifies", () => {
  it("an artifact:invalidated handler that resolves the artifact at once gets it built from fresh dependencies", async () => {
    const c = new ArtifactContainer();
    let version = 0;
    c.register({ key: "a", factory: () => ++version });
    c.register({ key: "b", factory: async (ctx) => `b${await ctx.require("a")}` });
    c.register({ key: "d", factory: async (ctx) => `d(${await ctx.require("b")})` });
    expect(await c.require("d")).toBe("d(b1)");
    const again: Promise<unknown>[] = [];
    c.on("artifact:invalidated", (e) => {
      if (e.key === "d") again.push(c.require("d"));
    });
    await c.invalidate("a");
    expect(await again[0]).toBe("d(b2)");
    expect(c.peek("d")).toBe("d(b2)"); // not the stale d(b1) cached for good
  });

  it("a watch listener that resolves on undefined gets the diamond's tip built from fresh branches", async () => {
    const c = new ArtifactContainer();
    let version = 0;
    c.register({ key: "a", factory: () => ++version });
    c.register({ key: "b", factory: async (ctx) => `b${await ctx.require("a")}` });
    c.register({ key: "c", factory: async (ctx) => `c${await ctx.require("a")}` });
    c.register({
      key: "d",
      factory: async (ctx) => `d(${await ctx.require("b")},${await ctx.require("c")})`,
    });
    const got: unknown[] = [];
    c.watch("d").subscribe((x) => {
      if (x === undefined) void c.require("d").then((y) => got.push(y));
    });
    await c.require("d");
    await c.invalidate("a");
    await settle();
    expect(got).toEqual(["d(b2,c2)"]);
    expect(c.peek("d")).toBe("d(b2,c2)");
  });
});

describe("watch: a live derived value outlives a failed build", () => {
  it("is rebuilt when the state it selected changes after a failed rebuild", async () => {
    const store = createStateStore<{ user: { name: string } | null }>({ user: { name: "ada" } });
    const c = new ArtifactContainer({ store, onError: () => {} });
    c.register({ key: "name", factory: (ctx) => ctx.select((s) => s.user)!.name.toUpperCase() });
    const heard: Array<string | undefined> = [];
    c.watch<string>("name").subscribe((x) => heard.push(x));
    await c.require("name");
    store.set({ user: null }); // the rebuild throws
    await settle();
    expect(c.debugInfo().artifacts[0]!.status).toBe("failed");
    store.set({ user: { name: "grace" } });
    await settle();
    expect(heard).toEqual(["ADA", undefined, "GRACE"]);
  });

  it("is rebuilt when a dependency it read is invalidated after a failed build", async () => {
    const c = new ArtifactContainer({ onError: () => {} });
    let limit = 0;
    c.register({ key: "limit", factory: () => ++limit });
    c.register({
      key: "quota",
      factory: async (ctx) => {
        const n = await ctx.require<number>("limit");
        if (n < 2) throw new Error("limit not loaded yet");
        return `quota ${n}`;
      },
    });
    const heard: Array<string | undefined> = [];
    c.watch<string>("quota").subscribe((x) => heard.push(x));
    expect((await c.resolve("quota")).ok).toBe(false);
    await c.invalidate("limit");
    await settle();
    expect(heard).toEqual(["quota 2"]);
  });
});

describe("watch: listeners changed while a value is told", () => {
  it("a listener unsubscribed, or whose observer was disposed, by an earlier listener is not called", async () => {
    const c = new ArtifactContainer();
    c.register({ key: "n", factory: () => 1 });
    const obs = c.watch<number>("n");
    const other = c.watch<number>("n");
    const heard: string[] = [];
    let offSecond: () => void = () => {};
    obs.subscribe(() => {
      heard.push("first");
      offSecond();
      other.dispose();
      obs.subscribe(() => heard.push("added")); // hears the next value, not this one
    });
    offSecond = obs.subscribe(() => heard.push("second"));
    other.subscribe(() => heard.push("other"));
    await c.require("n");
    expect(heard).toEqual(["first"]);
  });
});

describe("cycles", () => {
  it("names the cycle itself when entered from outside it, between param values and between transients", async () => {
    const c = new ArtifactContainer();
    const edges = { w: "x", x: "y", y: "z", z: "x" };
    for (const [key, next] of Object.entries(edges)) {
      c.register({
        key,
        factory: async (ctx) => {
          await delay(1);
          return ctx.require(next);
        },
      });
    }
    c.register({ key: "p", param: true, factory: (ctx) => ctx.require("p", ctx.param === 1 ? 2 : 1) });
    c.register({ key: "t1", scope: "transient", factory: (ctx) => ctx.require("t2") });
    c.register({ key: "t2", scope: "transient", factory: (ctx) => ctx.require("t1") });
    const messages = await Promise.all(
      [c.resolve("w"), c.resolve("p", 1), c.resolve("t1")].map(async (r) => {
        const result = await r;
        return result.ok ? "built" : `${result.error.code}: ${result.error.message}`;
      }),
    );
    expect(messages).toEqual([
      "CIRCULAR_DEPENDENCY: circular dependency: x → y → z → x",
      "CIRCULAR_DEPENDENCY: circular dependency: p[1] → p[2] → p[1]",
      "CIRCULAR_DEPENDENCY: circular dependency: t1 → t2 → t1",
    ]);
  });
});

describe("a factory context kept past its build (a lazy getter)", () => {
  it("resolves lazily what is built from its own artifact: that breaks a cycle, it is not one", async () => {
    const c = new ArtifactContainer();
    c.register({ key: "users", factory: (ctx) => ({ orders: () => ctx.require<{ n: number }>("orders") }) });
    c.register({ key: "orders", factory: async (ctx) => ({ users: await ctx.require("users"), n: 1 }) });
    const users = await c.require<{ orders(): Promise<{ n: number }> }>("users");
    expect((await users.orders()).n).toBe(1);
  });

  it("selects untracked: a thousand reads leave no selection behind and a later change keeps the value", async () => {
    const store = createStateStore({ n: 1, other: 0 });
    const c = new ArtifactContainer({ store });
    let selectorRuns = 0;
    const n = (s: { n: number }) => {
      selectorRuns++;
      return s.n;
    };
    c.register({ key: "reader", factory: (ctx) => ({ n: () => ctx.select(n) }) });
    const reader = await c.require<{ n(): number }>("reader");
    for (let i = 0; i < 1000; i++) reader.n();
    selectorRuns = 0;
    store.set({ other: 1 });
    store.set({ n: 2 });
    expect(selectorRuns).toBe(0); // nothing re-runs the getter's selectors on a change
    expect(c.debugInfo().storeSubscribed).toBe(false);
    expect(c.peek("reader")).toBe(reader);
    expect(reader.n()).toBe(2);
  });
});

describe("onCleanup through a context kept past its build", () => {
  type Pool = { open(id: string): void };
  const pool = (log: string[]) => (ctx: { onCleanup(fn: () => void): void }) => ({
    open(id: string) {
      ctx.onCleanup(() => void log.push(`close ${id}`));
    },
  });

  it("joins the instance's cleanups: they run at its invalidation, or at once if it is already gone", async () => {
    const c = new ArtifactContainer();
    const log: string[] = [];
    c.register({ key: "pool", factory: pool(log) });
    const first = await c.require<Pool>("pool");
    first.open("a");
    await c.invalidate("pool");
    expect(log).toEqual(["close a"]);
    first.open("b"); // its instance is gone: nobody would ever run it later
    await settle();
    expect(log).toEqual(["close a", "close b"]);
  });

  it("runs at dispose() for a singleton and for a transient that registered none while building", async () => {
    const c = new ArtifactContainer();
    const log: string[] = [];
    c.register({ key: "pool", factory: pool(log) });
    c.register({ key: "session", scope: "transient", factory: pool(log) });
    (await c.require<Pool>("pool")).open("pooled");
    (await c.require<Pool>("session")).open("session");
    expect(c.debugInfo().retainedTransients).toBe(1);
    await c.dispose();
    expect(log.sort()).toEqual(["close pooled", "close session"]);
  });
});

describe("invalidation of a retrying build in flight", () => {
  it("starts the fresh build at once: no backoff, no retry of the stale attempt, no build:error", async () => {
    const c = new ArtifactContainer();
    let version = 0;
    const events: string[] = [];
    c.on("build:start", (e) => events.push(`start ${e.key} #${e.attempt}`));
    c.on("build:error", (e) => events.push(`error ${e.key}`));
    c.register({ key: "dep", factory: () => ++version });
    c.register({
      key: "svc",
      retries: { attempts: 3, backoffMs: 60_000, maxBackoffMs: 60_000 },
      factory: async (ctx) => {
        const d = await ctx.require<number>("dep");
        if (d === 1) {
          // a well-behaved factory stops when its signal aborts
          await new Promise((_, reject) =>
            ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)),
          );
        }
        return `svc@${d}`;
      },
    });
    const pending = c.require("svc");
    await delay(1);
    await c.invalidate("dep");
    expect(await pending).toBe("svc@2"); // before, only after the minute's backoff
    expect(events.filter((e) => e.includes("svc"))).toEqual(["start svc #1", "start svc #1"]);
  });
});

describe("dispose() while a build is in flight", () => {
  it("a transient finishing after dispose() gives its caller DISPOSED, as a singleton does, and is released", async () => {
    const c = new ArtifactContainer({ name: "run" });
    const g = gate();
    const closed: string[] = [];
    c.register({
      key: "conn",
      scope: "transient",
      factory: async (ctx) => {
        await g.promise;
        ctx.onCleanup(() => void closed.push("conn"));
        return "conn";
      },
    });
    const pending = c.resolve("conn");
    await delay(1);
    await c.dispose();
    g.open();
    const r = await pending;
    expect(r.ok ? "handed out" : r.error.code).toBe("DISPOSED");
    await settle();
    expect(closed).toEqual(["conn"]);
  });
});

describe("random graphs under concurrent resolves, invalidations and state changes", () => {
  /** A deterministic pseudo-random sequence in [0, 1). */
  const sequence = (seed: number) => () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };

  // Whatever the timing, once everything settled every cached value (watched or not, re-resolved
  // by an artifact:invalidated handler or not) must be the one built from the current leaves.
  it.each(Array.from({ length: 30 }, (_, i) => i + 1))(
    "seed %i: no stale value is left cached",
    async (seed) => {
      const random = sequence(seed);
      const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)]!;
      const store = createStateStore<Record<string, number>>({ s0: 0, s1: 0 });
      const c = new ArtifactContainer({ store, onError: () => {} });
      const versions: Record<string, number> = { L0: 0, L1: 0, L2: 0 };
      const reads: Record<string, string[]> = {};
      const keys: string[] = [];
      for (const leaf of Object.keys(versions)) {
        c.register({
          key: leaf,
          factory: async () => {
            if (random() < 0.5) await delay(Math.floor(random() * 3));
            return `${leaf}v${versions[leaf]}`;
          },
        });
        keys.push(leaf);
      }
      for (const slice of ["s0", "s1"]) {
        c.register({ key: slice, factory: (ctx) => `${slice}=${ctx.select((s) => s[slice])}` });
        keys.push(slice);
      }
      for (let i = 0; i < 8; i++) {
        const key = `N${i}`;
        const deps = keys.filter(() => random() < 0.35);
        if (deps.length === 0) deps.push(pick(keys));
        reads[key] = deps;
        const slow = random() < 0.5;
        c.register({
          key,
          factory: async (ctx) => {
            const values: string[] = [];
            for (const dep of deps) {
              values.push(await ctx.require<string>(dep));
              if (slow) await delay(Math.floor(random() * 2));
            }
            return `${key}(${values.join(",")})`;
          },
        });
        keys.push(key);
      }
      const expected = (key: string): string => {
        if (key in versions) return `${key}v${versions[key]}`;
        if (key in store.get()) return `${key}=${store.get()[key]}`;
        return `${key}(${reads[key]!.map(expected).join(",")})`;
      };
      for (const key of keys) if (random() < 0.3) c.watch(key).subscribe(() => {});
      if (random() < 0.5) {
        c.on("artifact:invalidated", (e) => {
          if (random() < 0.3) void c.resolve(e.key);
        });
      }
      const pending: Promise<unknown>[] = [];
      for (let op = 0; op < 40; op++) {
        const roll = random();
        if (roll < 0.5) pending.push(c.resolve(pick(keys)));
        else if (roll < 0.75) {
          const leaf = pick(Object.keys(versions));
          versions[leaf]!++;
          pending.push(c.invalidate(leaf));
        } else if (roll < 0.9) {
          const slice = pick(["s0", "s1"]);
          store.set({ [slice]: store.get()[slice]! + 1 });
        }
        if (random() < 0.3) await delay(Math.floor(random() * 2));
      }
      await Promise.all(pending);
      await delay(30);
      const stale = keys.filter((key) => c.peek(key) !== undefined && c.peek(key) !== expected(key));
      expect(stale.map((key) => `${key}: ${c.peek(key)}, not ${expected(key)}`)).toEqual([]);
      await c.dispose();
    },
  );
});
