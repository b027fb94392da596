// Append and query throughput of the built SQLite adapter, as wall time and as this process's CPU time.
// Run: pnpm --filter @sluice/timeline-sqlite build && pnpm --filter @sluice/timeline-sqlite bench
//
// On a shared machine wall time mostly measures the neighbours; CPU time (process.cpuUsage(), user +
// system) is what the adapter itself spends, and system time is where the WAL writes and checkpoints
// show. Every figure is over several rounds on fresh files (best and median).
//
// Flags (after `pnpm --filter @sluice/timeline-sqlite bench --`):
//   --baseline <entry>  also run another build (e.g. the previous release's dist/index.js, copied
//                       into this package's node_modules/ so its imports resolve) in alternating
//                       rounds, and print current / baseline ratios
//   --rounds <n>        rounds per figure (default 5)
//   --layouts           compare table layouts in raw SQL (same rows, same statements), :memory: and
//                       file, with the WAL pages each batch writes
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : (args[i + 1] ?? "");
};
const ROUNDS = Number(flag("--rounds") ?? 5);
const baselineEntry = flag("--baseline");

const dir = mkdtempSync(join(tmpdir(), "sluice-sqlite-bench-"));
let files = 0;
const newFile = () => join(dir, `bench${files++}.db`);

function makeEvents(count, runs, prefix) {
  const events = new Array(count);
  for (let i = 0; i < count; i++) {
    const run = i % runs;
    const seq = Math.floor(i / runs);
    events[i] = {
      id: `${prefix}-${run}-${seq}`,
      runId: `${prefix}-run-${run}`,
      workflowId: "orders",
      seq,
      at: 1_700_000_000_000 + i,
      source: "pipeline",
      type: "step.completed",
      stage: "fulfil",
      step: "ship",
      data: { orderId: `o-${i}`, amount: i % 997, ok: true },
    };
  }
  return events;
}

function batches(events, size) {
  const out = [];
  for (let i = 0; i < events.length; i += size) out.push(events.slice(i, i + size));
  return out;
}

/** Runs `fn` and returns its wall and CPU milliseconds (CPU split into user and system). */
async function timed(fn) {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await fn();
  const wall = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { wall, cpu: (used.user + used.system) / 1000, sys: used.system / 1000 };
}

// Timed: every append, then close() (which checkpoints what the WAL still holds into the file), so
// checkpoint work a setting merely postpones is still counted. With `concurrent`, that many appends
// are issued at once and awaited together (callers that do not wait for each other, such as several
// runtimes sharing one store); otherwise each append waits for the previous one.
async function appendRound(create, batchSize, total, filename, concurrent = 1) {
  const store = await create({ filename });
  await store.append(makeEvents(1000, 10, "warm"));
  const work = batches(makeEvents(total, 100, `b${batchSize}`), batchSize);
  return timed(async () => {
    if (concurrent === 1) for (const batch of work) await store.append(batch);
    else {
      for (let i = 0; i < work.length; i += concurrent) {
        await Promise.all(work.slice(i, i + concurrent).map((batch) => store.append(batch)));
      }
    }
    await store.close();
  });
}

async function queryRound(store, limit) {
  let count = 0;
  const t = await timed(async () => {
    let next;
    do {
      const page = await store.query(
        next === undefined ? { runId: "target-run-0", limit } : { runId: "target-run-0", limit, next },
      );
      count += page.events.length;
      next = page.next;
    } while (next !== undefined);
  });
  if (count !== 10_000) throw new Error(`expected 10000 events, read ${count}`);
  return t;
}

async function filledForQuery(create) {
  const store = await create({ filename: newFile() });
  // The run of interest among 90k events of other runs.
  for (const batch of batches(makeEvents(90_000, 90, "other"), 1000)) await store.append(batch);
  for (const batch of batches(makeEvents(10_000, 1, "target"), 1000)) await store.append(batch);
  return store;
}

const sorted = (xs) => [...xs].sort((a, b) => a - b);
const median = (xs) => sorted(xs)[xs.length >> 1];
const best = (xs) => sorted(xs)[0];
// Events per second from milliseconds.
const rate = (events, ms) => (events / ms) * 1000;
const fmt = (n) => Math.round(n).toLocaleString("en-US");

