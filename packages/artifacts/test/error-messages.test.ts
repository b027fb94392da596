import { SystemError } from "@sluice/errors";
import { describe, expect, it } from "vitest";
import { ArtifactContainer } from "../src/index.js";

// Each message names the call, what was given and what to pass instead.
describe("argument errors say what was given", () => {
  const cases: Array<[string, (c: ArtifactContainer) => unknown, string, string]> = [
    [
      "register without key",
      (c) => c.register({ factory: () => 1 } as never),
      "INVALID_DEFINITION",
      "template.key must be a non-empty string, got undefined",
    ],
    [
      "register without factory",
      (c) => c.register({ key: "db" } as never),
      "INVALID_DEFINITION",
      'template "db": "factory" must be a function, got undefined',
    ],
    [
      "extend with a non-container",
      (c) => c.extend({} as never),
      "INVALID_INPUT",
      "extend: parent must be an ArtifactContainer (one of this copy of @sluice/artifacts), got an object",
    ],
    [
      "scope without a name",
      (c) => c.scope(undefined as never),
      "INVALID_INPUT",
      "scope: name must be a non-empty string, got undefined",
    ],
    [
      "scope with a number",
      (c) => c.scope(7 as never),
      "INVALID_INPUT",
      "scope: name must be a non-empty string, got 7",
    ],
    [
      "extend with a Map",
      (c) => c.extend(new Map() as never),
      "INVALID_INPUT",
      "extend: parent must be an ArtifactContainer (one of this copy of @sluice/artifacts), got an instance of Map",
    ],
    [
      "register with a key instead of a template",
      (c) => c.register("db" as never),
      "INVALID_DEFINITION",
      'template must be an object, got "db"',
    ],
  ];
  for (const [name, call, code, message] of cases) {
    it(name, () => {
      const container = new ArtifactContainer({ name: "root" });
      let error: unknown;
      try {
        call(container);
      } catch (e) {
        error = e;
      }
      expect(SystemError.is(error, code as never)).toBe(true);
      expect((error as SystemError).message).toBe(message);
    });
  }
});
