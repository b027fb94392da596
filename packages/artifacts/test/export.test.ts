import { createStateStore } from "@sluice/store";
import { describe, expect, it } from "vitest";
import { ArtifactContainer, type ArtifactTemplate } from "../src/index.js";
import { errorSink } from "./helpers.js";

class Money {
  constructor(readonly cents: number) {}
}

describe("export and from", () => {
  it("exports only built singletons whose template opted in, as plain JSON, and restores them", async () => {
    let factoryRuns = 0;
    const templates: ArtifactTemplate<any>[] = [
      { key: "settings", serialize: true, factory: () => ({ theme: "dark", n: ++factoryRuns }) },
      {
        key: "price",
        serialize: { serialize: (m: Money) => m.cents, deserialize: (d) => new Money(d as number) },
        factory: () => new Money(1999),
      },
      { key: "rates", param: true, serialize: true, factory: (ctx) => ({ region: ctx.param }) },
      { key: "socket", factory: () => ({ open: true }) },
      { key: "unbuilt", serialize: true, factory: () => "never built" },
    ];
    const a = new ArtifactContainer({ name: "a" });
    for (const t of templates) a.register(t);
    await a.require("settings");
    await a.require("price");
    await a.require("rates", "eu");
    await a.require("socket");
    const bundle = a.export();
    const json = JSON.parse(JSON.stringify(bundle));
    expect(json).toEqual({
      format: "sluice.artifacts",
      version: 1,
      container: "a",
      artifacts: [
        { key: "settings", data: { theme: "dark", n: 1 } },
        { key: "price", data: 1999 },
        { key: "rates", param: "eu", data: { region: "eu" } },
      ],
    });

    const b = ArtifactContainer.from(createStateStore({}), json, templates, { name: "b" });
    expect(b.name).toBe("b");
    expect(b.peek("settings")).toEqual({ theme: "dark", n: 1 });
    expect(b.peek<Money>("price")).toBeInstanceOf(Money);
    expect(b.peek<Money>("price")!.cents).toBe(1999);
    expect(b.peek("rates", "eu")).toEqual({ region: "eu" });
    expect(b.peek("socket")).toBeUndefined();
    expect(factoryRuns).toBe(1);
    expect(await b.require("socket")).toEqual({ open: true });
  });

  it("from() without a bundle registers templates and starts eager ones", async () => {
    const c = ArtifactContainer.from(createStateStore({ n: 3 }), undefined, [
      { key: "eager", lazy: false, factory: (ctx) => ctx.state().n * 2 },
    ]);
    await new Promise((r) => setTimeout(r, 0));
    expect(c.peek("eager")).toBe(6);
  });

  it("rejects a malformed bundle with INVALID_INPUT and skips unknown keys", () => {
    const store = createStateStore({});
    expect(() => ArtifactContainer.from(store, { nope: 1 } as never)).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT" }),
    );
    expect(() =>
      ArtifactContainer.from(store, {
        format: "sluice.artifacts",
        version: 1,
        container: "x",
        artifacts: [{}],
      } as never),
    ).toThrow(
      expect.objectContaining({
        code: "INVALID_INPUT",
        message: expect.stringContaining("artifacts[0].key"),
      }),
    );
    const c = ArtifactContainer.from(store, {
      format: "sluice.artifacts",
      version: 1,
      container: "x",
      artifacts: [{ key: "gone", data: 1 }],
    });
    expect(c.debugInfo().artifacts).toEqual([]);
  });

  it("a hostile bundle cannot reach a prototype", () => {
    const hostile = JSON.parse(
      '{"format":"sluice.artifacts","version":1,"container":"x","artifacts":[{"key":"cfg","data":{"__proto__":{"polluted":true}}}],"__proto__":{"polluted":true}}',
    );
    const c = ArtifactContainer.from(createStateStore({}), hostile, [
      { key: "cfg", serialize: true, factory: () => ({}) },
    ]);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
    expect(c.peek("cfg")).toBeDefined();
  });

  it("a failing deserialize is reported and leaves the artifact to be built", async () => {
    const sink = errorSink();
    const c = ArtifactContainer.from(
      createStateStore({}),
      { format: "sluice.artifacts", version: 1, container: "x", artifacts: [{ key: "v", data: "bad" }] },
      [
        {
          key: "v",
          serialize: {
            serialize: (x: number) => x,
            deserialize: () => {
              throw new Error("corrupt");
            },
          },
          factory: () => 42,
        },
      ],
      { onError: sink.onError },
    );
    expect(sink.errors.map((e) => e.code)).toEqual(["INVALID_INPUT"]);
    expect(await c.require("v")).toBe(42);
  });
});

describe("export() with serialize: true", () => {
  it("exports a JSON copy, detached from the live instance", async () => {
    const c = new ArtifactContainer({ name: "c" });
    c.register({ key: "cfg", serialize: true, factory: () => ({ theme: "dark", since: new Date(0) }) });
    const live = await c.require<{ theme: string }>("cfg");
    const bundle = c.export();
    const data = bundle.artifacts[0]!.data as Record<string, unknown>;
    expect(data).toEqual({ theme: "dark", since: "1970-01-01T00:00:00.000Z" });
    live.theme = "light";
    expect(data.theme).toBe("dark");
    await c.dispose();
  });

  for (const [name, value] of [
    [
      "a cycle",
      (() => {
        const o: Record<string, unknown> = {};
        o.self = o;
        return o;
      })(),
    ],
    ["a BigInt", { n: 10n }],
  ] as const) {
    it(`a value holding ${name} makes export() throw INVALID_STATE naming the artifact`, async () => {
      const c = new ArtifactContainer({ name: "c" });
      c.register({ key: "bad", serialize: true, factory: () => value });
      await c.require("bad");
      expect(() => c.export()).toThrow(
        expect.objectContaining({ code: "INVALID_STATE", message: expect.stringContaining('"bad"') }),
      );
      await c.dispose();
    });
  }
});