/** Summary of one implementation on one scenario: events/s by wall and by CPU, best and median. */
function summarize(events, samples) {
  const wall = samples.map((s) => s.wall);
  const cpu = samples.map((s) => s.cpu);
  return {
    wallBest: rate(events, best(wall)),
    wallMedian: rate(events, median(wall)),
    cpuBest: rate(events, best(cpu)),
    cpuMedian: rate(events, median(cpu)),
    sysShare: median(samples.map((s) => s.sys / s.cpu)),
  };
}

const APPENDS = [
  { name: "batch 1, file", batch: 1, total: 10_000, file: true },
  { name: "batch 1, 100 at once, file", batch: 1, total: 10_000, file: true, concurrent: 100 },
  { name: "batch 100, file", batch: 100, total: 100_000, file: true },
  { name: "batch 1000, file", batch: 1000, total: 200_000, file: true },
  { name: "batch 1000, :memory:", batch: 1000, total: 200_000, file: false },
];

async function benchAdapters(impls) {
  const rows = [];
  for (const scenario of APPENDS) {
    const samples = impls.map(() => []);
    // One unmeasured round each warms the JIT; then the implementations alternate round by round, so
    // a burst of load from elsewhere hits both.
    for (let round = -1; round < ROUNDS; round++) {
      for (let i = 0; i < impls.length; i++) {
        const t = await appendRound(
          impls[i].create,
          scenario.batch,
          scenario.total,
          scenario.file ? newFile() : ":memory:",
          scenario.concurrent,
        );
        if (round >= 0) samples[i].push(t);
      }
    }
    rows.push({
      name: `append, ${scenario.name}`,
      results: samples.map((s) => summarize(scenario.total, s)),
    });
  }
  const stores = [];
  for (const impl of impls) stores.push(await filledForQuery(impl.create));
  for (const limit of [10_000, 1000]) {
    const samples = impls.map(() => []);
    for (let round = -1; round < ROUNDS; round++) {
      for (let i = 0; i < impls.length; i++) {
        const t = await queryRound(stores[i], limit);
        if (round >= 0) samples[i].push(t);
      }
    }
    rows.push({
      name: `query one run's 10k events, pages of ${limit}`,
      results: samples.map((s) => summarize(10_000, s)),
    });
  }
  for (const store of stores) await store.close();
  return rows;
}

function printAdapters(impls, rows) {
  console.log(
    "events/s (higher is better); CPU = this process's user + system time; sys = system share of CPU\n",
  );
  console.log("| figure | build | wall best | wall median | CPU best | CPU median | sys |");
  console.log("|---|---|---:|---:|---:|---:|---:|");
  for (const row of rows) {
    row.results.forEach((r, i) => {
      console.log(
        `| ${row.name} | ${impls[i].name} | ${fmt(r.wallBest)} | ${fmt(r.wallMedian)} | ${fmt(r.cpuBest)} | ` +
          `${fmt(r.cpuMedian)} | ${Math.round(r.sysShare * 100)}% |`,
      );
    });
  }
  if (impls.length === 2) {
    console.log(`\n${impls[0].name} / ${impls[1].name} (above 1: ${impls[0].name} is faster)\n`);
    console.log("| figure | wall best | wall median | CPU best | CPU median |");
    console.log("|---|---:|---:|---:|---:|");
    for (const {
      name,
      results: [a, b],
    } of rows) {
      const x = (k) => (a[k] / b[k]).toFixed(2);
      console.log(
        `| ${name} | ${x("wallBest")} | ${x("wallMedian")} | ${x("cpuBest")} | ${x("cpuMedian")} |`,
      );
    }
  }
  const goal = rows.find((r) => r.name === "append, batch 1000, file").results[0];
  const memory = rows.find((r) => r.name === "append, batch 1000, :memory:").results[0];
  const verdict = (n) => `${fmt(n)} ${n >= 200_000 ? "(met)" : "(NOT met)"}`;
  console.log(
    `\ngoal >= 200,000 events/s at batch 1000 (${impls[0].name}, median): file CPU ${verdict(goal.cpuMedian)}, ` +
      `file wall ${verdict(goal.wallMedian)}, :memory: CPU ${verdict(memory.cpuMedian)}`,
  );
}

