import { SystemError } from "@sluice/errors";
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { describe, expect, it } from "vitest";
import { createIndexedDBTimelineStore } from "../src/index.js";

describe("createIndexedDBTimelineStore options", () => {
  it("asks for an indexedDB when the host has none", async () => {
    expect((globalThis as { indexedDB?: unknown }).indexedDB).toBeUndefined();
    const opening = createIndexedDBTimelineStore({ database: "t" });
    await expect(opening).rejects.toSatisfy((e) => SystemError.is(e, "INVALID_STATE"));
    await expect(opening).rejects.toThrow(/pass one as options\.indexedDB, e\.g\. in Node.*fake-indexeddb/);
  });

  it("asks for the IDBKeyRange of a non-global indexedDB", async () => {
    const opening = createIndexedDBTimelineStore({ database: "t", indexedDB: new IDBFactory() });
    await expect(opening).rejects.toSatisfy((e) => SystemError.is(e, "INVALID_STATE"));
    await expect(opening).rejects.toThrow(/options\.IDBKeyRange/);
  });

  it.each([
    [undefined, "options", "options must be an object { database, … } (got undefined)"],
    [null, "options", "options must be an object { database, … } (got null)"],
    [
      {},
      "options.database",
      "options.database must be a non-empty string (the IndexedDB database name), got undefined",
    ],
    [
      { database: "" },
      "options.database",
      'options.database must be a non-empty string (the IndexedDB database name), got ""',
    ],
    [
      { database: 7 },
      "options.database",
      "options.database must be a non-empty string (the IndexedDB database name), got 7",
    ],
    [
      { database: "t", durability: "fast" },
      "options.durability",
      'options.durability must be "default", "strict" or "relaxed", got "fast"',
    ],
    // JSON.stringify of a BigInt throws: the factory rejected with a raw TypeError
    [
      { database: "t", durability: 1n },
      "options.durability",
      'options.durability must be "default", "strict" or "relaxed", got bigint',
    ],
    // String() of it throws: the factory rejected with a raw TypeError
    [
      { database: "t", blockedTimeoutMs: Object.create(null) },
      "options.blockedTimeoutMs",
      "options.blockedTimeoutMs must be a number of milliseconds from 1 to 2147483647, or Infinity, got {}",
    ],
  ])("rejects options %o, naming the option and what was given", async (options, path, message) => {
    const error: unknown = await createIndexedDBTimelineStore(options as never).catch((e: unknown) => e);
    expect(SystemError.is(error, "INVALID_INPUT")).toBe(true);
    expect(error).toMatchObject({ message: `createIndexedDBTimelineStore: ${message}`, details: { path } });
  });

  it("refuses a misspelt option, naming it and the options", async () => {
    await expect(
      createIndexedDBTimelineStore({
        database: "t",
        indexedDB: new IDBFactory(),
        IDBKeyRange,
        durabilty: "strict",
      } as never),
    ).rejects.toMatchObject({
      code: "INVALID_INPUT",
      message:
        "createIndexedDBTimelineStore: options.durabilty is not an option (options: database, indexedDB, IDBKeyRange, durability, blockedTimeoutMs)",
    });
    const store = await createIndexedDBTimelineStore({
      database: "t",
      indexedDB: new IDBFactory(),
      IDBKeyRange,
      durability: "relaxed",
      blockedTimeoutMs: 1_000,
    });
    await store.close();
  });

  it("accepts a durability for its append transactions", async () => {
    const indexedDB = new IDBFactory();
    const store = await createIndexedDBTimelineStore({
      database: "t",
      indexedDB,
      IDBKeyRange,
      durability: "strict",
    });
    await store.append([
      { id: "e", runId: "r", workflowId: "w", seq: 0, at: 0, source: "runtime", type: "x" },
    ]);
    expect((await store.query({ runId: "r" })).events).toHaveLength(1);
    await store.close();
  });
});
