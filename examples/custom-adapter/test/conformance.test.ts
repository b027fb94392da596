import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeTimelineConformance } from "@sluice/timeline/conformance/vitest";
import { describe, expect, it } from "vitest";
import { createJsonLinesTimelineStore } from "../src/index.js";

// A fresh file per store; reopen() reopens the newest one; cleanup() removes them all.
const dirs: string[] = [];
const newFile = () => join(dirs[dirs.push(mkdtempSync(join(tmpdir(), "sluice-jsonl-"))) - 1]!, "t.jsonl");
const lastFile = () => join(dirs.at(-1)!, "t.jsonl");

describeTimelineConformance("timeline-jsonl", {
  create: () => createJsonLinesTimelineStore({ filename: newFile() }),
  reopen: () => createJsonLinesTimelineStore({ filename: lastFile() }),
  cleanup: () => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  },
});

describe("createJsonLinesTimelineStore options", () => {
  it("refuses a misspelt option, naming it and the options, like Sluice's adapters", async () => {
    await expect(
      createJsonLinesTimelineStore({ filename: newFile(), fileName: "x" } as never),
    ).rejects.toMatchObject({
      code: "INVALID_INPUT",
      message: "createJsonLinesTimelineStore: options.fileName is not an option (options: filename)",
    });
  });
});
