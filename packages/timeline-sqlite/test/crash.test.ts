import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { createSqliteTimelineStore } from "../src/index.js";

const DIST = fileURLToPath(new URL("../dist/index.js", import.meta.url));
const WRITER = fileURLToPath(new URL("./fixtures/crash-writer.mjs", import.meta.url));
const BATCH_SIZE = 100;
const dir = mkdtempSync(join(tmpdir(), "sluice-sqlite-crash-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Runs the writer from `first` until it has acknowledged at least `ackTarget` batches (plus a random
 * few milliseconds, so the kill lands at an arbitrary point of a transaction), kills it with
 * SIGKILL and resolves to every batch number it printed.
 */
function runAndKill(filename: string, first: number, ackTarget: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, DIST, filename, String(first), String(BATCH_SIZE)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const acked: number[] = [];
    let buffered = "";
    let stderr = "";
    let killing = false;
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk;
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) acked.push(Number(line));
      if (!killing && acked.length >= ackTarget) {
        killing = true;
        setTimeout(() => child.kill("SIGKILL"), Math.floor(Math.random() * 5));
      }
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (signal !== "SIGKILL")
        reject(new Error(`writer exited with ${code ?? signal} before the kill:\n${stderr}`));
      else resolve(acked);
    });
  });
}

describe("crash safety (SIGKILL during appends)", () => {
  it("keeps every acknowledged batch, no partial batch, and an intact file", async () => {
    expect(existsSync(DIST), "build the package first: pnpm --filter @sluice/timeline-sqlite build").toBe(
      true,
    );
    const filename = join(dir, "crash.db");
    const acknowledged: number[] = [];
    let next = 0;
    // Up to 16,000 events a round (STAGE_LIMIT is 8000), so kills also land around moves of staged rows.
    for (let round = 0; round < 3; round++) {
      const acked = await runAndKill(filename, next, 40 + round * 60);
      expect(acked.length).toBeGreaterThan(0);
      acknowledged.push(...acked);
      // Continue after any batch that may have committed without being printed.
      next = acked[acked.length - 1]! + 100;

      const raw = new Database(filename);
      expect(raw.pragma("integrity_check", { simple: true })).toBe("ok");
      // An acknowledged append is committed to timeline_staged or, once moved, to timeline_events: a
      // row is in exactly one of them (a move is one transaction), so the counts add up.
      const counts = raw
        .prepare(
          "SELECT name AS runId, count(*) AS n FROM" +
            " (SELECT run_key FROM timeline_events UNION ALL SELECT run_key FROM timeline_staged)" +
            " JOIN timeline_names ON key = run_key GROUP BY name",
        )
        .all() as { runId: string; n: number }[];
      raw.close();
      const stored = new Map(counts.map((c) => [c.runId, c.n]));
      // No batch is half there: each stored batch has all its events.
      for (const [runId, n] of stored) expect(n, `${runId} is partial`).toBe(BATCH_SIZE);
      // Every batch whose append resolved is there.
      const missing = acknowledged.filter((b) => !stored.has(`batch-${b}`));
      expect(missing, "acknowledged batches lost").toEqual([]);
    }

    // The adapter reopens the file and reads an acknowledged batch back in order.
    const store = await createSqliteTimelineStore({ filename });
    const last = acknowledged[acknowledged.length - 1]!;
    const page = await store.query({ runId: `batch-${last}` });
    expect(page.events.map((e) => e.seq)).toEqual(Array.from({ length: BATCH_SIZE }, (_, i) => i));
    await store.append([
      { id: "after-crash", runId: "r", workflowId: "crash", seq: 0, at: 1, source: "runtime", type: "x" },
    ]);
    expect((await store.query({ runId: "r" })).events).toHaveLength(1);
    await store.close();

    // After a close, every acknowledged batch is whole in timeline_events and nothing is staged.
    const raw = new Database(filename, { readonly: true });
    expect(raw.prepare("SELECT count(*) FROM timeline_staged").pluck().get()).toBe(0);
    const moved = new Set(
      raw
        .prepare(
          "SELECT name FROM timeline_events JOIN timeline_names ON key = run_key GROUP BY name HAVING count(*) = ?",
        )
        .pluck()
        .all(BATCH_SIZE) as string[],
    );
    raw.close();
    expect(acknowledged.filter((b) => !moved.has(`batch-${b}`))).toEqual([]);
  }, 60_000);
});
