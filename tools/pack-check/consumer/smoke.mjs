// Runs in the consumer project the check makes outside the repository, where npm installed the
// tarballs: imports every export path of every package (ESM, and CommonJS where the path has a
// `require` condition), checks that doing so added no global (the packages say
// `sideEffects: false`), then runs a two-step workflow on each timeline store and bus the packages
// ship. Prints one line per problem to stderr and exits 1 if there is any.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

const plan = JSON.parse(readFileSync(new URL("./plan.json", import.meta.url), "utf8"));
const require = createRequire(import.meta.url);
const problems = [];
const describe = (e) => (e instanceof Error ? e.message.split("\n")[0] : String(e));

// 1. Every export path loads, and its CommonJS build exports the same names as its ES module.
const PROCESS_EVENTS = ["exit", "beforeExit", "uncaughtException", "unhandledRejection", "warning", "SIGINT"];
const globalsBefore = new Set(Reflect.ownKeys(globalThis).map(String));
const listenersBefore = PROCESS_EVENTS.map((event) => process.listenerCount(event));
let loaded = 0;
for (const { specifier, require: hasRequire, runner } of plan.entries) {
  if (runner !== undefined) continue; // loaded by the vitest run (vitest refuses to load outside it)
  let esm;
  try {
    esm = await import(specifier);
    loaded++;
  } catch (e) {
    problems.push(`import("${specifier}") fails: ${describe(e)}`);
    continue;
  }
  const names = Object.keys(esm).filter((k) => k !== "default");
  if (names.length === 0) problems.push(`import("${specifier}") exports nothing`);
  if (!hasRequire) continue;
  try {
    const cjs = require(specifier);
    loaded++;
    const cjsNames = Object.keys(cjs).filter((k) => k !== "default" && k !== "__esModule");
    const onlyEsm = names.filter((n) => !cjsNames.includes(n));
    const onlyCjs = cjsNames.filter((n) => !names.includes(n));
    if (onlyEsm.length + onlyCjs.length > 0) {
      problems.push(
        `require("${specifier}") and import("${specifier}") export different names: ` +
          `only ESM ${JSON.stringify(onlyEsm)}, only CommonJS ${JSON.stringify(onlyCjs)}`,
      );
    }
  } catch (e) {
    problems.push(`require("${specifier}") fails: ${describe(e)}`);
  }
}
const newGlobals = Reflect.ownKeys(globalThis)
  .map(String)
  .filter((k) => !globalsBefore.has(k));
if (newGlobals.length > 0) {
  problems.push(
    `importing the packages added globals (${newGlobals.join(", ")}), yet they say sideEffects: false`,
  );
}
PROCESS_EVENTS.forEach((event, i) => {
  if (process.listenerCount(event) !== listenersBefore[i]) {
    problems.push(
      `importing the packages added a process "${event}" listener, yet they say sideEffects: false`,
    );
  }
});

// 2. A two-step workflow, invoked and on the bus, recorded on each store.
const { WorkflowRuntime, defineWorkflow } = await import("@sluice/runtime-core");
const { createEventBus } = await import("@sluice/events");
const { createBroadcastEventBus } = await import("@sluice/events-broadcast");
const { StoreRegistry } = await import("@sluice/store");
const { createMemoryTimelineStore } = await import("@sluice/timeline-memory");
const { createSqliteTimelineStore } = await import("@sluice/timeline-sqlite");
const { layoutTimeline } = await import("@sluice/timeline-viewer");

const workflow = defineWorkflow({
  id: "two-steps",
  triggers: { go: { event: "go", pipeline: "main" } },
  pipelines: {
    main: {
      stages: [
        { id: "add", steps: [{ id: "add", action: (ctx) => ({ n: ctx.state().n + 1 }) }] },
        {
          id: "scale",
          steps: [
            {
              id: "scale",
              action: (ctx) => {
                ctx.logger.info("scaling", { n: ctx.state().n });
                return { n: ctx.state().n * 10 };
              },
            },
          ],
        },
      ],
    },
  },
});
const EXPECTED = ["run.started", "step.completed", "log", "step.completed", "run.completed"];

/** Runs the workflow once on `timelineStore` (invoked, or emitted on `emitOn`) and reads its timeline. */
async function flow(label, timelineStore, { bus = createEventBus(), emitOn } = {}) {
  const runtime = new WorkflowRuntime({ bus, storeRegistry: new StoreRegistry(), timelineStore });
  try {
    let complete;
    const completed = new Promise((resolve) => {
      complete = resolve;
    });
    await runtime.register(workflow, { onComplete: (r) => complete(r) });
    let result;
    if (emitOn === undefined) result = await runtime.invoke("two-steps", "go", { n: 1 });
    else {
      emitOn.emit("go", { n: 1 });
      const timer = setTimeout(() => complete({ ok: false, error: "no run completed within 10 s" }), 10_000);
      result = await completed;
      clearTimeout(timer);
    }
    if (!result.ok || result.value.status !== "completed" || result.value.state.n !== 20) {
      problems.push(`${label}: the run did not complete with n = 20: ${JSON.stringify(result)}`);
      return;
    }
    await runtime.flushTimeline();
    const page = await timelineStore.query({ runId: result.metadata.runId, limit: 100 });
    const types = page.events.map((e) => e.type).filter((t) => EXPECTED.includes(t));
    if (JSON.stringify(types) !== JSON.stringify(EXPECTED)) {
      problems.push(`${label}: the timeline holds ${JSON.stringify(types)}, not ${JSON.stringify(EXPECTED)}`);
    }
    const layout = layoutTimeline(page.events, { width: 600 });
    if (layout.runs.length !== 1 || layout.runs[0].status !== "completed") {
      problems.push(
        `${label}: layoutTimeline does not show one completed run: ${JSON.stringify(layout.runs)}`,
      );
    }
  } catch (e) {
    problems.push(`${label}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  } finally {
    await runtime.stop();
  }
}

await flow("memory timeline", await createMemoryTimelineStore());

const dir = mkdtempSync(join(tmpdir(), "sluice-pack-check-sqlite-"));
try {
  const sqlite = await createSqliteTimelineStore({ filename: join(dir, "timeline.db") });
  await flow("SQLite timeline (a file)", sqlite);
  await sqlite.close();
} catch (e) {
  problems.push(`SQLite timeline: ${describe(e)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// runtime-core loads @sluice/timeline-indexeddb (an optional peer) on the first call.
await import("fake-indexeddb/auto");
try {
  await flow("IndexedDB timeline (createTestTimelineStore)", await WorkflowRuntime.createTestTimelineStore());
} catch (e) {
  problems.push(`IndexedDB timeline: ${describe(e)}`);
}

const here = createBroadcastEventBus({ channel: "sluice-pack-check" });
const there = createBroadcastEventBus({ channel: "sluice-pack-check" });
try {
  await flow("BroadcastChannel bus", await createMemoryTimelineStore(), { bus: here, emitOn: there });
} finally {
  here.close();
  there.close();
}

for (const problem of problems) console.error(problem);
console.log(`consumer (ESM): ${loaded} module loads, 4 workflow runs, ${problems.length} problem(s)`);
process.exitCode = problems.length > 0 ? 1 : 0;
