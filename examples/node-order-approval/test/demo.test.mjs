import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

test("the demo ships the approved order, cancels the timed-out one, fails the invalid one", async () => {
  const db = join(mkdtempSync(join(tmpdir(), "sluice-demo-test-")), "timeline.sqlite");
  const run = spawnSync(process.execPath, ["src/main.mjs"], {
    cwd: join(import.meta.dirname, ".."),
    env: { ...process.env, SLUICE_DEMO_DB: db, NO_COLOR: "1" },
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /order A-100 .*→ shipped/);
  assert.match(run.stdout, /order B-200 .*→ cancelled/);
  assert.match(run.stdout, /order C-300 .*→ failed \(STEP_FAILED\)/);
  assert.match(run.stdout, /\(paused\)/);
  // the paused rows say what ended each pause: A-100's approval, B-200's timeout
  assert.match(run.stdout, /order A-100[\s\S]*?\(paused\).* \d+ ms, resumed by order\.approved\n/);
  assert.match(run.stdout, /order B-200[\s\S]*?\(paused\).* \d+ ms, timed out waiting for order\.approved\n/);

  // The timeline outlives the process: reopen the SQLite file and read it back.
  const { createSqliteTimelineStore } = await import("@sluice/timeline-sqlite");
  const store = await createSqliteTimelineStore({ filename: db });
  const { events } = await store.query({ workflowId: "orders", limit: 10_000 });
  await store.close();
  const types = new Set(events.map((e) => e.type));
  for (const t of ["run.started", "run.paused", "run.resumed", "run.completed", "run.failed", "log"]) {
    assert.ok(types.has(t), `timeline has ${t}`);
  }
  // run.resumed tells the approved order from the timed-out one
  const resumed = events.filter((e) => e.type === "run.resumed").map((e) => [e.data.by, e.data.event]);
  assert.deepEqual(resumed.sort(), [
    ["event", "order.approved"],
    ["timeout", "order.approved"],
  ]);

  // Run again on the same file (SLUICE_DEMO_DB keeps it): the count is of this run's events, not
  // of every run the file holds.
  const again = spawnSync(process.execPath, ["src/main.mjs"], {
    cwd: join(import.meta.dirname, ".."),
    env: { ...process.env, SLUICE_DEMO_DB: db, NO_COLOR: "1" },
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(again.status, 0, again.stderr);
  const count = (stdout) => stdout.match(/(\d+) timeline events stored in SQLite for 3 runs/)?.[1];
  assert.equal(count(again.stdout), count(run.stdout));
});

test("the demo's charts take the terminal's width (COLUMNS when stdout is a pipe)", () => {
  const widest = (columns) => {
    const run = spawnSync(process.execPath, ["src/main.mjs"], {
      cwd: join(import.meta.dirname, ".."),
      env: { ...process.env, SLUICE_DEMO_DB: ":memory:", NO_COLOR: "1", COLUMNS: String(columns) },
      encoding: "utf8",
      timeout: 30_000,
    });
    assert.equal(run.status, 0, run.stderr);
    // a row: label, "│", the bar (padded to the chart's width), a note
    const rows = run.stdout.split("\n").filter((line) => line.includes("│"));
    return Math.max(
      ...rows.map(
        (line) =>
          line
            .split("│")[1]
            .match(/^[ █░▲]*/)[0]
            .trimEnd().length,
      ),
    );
  };
  const narrow = widest(90);
  const wide = widest(170);
  assert.ok(narrow <= 30, `a 90-column terminal gets bars of at most 30 columns (got ${narrow})`);
  assert.ok(wide > 90, `a 170-column terminal gets bars over 90 columns wide (got ${wide})`);
});
