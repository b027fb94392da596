import { SystemError } from "@sluice/errors";
import { afterEach, describe, expect, it } from "vitest";
import { createEnvService, defaultGlobalEnv } from "../src/index.js";

const code = (c: string) => expect.objectContaining({ code: c });

describe("createEnvService", () => {
  it("resolves the first layer that defines a key, then later layers, then undefined", () => {
    const env = createEnvService({ REGION: "eu" }, { REGION: "us", DB: "pg://global" });
    expect(env.get("REGION")).toBe("eu");
    expect(env.get("DB")).toBe("pg://global");
    expect(env.get("MISSING")).toBeUndefined();
  });

  it("skips undefined layers and falls through keys whose value is undefined", () => {
    const env = createEnvService(undefined, { A: undefined }, { A: "global" });
    expect(env.get("A")).toBe("global");
    expect(createEnvService().get("A")).toBeUndefined();
  });

  it("keeps an empty string as a defined value", () => {
    const env = createEnvService({ A: "" }, { A: "global" });
    expect(env.get("A")).toBe("");
  });

  it("snapshots layers at creation: later changes to the source do not show", () => {
    const layer: Record<string, string | undefined> = { A: "1" };
    const env = createEnvService(layer);
    layer.A = "2";
    layer.B = "3";
    expect(env.get("A")).toBe("1");
    expect(env.get("B")).toBeUndefined();
  });

  it("is read-only: frozen, only get, no property access to variables", () => {
    const env = createEnvService({ KEY: "v" });
    expect(Object.isFrozen(env)).toBe(true);
    expect(Object.keys(env)).toEqual(["get"]);
    expect((env as any).KEY).toBeUndefined();
    expect(() => {
      (env as any).KEY = "x";
    }).toThrow(TypeError);
    expect(() => {
      (env as any).get = () => "hacked";
    }).toThrow(TypeError);
    expect(env.get("KEY")).toBe("v");
  });

  it("never answers from a prototype", () => {
    const env = createEnvService({ A: "1" });
    for (const key of ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty"]) {
      expect(env.get(key)).toBeUndefined();
    }
  });

  it("answers prototype-named keys that a layer really sets", () => {
    const env = createEnvService(JSON.parse('{"__proto__":"p","constructor":"c"}'));
    expect(env.get("__proto__")).toBe("p");
    expect(env.get("constructor")).toBe("c");
    expect(({} as any).polluted).toBeUndefined();
  });

  it("ignores inherited keys of a layer", () => {
    const layer = Object.create({ INHERITED: "x" });
    layer.OWN = "y";
    const env = createEnvService(layer);
    expect(env.get("INHERITED")).toBeUndefined();
    expect(env.get("OWN")).toBe("y");
  });

  it("rejects non-string values with INVALID_INPUT naming the layer and key", () => {
    let error: unknown;
    try {
      createEnvService({ OK: "1" }, { PORT: 8080 as unknown as string });
    } catch (e) {
      error = e;
    }
    expect(SystemError.is(error, "INVALID_INPUT")).toBe(true);
    expect((error as Error).message).toContain('layer 1, "PORT" must be a string');
    expect(() => createEnvService({ A: null as unknown as string })).toThrowError(code("INVALID_INPUT"));
  });

  it("rejects layers that are not objects", () => {
    expect(() => createEnvService("A=1" as any)).toThrowError(code("INVALID_INPUT"));
    expect(() => createEnvService(["x"] as any)).toThrowError(code("INVALID_INPUT"));
  });

  it("rejects non-string keys with INVALID_INPUT", () => {
    const env = createEnvService({ A: "1" });
    for (const bad of [undefined, null, 1, {}, Symbol("s")]) {
      expect(() => env.get(bad as any)).toThrowError(code("INVALID_INPUT"));
    }
    expect(() => env.get(1 as any)).toThrowError("env.get: the key must be a string (got 1)");
    expect(() => env.get({} as any)).toThrowError("env.get: the key must be a string (got an object)");
  });

  it("says only the type of a bad layer or value, never the value: it may be a secret", () => {
    expect(() => createEnvService("API_KEY=s3cret" as any)).toThrowError(
      "createEnvService: layer 0 must be an object of string values (got string)",
    );
    expect(() => createEnvService({ PIN: 1234 as unknown as string })).toThrowError(
      'createEnvService: layer 0, "PIN" must be a string or undefined (got number); convert it, e.g. String(value)',
    );
  });
});

describe("defaultGlobalEnv", () => {
  const saved = process.env.SLUICE_ENV_TEST;
  afterEach(() => {
    if (saved === undefined) delete process.env.SLUICE_ENV_TEST;
    else process.env.SLUICE_ENV_TEST = saved;
  });

  it("is process.env in Node, and the workflow layer overrides it", () => {
    process.env.SLUICE_ENV_TEST = "global";
    expect(defaultGlobalEnv()).toBe(process.env);
    expect(createEnvService(defaultGlobalEnv()).get("SLUICE_ENV_TEST")).toBe("global");
    expect(createEnvService({ SLUICE_ENV_TEST: "wf" }, defaultGlobalEnv()).get("SLUICE_ENV_TEST")).toBe("wf");
  });

  it("is an empty layer where there is no process global (browsers)", () => {
    const descriptor = Object.getOwnPropertyDescriptor(globalThis, "process")!;
    Object.defineProperty(globalThis, "process", { value: undefined, configurable: true, writable: true });
    try {
      expect(defaultGlobalEnv()).toEqual({});
    } finally {
      Object.defineProperty(globalThis, "process", descriptor);
    }
  });
});
