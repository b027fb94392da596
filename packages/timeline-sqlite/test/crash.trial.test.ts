import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TimelineEvent, TimelineStore } from "@sluice/timeline";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { createSqliteTimelineStore } from "../src/index.js";

// Crashes of real processes on the built packages (dist): a host running workflows on this store,
// with its checkpoints in the same file, killed with SIGKILL at seeded moments, and the file read
// again afterwards by this process and by a fresh host.

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const WORKER = fixture("runtime-worker.mjs");
const DIST = [
  "../dist/index.js",
  "../../runtime-core/dist/index.js",
  "../../events/dist/index.js",
  "../../store/dist/index.js",
].map((path) => fileURLToPath(new URL(path, import.meta.url)));
const dir = mkdtempSync(join(tmpdir(), "sluice-sqlite-crash-trial-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** mulberry32: the kill moments are seeded, so a failure can be run again as it was. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Worker {
  /** Every line it printed, whole lines only. */
  lines: string[];
  /** Resolves with the signal that ended it (or its exit code), and what it wrote to stderr. */
  ended: Promise<{ signal: NodeJS.Signals | null; code: number | null; stderr: string }>;
  /** Resolves once it printed `line`. */
  printed(line: string): Promise<void>;
  kill(): void;
}

function start(script: string, args: string[], fileSizeLimit?: number): Worker {
  const command = [process.execPath, script, ...args];
  // A file-size limit stands in for a full disk: past it a write fails (EFBIG, SQLite's
  // SQLITE_IOERR_WRITE; a full disk answers SQLITE_FULL), and SIGXFSZ is ignored so the write
  // fails instead of killing the process.
  const child =
    fileSizeLimit === undefined
      ? spawn(command[0]!, command.slice(1), { stdio: ["ignore", "pipe", "pipe"] })
      : spawn("/bin/sh", ["-c", `trap '' XFSZ; ulimit -f ${fileSizeLimit}; exec "$@"`, "sh", ...command], {
          stdio: ["ignore", "pipe", "pipe"],
        });
  const lines: string[] = [];
  const waiting: { line: string; resolve: () => void }[] = [];
  let buffered = "";
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
  child.stdout.on("data", (chunk: Buffer) => {
    buffered += chunk;
    const whole = buffered.split("\n");
    buffered = whole.pop()!;
    for (const line of whole) {
      lines.push(line);
      for (const w of waiting) if (w.line === line) w.resolve();
    }
  });
  const ended = new Promise<{ signal: NodeJS.Signals | null; code: number | null; stderr: string }>(
    (resolve) => child.on("close", (code, signal) => resolve({ code, signal, stderr })),
  );
  return {
    lines,
    ended,
    printed: (line) =>
      new Promise<void>((resolve, reject) => {
        if (lines.includes(line)) return resolve();
        waiting.push({ line, resolve });
        void ended.then(({ code, signal }) =>
          reject(new Error(`worker ended (${signal ?? code}) before printing ${line}:\n${stderr}`)),
        );
      }),
    kill: () => child.kill("SIGKILL"),
  };
}

async function readAll(store: TimelineStore): Promise<TimelineEvent[]> {
  const events: TimelineEvent[] = [];
  let page = await store.query({ limit: 1000 });
  for (;;) {
    events.push(...page.events);
    if (page.next === undefined) return events;
    page = await store.query({ limit: 1000, next: page.next });
  }
}

const ENDS = new Set(["run.completed", "run.failed", "run.aborted"]);

describe("a host killed with SIGKILL while running workflows, its checkpoints in the timeline's file", () => {
  it("keeps every acknowledged event, gap-free runs, and each saved run recovered and completed once", async () => {
    for (const path of DIST) expect(existsSync(path), `build first (pnpm build): ${path}`).toBe(true);
    const filename = join(dir, "host.db");
    const random = seeded(20261207);
    const acked = new Set<string>();
    const saved = new Set<string>();
    const refused = new Set<string>();
    const completedHere = new Map<string, number>();
    const record = (w: Worker) => {
      for (const line of w.lines) {
        const [kind, ...rest] = line.split(" ");
        if (kind === "A") for (const id of rest) acked.add(id);
        if (kind === "S") saved.add(rest[0]!);
        if (kind === "E") refused.add(rest[0]!);
        if (kind === "C") completedHere.set(rest[0]!, (completedHere.get(rest[0]!) ?? 0) + 1);
      }
    };
    for (let round = 0; round < 3; round++) {
      const worker = start(WORKER, [filename, String(round + 1), "100000"]);
      await worker.printed("ready");
      // anywhere in the next 400 ms: mid-append, mid-move, mid-query, mid-checkpoint
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 400)));
      worker.kill();
      const { signal, stderr } = await worker.ended;
      expect(signal, stderr).toBe("SIGKILL");
      expect(stderr).not.toMatch(/onError/);
      record(worker);
    }
    // A last host recovers what is saved and finishes it.
    const finisher = start(WORKER, [filename, "0", "0"]);
    const { code, stderr } = await finisher.ended;
    expect(code, stderr).toBe(0);
    expect(finisher.lines).toContain("done");
    expect(stderr).toBe("");
    record(finisher);

    const raw = new Database(filename, { readonly: true });
    expect(raw.pragma("integrity_check", { simple: true })).toBe("ok");
    expect(raw.prepare("SELECT count(*) FROM host_checkpoints").pluck().get()).toBe(0);
    expect(raw.prepare("SELECT count(*) FROM timeline_staged").pluck().get()).toBe(0);
    const rows = raw.prepare("SELECT count(*) FROM timeline_events").pluck().get();
    raw.close();

    const store = await createSqliteTimelineStore({ filename });
    const events = await readAll(store);
    await store.close();
    expect(events).toHaveLength(rows as number);
    const ids = new Set(events.map((e) => e.id));
    expect(
      [...acked].filter((id) => !ids.has(id)),
      "acknowledged events lost",
    ).toEqual([]);

    const runs = new Map<string, TimelineEvent[]>();
    for (const e of events) {
      const list = runs.get(e.runId) ?? [];
      list.push(e);
      runs.set(e.runId, list);
    }
    const problems: string[] = [];
    for (const [runId, list] of runs) {
      const seqs = list.map((e) => e.seq).sort((a, b) => a - b);
      if (seqs.some((seq, i) => seq !== i + 1)) problems.push(`${runId}: seqs ${seqs.join(",")}`);
      const ends = list.filter((e) => ENDS.has(e.type)).map((e) => e.type);
      if (ends.length > 1) problems.push(`${runId}: ends ${ends.join(",")}`);
      if (saved.has(runId) && ends.join() !== "run.completed")
        problems.push(`${runId}: saved, ends [${ends}]`);
    }
    expect(problems).toEqual([]);
    // every saved run ended: one that recover() refused had its end stored already
    for (const runId of saved) expect(completedHere.has(runId) || refused.has(runId), runId).toBe(true);
    // (about 400 runs saved and 16 000 events acknowledged on the 2-core development machine)
    expect(saved.size).toBeGreaterThan(50);
    expect(acked.size).toBeGreaterThan(1000);
  }, 120_000);
});

