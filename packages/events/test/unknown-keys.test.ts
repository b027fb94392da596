import { describe, expect, it } from "vitest";
import { createEventBus } from "../src/index.js";

describe("unknown keys of createEventBus's options", () => {
  it("refuses a misspelt option and takes onError", () => {
    expect(() => createEventBus({ onErr: () => {} } as never)).toThrow(
      expect.objectContaining({
        code: "INVALID_INPUT",
        message: "createEventBus: options.onErr is not an option (options: onError)",
      }),
    );
    const seen: string[] = [];
    const bus = createEventBus({ onError: (_error, type) => seen.push(type) });
    bus.on("a", () => {
      throw new Error("handler");
    });
    bus.emit("a", 1);
    expect(seen).toEqual(["a"]);
  });
});
