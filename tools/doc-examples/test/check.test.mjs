import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";

const check = join(import.meta.dirname, "..", "src", "check.mjs");
const lines = (...l) => l.join("\n");

// One run of the check over a root of passing and failing docs (each run type-checks with tsc,
// which takes seconds).
const docs = {
  "docs/ok.md": lines(
    "```ts",
    'import { ok } from "@sluice/errors";',
    'import { writeFileSync } from "node:fs";',
    "const r: { ok: boolean } = ok(1, {});",
    'writeFileSync("written-by-an-example.txt", String(r.ok));',
    "```",
    "```ts no-run: would never end",
    "setInterval(() => {}, 1000);",
    "```",
  ),
  "docs/guide.md": lines(
    "# Guide",
    "",
    "```ts",
    "const n: number = 1;",
    'throw new Error("boom " + n);',
    "```",
  ),
  "packages/p/README.md": lines("```ts", "const s: string = 1 as number;", "```"),
  "docs/more/hang.md": lines("```js", "setInterval(() => {}, 1000);", "```"),
  "README.md": lines(
    "```js",
    'import { createEventBus } from "@sluice/events";',
    "const bus = createEventBus();",
    'bus.on("e", () => { throw new Error("handler"); });',
    'bus.emit("e", {});',
    "```",
  ),
};
let root;
let result;
before(() => {
  root = mkdtempSync(join(tmpdir(), "doc-examples-test-"));
  for (const [path, text] of Object.entries(docs)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  const r = spawnSync(process.execPath, [check, "--root", root], {
    cwd: root,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, SLUICE_DOC_EXAMPLE_TIMEOUT_MS: "2000" },
  });
  result = { status: r.status, output: `${r.stdout}${r.stderr}` };
  rmSync(root, { recursive: true, force: true });
});

test("the summary counts blocks run, type-checked and opted out; the check fails", () => {
  assert.equal(result.status, 1, result.output);
  assert.match(result.output, /6 blocks in 5 files: 5 run, 4 type-checked, 1 not run/);
  assert.match(result.output, /4 problem\(s\)/);
});

test("a passing example, with a workspace import, passes; what it writes lands outside the repo", () => {
  assert.doesNotMatch(result.output, /docs\/ok\.md/);
  assert.equal(existsSync(join(import.meta.dirname, "..", "written-by-an-example.txt")), false);
});

test("a throw is named by the block's file and line, and its stack by the Markdown line", () => {
  assert.match(result.output, /docs\/guide\.md:3: the example fails: exited with 1/);
  assert.match(result.output, /docs\/guide\.md:5\b/);
});

test("a type error is named by the block and the line", () => {
  assert.match(
    result.output,
    /packages\/p\/README\.md:1: the example does not type-check:\npackages\/p\/README\.md:2: error TS2322/,
  );
});

test("an example that never ends, or makes a Sluice package report a fault, fails", () => {
  assert.match(result.output, /docs\/more\/hang\.md:1: the example fails: did not finish within 2 s/);
  assert.match(result.output, /README\.md:1: the example fails: a Sluice package reported a fault on stderr/);
});
