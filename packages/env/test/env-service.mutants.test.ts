import { describe, expect, it } from "vitest";
import { createEnvService } from "../src/index.js";

describe("createEnvService layers", () => {
  it("skips a null layer as it skips an undefined one", () => {
    const env = createEnvService(null as never, { REGION: "eu" }, undefined, null as never);
    expect(env.get("REGION")).toBe("eu");
    expect(env.get("OTHER")).toBeUndefined();
  });
});
