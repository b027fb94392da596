import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { createJsonLinesTimelineStore } from "../src/index.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const newFile = () =>
  join(dirs[dirs.push(mkdtempSync(join(tmpdir(), "sluice-jsonl-crash-"))) - 1]!, "t.jsonl");
const event = (seq: number) => ({
  id: `r:${seq}`,
  runId: "r",
  workflowId: "w",
  seq,
  at: 1000 + seq,
  source: "runtime",
  type: "step.completed",
});

it("an append after a crash tore the last line is kept: the torn fragment does not swallow it", async () => {
  const filename = newFile();
  const first = await createJsonLinesTimelineStore({ filename });
  await first.append([event(1)]);
  await first.close();
  appendFileSync(filename, JSON.stringify(event(2)).slice(0, 20)); // the crash: half a line, no newline
  const second = await createJsonLinesTimelineStore({ filename });
  await second.append([event(3)]); // resolved: it must survive the next reopen
  await second.close();
  const third = await createJsonLinesTimelineStore({ filename });
  expect((await third.query({ runId: "r" })).events.map((e) => e.seq)).toEqual([1, 3]);
  await third.close();
  expect(readFileSync(filename, "utf8").endsWith("\n")).toBe(true);
});
