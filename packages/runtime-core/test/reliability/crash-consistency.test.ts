import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TimelineEvent } from "@sluice/timeline";
import { createMemoryTimelineStore } from "@sluice/timeline-memory";
import { afterAll, describe, expect, it } from "vitest";
import type { Workflow } from "../../src/index.js";
import { harness } from "../helpers.js";
// @ts-expect-error plain ESM module shared with the child process
import { charging, pausing, steady } from "./crash/workflows.mjs";
import { figure, queryAll, size } from "./support.js";

const here = dirname(fileURLToPath(import.meta.url));
const packageRoot = join(here, "..", "..");
const sqliteRoot = join(packageRoot, "..", "timeline-sqlite");
const KILLS = size(3, 10);

// The SQLite adapter is not a dependency of runtime-core; load its built dist (and its driver)
// the way the child does, by path.
const { createSqliteTimelineStore } = (await import(join(sqliteRoot, "dist", "index.js"))) as {
  createSqliteTimelineStore(options: { filename: string }): Promise<import("@sluice/timeline").TimelineStore>;
};
const Database = createRequire(join(sqliteRoot, "package.json"))("better-sqlite3");

const dir = mkdtempSync(join(tmpdir(), "sluice-crash-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Step = string;
const describeEvent = (e: TimelineEvent): Step =>
  `${e.type}|${e.stage ?? ""}|${e.step ?? ""}|${e.message ?? ""}`;

/** The full timeline of one run of each workflow, as the in-process runtime writes it. */
async function referenceTraces(): Promise<Map<string, Step[]>> {
  const timeline = await createMemoryTimelineStore();
  const h = await harness({ timelineStore: timeline });
  await h.runtime.register(steady as Workflow);
  await h.runtime.register(pausing as Workflow);
  const s = await h.runtime.invoke("steady", "go", { n: 1 });
  const p = await h.runtime.invoke("pausing", "go", { k: 1 });
  expect(p.ok && p.value.status).toBe("paused");
  const resumed = await h.runtime.resume(p.metadata.runId!, { k: 1 });
  expect(s.ok && s.value.status).toBe("completed");
  expect(resumed.ok && resumed.value.status).toBe("completed");
  await h.runtime.flushTimeline();
  const traces = new Map<string, Step[]>();
  for (const [id, r] of [
    ["steady", s],
    ["pausing", p],
  ] as const) {
    const events = await queryAll(timeline, { runId: r.metadata.runId! });
    traces.set(id, events.sort((a, b) => a.seq - b.seq).map(describeEvent));
  }
  await h.runtime.stop();
  return traces;
}

function runChild(filename: string): { child: ChildProcess; ready: Promise<void>; stderr: () => string } {
  const child = spawn(process.execPath, [join(here, "crash", "child.mjs"), filename], {
    cwd: packageRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr!.on("data", (d) => {
    err += String(d);
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d) => {
      if (String(d).includes("ready")) resolve();
    });
    child.once("exit", (code, signal) => reject(new Error(`child exited early (${code ?? signal}): ${err}`)));
  });
  return { child, ready, stderr: () => err };
}

describe("crash consistency (runtime level)", () => {
  it(
    `a process running many workflows and killed with SIGKILL mid-flight (${KILLS} times) leaves a readable SQLite timeline where each run's events are a prefix of its full timeline`,
    async () => {
      expect(existsSync(join(packageRoot, "dist", "index.js"))).toBe(true);
      const reference = await referenceTraces();
      expect(reference.get("steady")!.length).toBe(26); // run.started, 3×(stage start/end + 2×(step start, log, step end)), run.completed
      let totalRuns = 0;
      let truncated = 0;
      let events = 0;
      for (let kill = 0; kill < KILLS; kill++) {
        const filename = join(dir, `timeline-${kill}.db`);
        const { child, ready, stderr } = runChild(filename);
        await ready;
        // let it run on a little, then kill it at an arbitrary point
        await new Promise((resolve) => setTimeout(resolve, 50 + Math.floor(Math.random() * 150)));
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGKILL");
        await exited;
        expect(stderr()).not.toMatch(/STORAGE_FAILED|INVALID_STATE/);

        const db = new Database(filename);
        expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
        db.close();
        const store = await createSqliteTimelineStore({ filename });
        const all = await queryAll(store);
        await store.close();
        events += all.length;
        const byRun = new Map<string, TimelineEvent[]>();
        for (const e of all) {
          let list = byRun.get(e.runId);
          if (list === undefined) byRun.set(e.runId, (list = []));
          list.push(e);
        }
        // checked without an expect per event (there are many): problems are collected, then asserted empty
        const problems: string[] = [];
        for (const [runId, list] of byRun) {
          list.sort((a, b) => a.seq - b.seq);
          const full = reference.get(list[0]!.workflowId);
          if (full === undefined) {
            problems.push(`${runId}: unknown workflow ${list[0]!.workflowId}`);
            continue;
          }
          // seq contiguous from 1, run.started first, no gaps; then exactly the start of a full run
          if (list[0]!.type !== "run.started") problems.push(`${runId}: starts with ${list[0]!.type}`);
          for (let i = 0; i < list.length; i++) {
            const e = list[i]!;
            if (e.seq !== i + 1) {
              problems.push(`${runId}: event ${i} has seq ${e.seq} (gap or not starting at 1)`);
              break;
            }
            if (e.id !== `${runId}:${e.seq}`) problems.push(`${runId}: id ${e.id}`);
            if (i >= full.length || describeEvent(e) !== full[i]) {
              problems.push(`${runId}: event ${i + 1} is ${describeEvent(e)}, a full run has ${full[i]}`);
              break;
            }
          }
          // steady runs never wait, so one cut short was cut by the kill itself
          if (list.length < full.length && list[0]!.workflowId === "steady") truncated++;
        }
        expect(problems.slice(0, 10)).toEqual([]);
        totalRuns += byRun.size;
      }
      figure(`crash: runs checked over ${KILLS} kills`, totalRuns);
      figure(`crash: events checked`, events);
      figure(`crash: steady runs cut short by the kill`, truncated);
      expect(totalRuns).toBeGreaterThan(100 * KILLS);
      // the kill really did land mid-flight: some runs' timelines stop before their end
      expect(truncated).toBeGreaterThan(0);
    },
    size(60_000, 300_000),
  );

  it("a run killed mid-stage after a resume, recovered from its onPause checkpoint in a new process, shows both attempts on the SQLite timeline", async () => {
    const filename = join(dir, "charging.db");
    const checkpointFile = join(dir, "charging.checkpoint.json");
    const child = spawn(
      process.execPath,
      [join(here, "crash", "charge-child.mjs"), filename, checkpointFile],
      {
        cwd: packageRoot,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let err = "";
    child.stderr!.on("data", (d) => {
      err += String(d);
    });
    const runId = await new Promise<string>((resolve, reject) => {
      child.stdout!.on("data", (d) => {
        const m = /charging (\S+)/.exec(String(d));
        if (m) resolve(m[1]!);
      });
      child.once("exit", (code, signal) =>
        reject(new Error(`child exited early (${code ?? signal}): ${err}`)),
      );
    });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;

    const timeline = await createSqliteTimelineStore({ filename });
    const h = await harness({ timelineStore: timeline });
    await h.runtime.register(charging(Promise.resolve()) as Workflow);
    const checkpoint = JSON.parse(readFileSync(checkpointFile, "utf8"));
    expect(checkpoint.runId).toBe(runId);
    await h.runtime.recover(checkpoint);
    const result = await h.runtime.resume(runId, { approved: true });
    expect(result.ok && result.value.state).toEqual({ id: "p1", approved: true, charged: true });
    await h.runtime.flushTimeline();
    const events = (await queryAll(timeline, { runId })).sort((a, b) => a.seq - b.seq);
    await h.runtime.stop();
    await timeline.close();
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.filter((e) => e.type === "log").map((e) => e.message)).toEqual([
      `charging (pid ${child.pid})`,
      `charging (pid ${process.pid})`,
    ]);
    expect(events.filter((e) => e.type === "run.resumed").map((e) => (e.data as { by: string }).by)).toEqual([
      "event",
      "resume",
    ]);
    expect(events.at(-1)!.type).toBe("run.completed");
    expect(h.errors).toEqual([]);
  });
});