describe("a full disk", () => {
  it("fails the appends that do not fit, and queries still read every acknowledged one", async () => {
    const filename = join(dir, "full.db");
    const writer = start(fixture("full-disk-writer.mjs"), [filename], 4096);
    const { code, stderr } = await writer.ended;
    expect(code, stderr).toBe(0);
    const acked = writer.lines.filter((l) => l.startsWith("A ")).length;
    expect(acked).toBeGreaterThan(10);
    expect(writer.lines.filter((l) => l.startsWith("F "))).toEqual(
      Array(3).fill("F STORAGE_FAILED SQLITE_IOERR_WRITE"),
    );
    // The query cannot write the staged rows into place (the disk is full): it reads them where
    // they are. Closing cannot move them either, and says so; nothing is lost.
    expect(writer.lines).toContain(`Q ${acked * 50}`);
    expect(writer.lines.at(-1)).toBe("CF STORAGE_FAILED SQLITE_IOERR_WRITE");
    const raw = new Database(filename, { readonly: true });
    expect(raw.pragma("integrity_check", { simple: true })).toBe("ok");
    raw.close();
    const store = await createSqliteTimelineStore({ filename });
    expect(await readAll(store)).toHaveLength(acked * 50);
    await store.close();
  }, 30_000);
});

/** Every stored event's batch (its run) with its count, staged or moved, read by hand. */
function storedBatches(filename: string): Map<string, number> {
  const raw = new Database(filename, { readonly: true });
  try {
    expect(raw.pragma("integrity_check", { simple: true })).toBe("ok");
    const rows = raw
      .prepare(
        "SELECT name, count(*) AS n FROM" +
          " (SELECT run_key FROM timeline_events UNION ALL SELECT run_key FROM timeline_staged)" +
          " JOIN timeline_names ON key = run_key GROUP BY name",
      )
      .all() as { name: string; n: number }[];
    return new Map(rows.map((r) => [r.name, r.n]));
  } finally {
    raw.close();
  }
}