// Raw-SQL layouts: the same events through a multi-row INSERT OR IGNORE (values spread as arguments,
// as the adapter binds them) with the adapter's WAL settings, so only the table and index structure
// differs. Schema 2's run and workflow keys come from a Map, as the adapter's cache gives them.
const V1_COLUMNS = "id, run_id, workflow_id, seq, at, source, type, stage, step, level, message, data";
const V1_DEFS =
  "run_id TEXT NOT NULL, workflow_id TEXT NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL, " +
  "source TEXT NOT NULL, type TEXT NOT NULL, stage TEXT, step TEXT, level TEXT, message TEXT, data TEXT";
const V1_SECONDARY =
  "CREATE INDEX t_run ON t (run_id, at, seq, id); CREATE INDEX t_workflow ON t (workflow_id, at, seq, id);";
const V2_COLUMNS = "id, run_key, workflow_key, seq, at, body";
const V2_DEFS =
  "run_key INTEGER NOT NULL, workflow_key INTEGER NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL, body TEXT NOT NULL";
const V2_INDEXES =
  "CREATE INDEX t_run ON t (run_key, at, seq); CREATE INDEX t_workflow ON t (workflow_key, at, seq); CREATE INDEX t_time ON t (at, seq);";
const v1Row = (e) => [
  e.id,
  e.runId,
  e.workflowId,
  e.seq,
  e.at,
  e.source,
  e.type,
  e.stage,
  e.step,
  null,
  null,
  JSON.stringify(e.data),
];
const v2Row = (e, key) => [
  e.id,
  key(e.runId),
  key(e.workflowId),
  e.seq,
  e.at,
  JSON.stringify([e.source, e.type, e.stage ?? null, e.step ?? null, null, null, e.data]),
];
const LAYOUTS = [
  {
    name: "schema 1: rowid table, id PRIMARY KEY, 3 indexes ending in id, 12 columns",
    sql: `CREATE TABLE t (id TEXT NOT NULL PRIMARY KEY, ${V1_DEFS}); ${V1_SECONDARY} CREATE INDEX t_time ON t (at, seq, id);`,
    columns: V1_COLUMNS,
    row: v1Row,
  },
  {
    name: "schema 1 columns, WITHOUT ROWID on (at, seq, id), UNIQUE (id), 2 indexes",
    sql: `CREATE TABLE t (id TEXT NOT NULL, ${V1_DEFS}, PRIMARY KEY (at, seq, id)) WITHOUT ROWID; CREATE UNIQUE INDEX t_id ON t (id); ${V1_SECONDARY}`,
    columns: V1_COLUMNS,
    row: v1Row,
  },
  {
    name: "schema 2: rowid table, id PRIMARY KEY, integer keys, 3 indexes on (…, at, seq), JSON body",
    sql: `CREATE TABLE t (id TEXT NOT NULL PRIMARY KEY, ${V2_DEFS}); ${V2_INDEXES}`,
    columns: V2_COLUMNS,
    row: v2Row,
  },
  {
    // As the store writes since schema 3 (src/staging.ts): rows go to a table with no index, and are
    // moved into the indexed table in one INSERT ... SELECT every `staged` rows.
    name: "schema 3: schema 2 + appends staged in a table without index, moved every 8000 rows",
    sql: `CREATE TABLE t (id TEXT NOT NULL PRIMARY KEY, ${V2_DEFS}); ${V2_INDEXES} CREATE TABLE s (${V2_COLUMNS});`,
    columns: V2_COLUMNS,
    row: v2Row,
    staged: 8000,
  },
  {
    name: "schema 2 table with its id PRIMARY KEY only (no query index)",
    sql: `CREATE TABLE t (id TEXT NOT NULL PRIMARY KEY, ${V2_DEFS});`,
    columns: V2_COLUMNS,
    row: v2Row,
  },
  {
    name: "schema 2 table, no index at all (no id check either): the ceiling",
    sql: `CREATE TABLE t (id TEXT NOT NULL, ${V2_DEFS});`,
    columns: V2_COLUMNS,
    row: v2Row,
  },
];
const LAYOUT_ROWS_PER_INSERT = 50;
const LAYOUT_WORK = batches(makeEvents(200_000, 100, "l"), 1000);

