import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TimelineEvent } from "@sluice/timeline";
import type Database from "better-sqlite3";
import { afterAll, describe, expect, it, vi } from "vitest";
import { createSqliteTimelineStore } from "../src/index.js";

// A process that may only read the file (no write permission, a read-only mount) cannot move the
// rows a writer staged: its queries read them where they are. Files listed here are opened
// read-only, as SQLite opens a file it may not write (tests may run as root, whom permissions
// do not stop).
const readOnlyFiles = vi.hoisted(() => new Set<string>());
vi.mock("better-sqlite3", async (importOriginal) => {
  const { default: Actual } = await importOriginal<{ default: typeof Database }>();
  class MaybeReadOnly extends Actual {
    constructor(filename: string, options?: Database.Options) {
      super(filename, readOnlyFiles.has(filename) ? { ...options, readonly: true } : options);
    }
  }
  return { default: MaybeReadOnly };
});

const dir = mkdtempSync(join(tmpdir(), "sluice-sqlite-read-only-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newFile = () => join(dir, `r${files++}.db`);

const event = (id: string, runId: string, at: number, message = id): TimelineEvent => ({
  id,
  runId,
  workflowId: "w",
  seq: 0,
  at,
  source: "runtime",
  type: "log",
  message,
});

async function allPages(store: Awaited<ReturnType<typeof createSqliteTimelineStore>>, runId?: string) {
  const out: string[] = [];
  let next: string | undefined;
  do {
    const page = await store.query({
      limit: 2,
      ...(runId === undefined ? {} : { runId }),
      ...(next === undefined ? {} : { next }),
    });
    out.push(...page.events.map((e) => `${e.id}:${e.message}`));
    next = page.next;
  } while (next !== undefined);
  return out;
}

describe("a store on a file it may only read", () => {
  it("reads the rows a writer staged with those it moved, first copies only, in order, by page", async () => {
    const filename = newFile();
    const writer = await createSqliteTimelineStore({ filename });
    await writer.append([
      event("a", "r1", 1),
      event("c", "r2", 3),
      event("t2", "r1", 5),
      event("t3", "r1", 5),
    ]);
    await writer.query(); // moved: a, c, t2, t3
    await writer.append([
      event("b", "r1", 2),
      event("a", "r2", 9, "second copy of a moved id"),
      event("d", "r2", 4),
      event("t1", "r1", 5), // ties with t2 and t3 on (at, seq): ordered by id across both tables
      event("d", "r1", 6, "second staged copy"),
    ]);
    readOnlyFiles.add(filename);
    const reader = await createSqliteTimelineStore({ filename });
    readOnlyFiles.delete(filename);

    const everything = ["a:a", "b:b", "c:c", "d:d", "t1:t1", "t2:t2", "t3:t3"];
    expect((await reader.query()).events.map((e) => `${e.id}:${e.message}`)).toEqual(everything);
    expect(await allPages(reader)).toEqual(everything);
    // Pages of two: the tie at 5 straddles the second page's end, so the whole tie is read.
    expect(await allPages(reader, "r1")).toEqual(["a:a", "b:b", "t1:t1", "t2:t2", "t3:t3"]);
    expect(await allPages(reader, "r2")).toEqual(["c:c", "d:d"]);
    expect((await reader.query({ from: 3, to: 5 })).events.map((e) => e.id)).toEqual(["c", "d"]);

    // Appends the writer makes later are read as they commit.
    await writer.append([event("e", "r2", 7)]);
    expect((await reader.query({ runId: "r2" })).events.map((e) => e.id)).toEqual(["c", "d", "e"]);

    // Writes still fail, as they must; close() leaves the staged rows to the writer.
    await expect(reader.delete({ runId: "r1" })).rejects.toMatchObject({ code: "STORAGE_FAILED" });
    await reader.close();
    expect(await allPages(writer)).toEqual([...everything, "e:e"]);
    await writer.close();
  });

  it("reads a file with nothing staged as any store does", async () => {
    const filename = newFile();
    const writer = await createSqliteTimelineStore({ filename });
    await writer.append([event("a", "r1", 1), event("b", "r1", 2)]);
    await writer.close();
    readOnlyFiles.add(filename);
    const reader = await createSqliteTimelineStore({ filename });
    readOnlyFiles.delete(filename);
    expect(await allPages(reader, "r1")).toEqual(["a:a", "b:b"]);
    await reader.close();
  });
});
