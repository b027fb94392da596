// Bundled by @sluice/test-browser (openBundledPage) into the Chromium test page: the built adapter plus the
// framework-free conformance suite, run against the page's real indexedDB.
import { runTimelineConformance } from "@sluice/timeline/conformance";
import { createIndexedDBTimelineStore } from "../../dist/index.js";
import {
  appendAfterClearing,
  type ConnectionResult,
  openStoreToClear,
  runConnectionCases,
} from "./connections.js";

/** One case's outcome, as plain data the test process can receive. */
export interface PageResult {
  name: string;
  passed: boolean;
  ms: number;
  error?: string;
}

declare global {
  interface Window {
    __sluice?: {
      runConformance(): Promise<PageResult[]>;
      runConnectionCases(): Promise<ConnectionResult[]>;
      openStoreToClear(database: string): Promise<void>;
      appendAfterClearing(database: string): Promise<ConnectionResult>;
      appendThenLeave(database: string, events: number): Promise<void>;
      storedIds(database: string): Promise<string[]>;
    };
    __sluiceError?: string;
  }
}

// "blocked" also fires while a closed store's last transactions finish (its connection is only
// close-pending); the delete then proceeds. A connection really left open would block for good.
function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    let timer: ReturnType<typeof setTimeout> | undefined;
    request.onsuccess = () => {
      clearTimeout(timer);
      resolve();
    };
    request.onerror = () => {
      clearTimeout(timer);
      reject(request.error);
    };
    request.onblocked = () => {
      timer = setTimeout(
        () => reject(new Error(`deleting "${name}" stayed blocked for 5 s: a connection was left open`)),
        5000,
      );
    };
  });
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.name}${code === undefined ? "" : ` [${String(code)}]`}: ${error.message}\n${error.stack ?? ""}`;
  }
  return String(error);
}

let counter = 0;
let created: string[] = [];

window.__sluice = {
  runConnectionCases,
  openStoreToClear,
  appendAfterClearing,
  // An append whose promise nobody awaits, and the page navigated away in the same task: what a
  // tab does when it is closed or reloaded right as a run ends.
  async appendThenLeave(database, events) {
    const store = await createIndexedDBTimelineStore({ database });
    const at = Date.now();
    void store.append(
      Array.from({ length: events }, (_, seq) => ({
        id: `r1:${seq}`,
        runId: "r1",
        workflowId: "w",
        seq,
        at,
        source: "runtime",
        type: "run.started",
      })),
    );
    location.assign("/");
  },
  async storedIds(database) {
    const store = await createIndexedDBTimelineStore({ database });
    const { events } = await store.query({ runId: "r1", limit: 1000 });
    await store.close();
    return events.map((e) => e.id);
  },
  async runConformance() {
    const results = await runTimelineConformance({
      create: () => {
        const database = `conformance-${++counter}`;
        created.push(database);
        return createIndexedDBTimelineStore({ database });
      },
      reopen: () => createIndexedDBTimelineStore({ database: created[created.length - 1]! }),
      cleanup: async () => {
        const names = created;
        created = [];
        for (const name of names) await deleteDatabase(name);
      },
    });
    return results.map((r) => {
      const out: PageResult = { name: r.name, passed: r.passed, ms: r.ms };
      if (!r.passed) out.error = describeError(r.error);
      return out;
    });
  },
};