// With `walPages`, the WAL is never checkpointed and the round returns the pages it holds per batch.
function layoutRound(Database, layout, filename, walPages = false) {
  const db = new Database(filename);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma(`wal_autocheckpoint = ${walPages ? 0 : 4000}`);
  db.pragma(`journal_size_limit = ${4000 * 4096}`);
  db.exec(layout.sql);
  const width = layout.columns.split(",").length;
  const row = `(${new Array(width).fill("?").join(", ")})`;
  const insert = db.prepare(
    `INSERT ${layout.staged ? "INTO s" : "OR IGNORE INTO t"} (${layout.columns}) VALUES ${new Array(LAYOUT_ROWS_PER_INSERT).fill(row).join(", ")}`,
  );
  let staged = 0;
  const move =
    layout.staged &&
    db.transaction(() => {
      db.prepare(
        `INSERT OR IGNORE INTO t (${layout.columns}) SELECT ${layout.columns} FROM s ORDER BY rowid`,
      ).run();
      db.prepare("DELETE FROM s").run();
      staged = 0;
    });
  const appendAndMove = (events) => {
    append(events);
    if (layout.staged && (staged += events.length) >= layout.staged) move();
  };
  const keys = new Map();
  const key = (name) => {
    let k = keys.get(name);
    if (k === undefined) keys.set(name, (k = keys.size + 1));
    return k;
  };
  const append = db.transaction((events) => {
    for (let i = 0; i < events.length; i += LAYOUT_ROWS_PER_INSERT) {
      const params = [];
      for (let k = 0; k < LAYOUT_ROWS_PER_INSERT; k++) params.push(...layout.row(events[i + k], key));
      insert.run(...params);
    }
  });
  if (walPages) {
    for (const batch of LAYOUT_WORK) appendAndMove(batch);
    if (staged > 0) move();
    const pages = statSync(`${filename}-wal`).size / (24 + 4096) / LAYOUT_WORK.length;
    db.close();
    return pages;
  }
  return timed(() => {
    for (const batch of LAYOUT_WORK) appendAndMove(batch);
    if (staged > 0) move();
    db.close();
  });
}

async function benchLayouts() {
  const Database = createRequire(import.meta.url)("better-sqlite3");
  console.log("\ntable layouts in raw SQL, 200k events over 100 runs in batches of 1000 (events/s)\n");
  console.log("| layout | where | wall median | CPU best | CPU median | sys | WAL pages per batch |");
  console.log("|---|---|---:|---:|---:|---:|---:|");
  for (const file of [false, true]) {
    const samples = LAYOUTS.map(() => []);
    for (let round = -1; round < ROUNDS; round++) {
      for (let i = 0; i < LAYOUTS.length; i++) {
        const t = await layoutRound(Database, LAYOUTS[i], file ? newFile() : ":memory:");
        if (round >= 0) samples[i].push(t);
      }
    }
    LAYOUTS.forEach((layout, i) => {
      const r = summarize(200_000, samples[i]);
      const pages = file ? Math.round(layoutRound(Database, layout, newFile(), true)) : "";
      console.log(
        `| ${layout.name} | ${file ? "file" : ":memory:"} | ${fmt(r.wallMedian)} | ${fmt(r.cpuBest)} | ` +
          `${fmt(r.cpuMedian)} | ${Math.round(r.sysShare * 100)}% | ${pages} |`,
      );
    });
  }
}

try {
  const current = await import("../dist/index.js");
  const impls = [{ name: "current", create: current.createSqliteTimelineStore }];
  if (baselineEntry) {
    const baseline = await import(pathToFileURL(resolve(baselineEntry)).href);
    impls.push({ name: "baseline", create: baseline.createSqliteTimelineStore });
  }
  console.log(
    `@sluice/timeline-sqlite, WAL + synchronous=NORMAL, node ${process.version}, ${ROUNDS} rounds` +
      (baselineEntry ? `, baseline ${baselineEntry}` : "") +
      "\n",
  );
  printAdapters(impls, await benchAdapters(impls));
  if (args.includes("--layouts")) await benchLayouts();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
