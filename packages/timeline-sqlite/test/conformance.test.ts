import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeTimelineConformance } from "@sluice/timeline/conformance/vitest";
import { afterAll } from "vitest";
import { createSqliteTimelineStore } from "../src/index.js";

// The suite on real SQLite files (a fresh file per store, reopened over the same file), and once
// more on ":memory:" databases.
const dir = mkdtempSync(join(tmpdir(), "sluice-sqlite-conformance-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
let filename = "";
describeTimelineConformance("timeline-sqlite (file)", {
  create: () => createSqliteTimelineStore({ filename: (filename = join(dir, `t${++files}.db`)) }),
  reopen: () => createSqliteTimelineStore({ filename }),
});
describeTimelineConformance("timeline-sqlite (:memory:)", {
  create: () => createSqliteTimelineStore({ filename: ":memory:" }),
});