describe("SIGKILL while a store moves its staged rows", () => {
  it("in a query, a delete or close(): every acknowledged batch is there once, whole, and the file opens", async () => {
    const random = seeded(77);
    for (const operation of ["query", "delete", "close"]) {
      const filename = join(dir, `${operation}.db`);
      const acked: number[] = [];
      for (let round = 0; round < 2; round++) {
        const first = round * 100;
        // 70 batches of 100: 7000 rows staged, under STAGE_LIMIT, so the operation moves them all
        const worker = start(fixture("stage-then.mjs"), [filename, operation, String(first), "70"]);
        await worker.printed("go");
        await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 60)));
        worker.kill();
        const { signal, stderr } = await worker.ended;
        expect(signal, stderr).toBe("SIGKILL");
        acked.push(...worker.lines.filter((l) => l.startsWith("A ")).map((l) => Number(l.slice(2))));
        const stored = storedBatches(filename);
        for (const [name, n] of stored) expect(n, `${name} is partial`).toBe(100);
        // a delete removes its batch whole (or not at all, killed first)
        const deleted = (b: number) => operation === "delete" && b % 100 === 0;
        expect(acked.filter((b) => !stored.has(`batch-${b}`) && !deleted(b))).toEqual([]);
      }
      const store = await createSqliteTimelineStore({ filename });
      const page = await store.query({ runId: `batch-${acked.at(-1)}` });
      expect(page.events.map((e) => e.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i));
      await store.close();
    }
  }, 60_000);
});

describe("two processes writing one file, one killed mid-write", () => {
  it("the other goes on without a lock error, and every batch either acknowledged is there, whole", async () => {
    const filename = join(dir, "two.db");
    const random = seeded(4242);
    const writer = (first: number) =>
      start(fixture("crash-writer.mjs"), [DIST[0]!, filename, String(first), "100"]);
    const acked: number[] = [];
    const collect = (w: Worker) => acked.push(...w.lines.map(Number));
    // Both open the new file at the same moment; one is killed and started again three times
    // while the other writes on, then both are killed.
    const steady = writer(1_000_000);
    for (let round = 0; round < 3; round++) {
      const killed = writer(round * 10_000);
      await killed.printed(String(round * 10_000 + 20));
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 30)));
      killed.kill();
      const { signal, stderr } = await killed.ended;
      expect(signal, stderr).toBe("SIGKILL");
      collect(killed);
    }
    const before = steady.lines.length;
    await steady.printed(String(1_000_000 + before + 20));
    steady.kill();
    const { signal, stderr } = await steady.ended;
    expect(signal, stderr).toBe("SIGKILL");
    collect(steady);
    const stored = storedBatches(filename);
    for (const [name, n] of stored) expect(n, `${name} is partial`).toBe(100);
    expect(acked.filter((b) => !stored.has(`batch-${b}`))).toEqual([]);
  }, 60_000);
});
