import { describe, expect, it } from "vitest";
import { LaterDelivery } from "../src/index.js";

describe("LaterDelivery", () => {
  it("delivers a macrotask after push, in push order; delivered() waits for items pushed during a delivery", async () => {
    const seen: string[] = [];
    const later: LaterDelivery<number> = new LaterDelivery<number>((type, n) => {
      seen.push(`${type}${n}`);
      if (n === 1) later.push("b", 3);
    });
    later.push("a", 1);
    later.push("a", 2);
    await Promise.resolve();
    expect(seen).toEqual([]);
    await later.delivered();
    expect(seen).toEqual(["a1", "a2", "b3"]);
  });

  it("clear() drops what is pending, the rest of a batch being delivered included", async () => {
    const seen: number[] = [];
    const later: LaterDelivery<number> = new LaterDelivery<number>((_type, n) => {
      seen.push(n);
      if (n === 2) later.clear();
    });
    for (const n of [1, 2, 3, 4]) later.push("e", n);
    await later.delivered();
    expect(seen).toEqual([1, 2]);
    later.push("e", 5);
    later.clear();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(seen).toEqual([1, 2]);
    later.push("e", 6);
    await later.delivered();
    expect(seen).toEqual([1, 2, 6]);
  });
});
