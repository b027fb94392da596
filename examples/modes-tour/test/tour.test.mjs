import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";

const root = join(import.meta.dirname, "..");

/** Runs one tour script; returns its output split into tours (by the "== mode" header). */
function run(script) {
  const r = spawnSync(process.execPath, [join("src", script)], {
    cwd: root,
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, "", "nothing reported on stderr");
  return r.stdout
    .split("\n== ")
    .slice(1)
    .map((block) => block.split("\n").map((line) => line.trim()));
}

/** The "job n → outcome …" lines and the finish order of one tour. */
function outcomes(lines) {
  return {
    dispatch: lines.filter((l) => l.startsWith("job ")).map((l) => l.replace(/\s+/g, " ")),
    finished: lines.find((l) => l.startsWith("finished in this order:")),
  };
}

test("transient: 2 start, 2 queue, the rest drop; a slow run finishes last", () => {
  const [tour] = run("transient.mjs").map(outcomes);
  assert.deepEqual(tour.dispatch, [
    "job 1 → started run#1",
    "job 2 → started run#2",
    "job 3 → queued run#3",
    "job 4 → queued run#4",
    "job 5 → dropped (queue is at capacity (2))",
    "job 6 → dropped (queue is at capacity (2))",
  ]);
  assert.match(tour.finished, /run#2 completed.*run#3 completed.*run#4 completed.*run#1 completed/);
});

test("serialized: one at a time in arrival order; beyond capacity dropped", () => {
  const [tour] = run("serialized.mjs").map(outcomes);
  assert.deepEqual(tour.dispatch, [
    "job 1 → started run#1",
    "job 2 → queued run#2",
    "job 3 → queued run#3",
    "job 4 → queued run#4",
    "job 5 → dropped (queue is at capacity (3))",
  ]);
  assert.match(tour.finished, /run#1 completed.*run#2 completed.*run#3 completed.*run#4 completed/);
});

test("serialized with a priority: queued runs start highest priority first, equal priorities in arrival order", () => {
  const [tour] = run("priority.mjs").map(outcomes);
  assert.deepEqual(tour.dispatch, [
    "job 1 → started run#1",
    "job 2 → queued run#2",
    "job 3 → queued run#3",
    "job 4 → queued run#4",
    "job 5 → queued run#5",
  ]);
  assert.match(
    tour.finished,
    /run#1 completed.*run#3 completed.*run#5 completed.*run#4 completed.*run#2 completed/,
  );
});

test("transient with a concurrency key: one job per customer at once; a free slot goes to a customer with room", () => {
  const [tour] = run("per-customer.mjs").map(outcomes);
  assert.deepEqual(tour.dispatch, [
    "job 1 → started run#1",
    "job 2 → queued run#2",
    "job 3 → started run#3",
    "job 4 → queued run#4",
    "job 5 → queued run#5",
  ]);
  // c's job 5 takes b's slot while a's jobs 2 and 4 wait for a's job 1; a's run one after another
  assert.match(
    tour.finished,
    /run#3 completed.*run#5 completed.*run#1 completed.*run#2 completed.*run#4 completed/,
  );
});

test("singleton_loop: drop, signal and replace", () => {
  const [drop, signal, replace] = run("singleton-loop.mjs").map(outcomes);
  assert.deepEqual(drop.dispatch, [
    "job 1 → started run#1",
    "job 2 → dropped (run#1 is active)",
    "job 3 → dropped (run#1 is active)",
    "job 4 → dropped (run#1 is active)",
    "job 5 → started run#5",
  ]);
  assert.equal(
    drop.finished,
    "finished in this order: run#1 completed [state.job=1], run#5 completed [state.job=5]",
  );

  assert.deepEqual(signal.dispatch, [
    "job 1 → started run#1",
    "job 2 → signalled into run#1",
    "job 3 → signalled into run#1",
    "job 4 → signalled into run#1",
  ]);
  assert.equal(signal.finished, "finished in this order: run#1 completed [state.job=4]");

  assert.deepEqual(replace.dispatch, [
    "job 1 → started run#1",
    "job 2 → replaced run#2 (aborts run#1)",
    "job 3 → replaced run#3 (aborts run#2)",
    "job 4 → replaced run#4 (aborts run#3)",
  ]);
  assert.equal(
    replace.finished,
    "finished in this order: run#1 aborted [state.job=1], run#2 aborted [state.job=2], run#3 aborted [state.job=3], run#4 completed [state.job=4]",
  );
});

test("exclusive: reject and queue_single (latest wins)", () => {
  const [reject, queueSingle] = run("exclusive.mjs").map(outcomes);
  assert.deepEqual(reject.dispatch, [
    "job 1 → started run#1",
    "job 2 → rejected (run#1 is active)",
    "job 3 → rejected (run#1 is active)",
    "job 4 → rejected (run#1 is active)",
    "job 5 → started run#5",
  ]);
  assert.equal(
    reject.finished,
    "finished in this order: run#1 completed [state.job=1], run#5 completed [state.job=5]",
  );

  assert.deepEqual(queueSingle.dispatch, [
    "job 1 → started run#1",
    "job 2 → queued run#2",
    "job 3 → dropped run#2 (superseded by run#3)",
    "job 3 → queued run#3",
    "job 4 → dropped run#3 (superseded by run#4)",
    "job 4 → queued run#4",
  ]);
  assert.equal(
    queueSingle.finished,
    "finished in this order: run#1 completed [state.job=1], run#4 completed [state.job=4]",
  );
});

test("all.mjs runs every tour", () => {
  assert.equal(run("all.mjs").length, 10);
});

test("serialized with pauses: parked runs give the slot back; resumed, they take it again one at a time, before new work", () => {
  const [lines] = run("resumes.mjs");
  assert.deepEqual(
    lines.filter((l) => l.startsWith("order ") || l.startsWith("at most")),
    [
      "order 1 asks for approval and parks (its slot goes back)",
      "order 2 asks for approval and parks (its slot goes back)",
      "order 3 asks for approval and parks (its slot goes back)",
      "order 1 ships",
      "order 2 ships",
      "order 3 ships",
      "order 4 starts (no approval needed)",
      "order 4 ships",
      "at most 1 order shipping at once",
    ],
  );
});
