import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
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
const dir = mkdtempSync(join(tmpdir(), "sluice-sqlite-crash-trial-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

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
