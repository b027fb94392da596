import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SystemError } from "@sluice/errors";
import { afterAll, describe, expect, it } from "vitest";
import { createSqliteTimelineStore } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "sluice-sqlite-options-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("createSqliteTimelineStore options", () => {
  it.each([
    [undefined, "options", "options must be an object { filename } (got undefined)"],
    [null, "options", "options must be an object { filename } (got null)"],
    [
      {},
      "options.filename",
      'options.filename must be a non-empty string (a file path, or ":memory:"), got undefined',
    ],
    [
      { filename: "" },
      "options.filename",
      'options.filename must be a non-empty string (a file path, or ":memory:"), got ""',
    ],
    [
      { filename: 3 },
      "options.filename",
      'options.filename must be a non-empty string (a file path, or ":memory:"), got 3',
    ],
  ])("rejects options %j, naming the option and what was given", async (options, path, message) => {
    const error: unknown = await createSqliteTimelineStore(options as never).catch((e: unknown) => e);
    expect(SystemError.is(error, "INVALID_INPUT")).toBe(true);
    expect(error).toMatchObject({ message: `createSqliteTimelineStore: ${message}`, details: { path } });
  });

  it("refuses a misspelt option before opening anything, naming it and the options", async () => {
    const filename = join(dir, "typo.db");
    await expect(createSqliteTimelineStore({ filename, fileName: "x" } as never)).rejects.toMatchObject({
      code: "INVALID_INPUT",
      message: "createSqliteTimelineStore: options.fileName is not an option (options: filename)",
    });
    await expect(createSqliteTimelineStore({ fileName: filename } as never)).rejects.toThrow(
      "options.fileName is not an option",
    );
    const store = await createSqliteTimelineStore({ filename });
    await store.close();
  });

  it("reports a file SQLite cannot open as STORAGE_FAILED with the cause, naming a missing directory", async () => {
    const filename = join(dir, "no-such-dir", "t.db");
    const opening = createSqliteTimelineStore({ filename });
    await expect(opening).rejects.toSatisfy((e) => SystemError.is(e, "STORAGE_FAILED"));
    await expect(opening).rejects.toThrow(/directory ".*no-such-dir" does not exist: create it first/);
    await expect(opening).rejects.toHaveProperty("cause");
  });

  it("refuses a directory as filename, saying it is one", async () => {
    const opening = createSqliteTimelineStore({ filename: dir });
    await expect(opening).rejects.toSatisfy((e) => SystemError.is(e, "INVALID_INPUT"));
    await expect(opening).rejects.toThrow(`options.filename "${dir}" is a directory`);
  });

  it("refuses a file: URI, which better-sqlite3 would take as a relative path, saying to pass a path", async () => {
    const filename = `file:${join(dir, "uri.db")}`;
    const opening = createSqliteTimelineStore({ filename });
    await expect(opening).rejects.toSatisfy((e) => SystemError.is(e, "INVALID_INPUT"));
    await expect(opening).rejects.toThrow(/is a file: URI, which is not accepted; pass a file path/);
  });
});
