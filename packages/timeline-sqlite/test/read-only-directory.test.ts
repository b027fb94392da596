import { execFile, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TimelineEvent } from "@sluice/timeline";
import { afterAll, describe, expect, it } from "vitest";
import { createSqliteTimelineStore } from "../src/index.js";

// A reader that may not write to the file's directory, run as a real other process and user: root,
// whom permissions do not stop, runs it as "nobody" through setpriv.
const DIST = fileURLToPath(new URL("../dist/index.js", import.meta.url));
const READER = fileURLToPath(new URL("./fixtures/reader.mjs", import.meta.url));
const asRoot = process.getuid?.() === 0;
const canDropPrivileges = !asRoot || spawnSync("setpriv", ["--version"]).status === 0;

const dir = mkdtempSync(join(tmpdir(), "sluice-sqlite-ro-dir-"));
chmodSync(dir, 0o755);
afterAll(() => {
  chmodSync(dir, 0o755);
  rmSync(dir, { recursive: true, force: true });
});

/** What the reader child printed for `filename`, opened as a user that may not write to `dir`. */
function readAsOtherUser(filename: string): Promise<{ ids?: string[]; code?: string; message?: string }> {
  const drop = asRoot ? ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] : [];
  const [command, ...args] = [...drop, process.execPath, READER, DIST, filename];
  return new Promise((resolve, reject) => {
    execFile(command!, args, (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

const event = (id: string): TimelineEvent => ({
  id,
  runId: "r1",
  workflowId: "w",
  seq: 0,
  at: 1,
  source: "runtime",
  type: "log",
});

describe.skipIf(!canDropPrivileges)("a reader that may not write to the file's directory", () => {
  it("cannot open a file its writer closed, and is told why and what to do", async () => {
    expect(existsSync(DIST), "build the package first: pnpm --filter @sluice/timeline-sqlite build").toBe(
      true,
    );
    const home = join(dir, "closed");
    mkdirSync(home);
    const filename = join(home, "t.db");
    const writer = await createSqliteTimelineStore({ filename });
    await writer.append([event("e1")]);
    await writer.close();
    expect(existsSync(`${filename}-shm`)).toBe(false);
    chmodSync(home, 0o555);
    const result = await readAsOtherUser(filename);
    expect(result).toMatchObject({ code: "STORAGE_FAILED", cause: "SQLITE_READONLY_DIRECTORY" });
    expect(result.message).toContain('WAL-mode file with no "-shm" file beside it');
    expect(result.message).toContain("open it from a directory it may write to (copy the file there)");
  });
});
