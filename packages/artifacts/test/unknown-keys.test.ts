import { createStateStore } from "@sluice/store";
import { describe, expect, it } from "vitest";
import { ArtifactContainer } from "../src/index.js";

const TEMPLATE_KEYS = "key, factory, scope, lazy, timeoutMs, retries, param, serialize";

describe("unknown keys of the container's options objects", () => {
  it("register refuses a misspelt template field as INVALID_DEFINITION, and takes every field", () => {
    const app = new ArtifactContainer();
    let built = 0;
    expect(() => app.register({ key: "a", factory: () => ++built, lazzy: false } as never)).toThrow(
      expect.objectContaining({
        code: "INVALID_DEFINITION",
        message: `template "a": "lazzy" is not an option (options: ${TEMPLATE_KEYS})`,
        details: { key: "a", path: "template.lazzy" },
      }),
    );
    expect(app.has("a")).toBe(false);
    expect(built).toBe(0);
    app.register({
      key: "b",
      factory: () => 1,
      scope: "singleton",
      lazy: true,
      timeoutMs: 100,
      retries: { attempts: 1, backoffMs: 0, factor: 1, maxBackoffMs: 0 },
      serialize: true,
    });
    app.register({ key: "c", factory: (ctx) => ctx.param, param: true });
    expect(app.has("b") && app.has("c")).toBe(true);
  });

  it("register refuses a misspelt retries field", () => {
    const app = new ArtifactContainer();
    expect(() =>
      app.register({ key: "a", factory: () => 1, retries: { attempts: 2, backofMs: 5 } } as never),
    ).toThrow(
      expect.objectContaining({
        code: "INVALID_DEFINITION",
        message:
          'template "a": "retries.backofMs" is not an option (options: attempts, backoffMs, factor, maxBackoffMs)',
      }),
    );
  });

  it("refuses an unknown key of register's, has's and invalidate's options", async () => {
    const app = new ArtifactContainer();
    app.register({ key: "a", factory: () => 1 });
    expect(() => app.register({ key: "a", factory: () => 2 }, { overide: true } as never)).toThrow(
      expect.objectContaining({
        code: "INVALID_INPUT",
        message: "register: options.overide is not an option (options: override)",
      }),
    );
    app.register({ key: "a", factory: () => 2 }, { override: true });
    expect(() => app.has("a", { onw: true } as never)).toThrow(
      "has: options.onw is not an option (options: own)",
    );
    expect(app.has("a", { own: true })).toBe(true);
    await expect(app.invalidate("a", { rebuld: true } as never)).rejects.toMatchObject({
      code: "INVALID_INPUT",
      message: "invalidate: options.rebuld is not an option (options: rebuild)",
    });
    await expect(app.invalidate("a", { rebuild: true })).resolves.toBeUndefined();
  });

  it("new ArtifactContainer, scope and from refuse an unknown option and take every known one", () => {
    const store = createStateStore({});
    expect(() => new ArtifactContainer({ nmae: "x" } as never)).toThrow(
      expect.objectContaining({
        code: "INVALID_INPUT",
        message:
          "new ArtifactContainer: options.nmae is not an option (options: store, name, runId, onError)",
      }),
    );
    const app = new ArtifactContainer({ store, name: "app", runId: "r1", onError: () => {} });
    expect(() => app.scope("s", { runID: "r2" } as never)).toThrow(
      "scope: options.runID is not an option (options: store, runId)",
    );
    expect(app.scope("s", { store, runId: "r2" }).runId).toBe("r2");
    expect(() => ArtifactContainer.from(store, undefined, [], { store } as never)).toThrow(
      "from: options.store is not an option (options: name, runId, onError)",
    );
    expect(
      ArtifactContainer.from(store, undefined, [], { name: "n", runId: "r", onError: () => {} }).name,
    ).toBe("n");
  });
});
