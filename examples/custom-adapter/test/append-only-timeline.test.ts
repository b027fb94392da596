import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeTimelineConformance } from "@sluice/timeline/conformance/vitest";
import { createAppendOnlyTimelineStore } from "./fixtures/append-only-timeline-store.js";

const dirs: string[] = [];
const newFile = () => join(dirs[dirs.push(mkdtempSync(join(tmpdir(), "sluice-log-"))) - 1]!, "t.jsonl");
const lastFile = () => join(dirs.at(-1)!, "t.jsonl");
const cleanup = () => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
};

// deletes kept as tombstones (replayed on open), then compacted at every delete
for (const compactAfter of [Number.POSITIVE_INFINITY, 0]) {
  describeTimelineConformance(`timeline-log (compactAfter ${compactAfter})`, {
    create: () => createAppendOnlyTimelineStore({ filename: newFile(), compactAfter }),
    reopen: () => createAppendOnlyTimelineStore({ filename: lastFile(), compactAfter }),
    cleanup,
  });
}
