import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { IdMap } from "../src/index.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

describe("IdMap trial", () => {
  it("gives its index memory back on clear() and when emptied after a burst, as documented", () => {
    for (const empty of ["clear", "delete every id"]) {
      gc();
      const before = process.memoryUsage().arrayBuffers;
      const map = new IdMap<number>();
      for (let i = 0; i < 500_000; i++) map.set(`id-${i}`, i);
      if (empty === "clear") map.clear();
      else for (let i = 0; i < 500_000; i++) map.delete(`id-${i}`);
      gc();
      // the index held 8 bytes a slot (4 MB here); a few hundred KB of slack for the rest
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1_000_000);
      map.set("again", 1);
      expect(map.get("again")).toBe(1);
    }
  });
});
