import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createSqliteTimelineStore } from "@sluice/timeline-sqlite";

const root = join(import.meta.dirname, "..");

/** Runs a script of the example in its own Node process; returns its stdout lines. */
function run(script, ...args) {
  const r = spawnSync(process.execPath, [join("src", script), ...args], {
    cwd: root,
    env: { ...process.env, NO_COLOR: "1" },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: r.status, stderr: r.stderr, lines: r.stdout.split("\n") };
}

/** Every event in the SQLite file, by run id, each run's in seq order. */
async function readTimeline(filename) {
  const store = await createSqliteTimelineStore({ filename });
  const byRun = new Map();
  try {
    let page = await store.query({ limit: 10_000 });
    for (;;) {
      for (const e of page.events) byRun.set(e.runId, [...(byRun.get(e.runId) ?? []), e]);
      if (page.next === undefined) break;
      page = await store.query({ limit: 10_000, next: page.next });
    }
  } finally {
    await store.close();
  }
  for (const events of byRun.values()) events.sort((a, b) => a.seq - b.seq);
  return byRun;
}

/** `runId → startedAt (epoch ms)` from lines matching `pattern` (groups: run id, ISO time). */
function startTimes(lines, pattern) {
  const times = new Map();
  for (const line of lines) {
    const m = line.match(pattern);
    if (m) times.set(m[1], Date.parse(m[2]));
  }
  return times;
}

test("runs parked in process 1 finish in process 2, each on one unbroken timeline", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sluice-restart-test-"));
  const db = join(dir, "timeline.sqlite");
  const checkpointsFile = join(dir, "checkpoints.json");

  const first = run("first-process.mjs", db, checkpointsFile);
  assert.equal(first.status, 0, first.stderr);
  assert.equal(first.stderr, "");
  const parked = startTimes(first.lines, /^\s+run (\S+)\s+paused before "ship"\s+started (\S+)$/);
  assert.equal(parked.size, 3, first.lines.join("\n"));

  // What process 1 left: every run paused before "ship", none ended (stop() found nothing to abort).
  const before = await readTimeline(db);
  assert.deepEqual([...before.keys()].sort(), [...parked.keys()].sort());
  for (const [runId, events] of before) {
    assert.equal(events.at(-1).type, "run.paused", runId);
    assert.equal(events.at(-1).data.nextStage, "ship");
    for (const e of events)
      assert.ok(!/^run\.(aborted|completed|failed)$/.test(e.type), `${runId}: ${e.type}`);
  }
  const { checkpoints } = JSON.parse(readFileSync(checkpointsFile, "utf8"));
  assert.deepEqual(checkpoints.map((c) => c.runId).sort(), [...parked.keys()].sort());
  for (const c of checkpoints) {
    assert.equal(c.startedAt, parked.get(c.runId), `${c.runId}: the checkpoint keeps the start time`);
    assert.equal(
      c.seq,
      before.get(c.runId).at(-1).seq,
      `${c.runId}: the checkpoint's seq is the last written`,
    );
  }

  const second = run("second-process.mjs", db, checkpointsFile);
  assert.equal(second.status, 0, second.stderr);
  assert.equal(second.stderr, "");
  const adopted = startTimes(second.lines, /^\s+adopted (\S+)\s+\S+\s+paused before "ship"\s+started (\S+)$/);
  assert.deepEqual(adopted, parked, "each adopted run keeps the startedAt it had in process 1");

  const states = {};
  for (const line of second.lines) {
    const m = line.match(/^\s+(\S+)\s+run (\S+)\s+completed → \w+\s+(\{.*\})$/);
    if (m) states[m[1]] = { runId: m[2], state: JSON.parse(m[3]) };
  }
  assert.deepEqual(states["A-100"]?.state, {
    orderId: "A-100",
    total: 42,
    approvedBy: "ann",
    outcome: "shipped",
  });
  assert.deepEqual(states["B-200"]?.state, {
    orderId: "B-200",
    total: 17,
    rejectedBy: "bob",
    reason: "address unknown",
    outcome: "rejected",
  });
  assert.deepEqual(states["C-300"]?.state, {
    orderId: "C-300",
    total: 99,
    approvalWindowMs: 2000,
    timedOut: true,
    outcome: "cancelled",
  });
  assert.deepEqual(
    Object.values(states)
      .map((s) => s.runId)
      .sort(),
    [...parked.keys()].sort(),
  );

  // One timeline per run: process 1's events unchanged, then process 2's, seq 1..n without a gap.
  const after = await readTimeline(db);
  assert.deepEqual([...after.keys()].sort(), [...parked.keys()].sort());
  for (const [runId, events] of after) {
    const mine = before.get(runId);
    assert.deepEqual(
      events.slice(0, mine.length),
      mine,
      `${runId}: process 1's events come first, unchanged`,
    );
    assert.deepEqual(
      events.map((e) => e.seq),
      events.map((_, i) => i + 1),
      `${runId}: seq runs 1..n`,
    );
    assert.equal(events.filter((e) => e.type === "run.started").length, 1, `${runId}: started once`);
    assert.equal(events[mine.length].type, "run.resumed", `${runId}: process 2 begins with run.resumed`);
    assert.equal(events.at(-1).type, "run.completed", runId);
    assert.ok(!events.some((e) => e.type === "run.aborted"), `${runId}: never aborted`);
  }

  // A checkpoint continues once: the file was claimed, so a second adoption finds nothing.
  const again = run("second-process.mjs", db, checkpointsFile);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /nothing to adopt/);
  assert.deepEqual(await readTimeline(db), after);
});

test("npm start runs both processes and tells the whole story", () => {
  const { SLUICE_RESTART_DB, SLUICE_RESTART_CHECKPOINTS, ...env } = process.env; // its own temp dir
  const r = spawnSync(process.execPath, ["src/main.mjs"], {
    cwd: root,
    env: { ...env, NO_COLOR: "1" },
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, "");
  assert.match(r.stdout, /\[process 1, pid \d+\][\s\S]*3 checkpoints written[\s\S]*\[process 2, pid \d+\]/);
  assert.match(r.stdout, /A-100 +run \S+ +completed → shipped/);
  assert.match(r.stdout, /B-200 +run \S+ +completed → rejected/);
  assert.match(r.stdout, /C-300 +run \S+ +completed → cancelled/);
  assert.match(r.stdout, /process \d+: 1 run\.started .* 12 run\.paused\n +process \d+: 13 run\.resumed/);
});
