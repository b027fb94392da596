import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

const check = join(import.meta.dirname, "..", "src", "check.mjs");

/** Runs the check on a root holding `files` (path → text); returns its exit status and output. */
function runCheck(files, env = {}) {
  const root = mkdtempSync(join(tmpdir(), "doc-examples-test-"));
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(root, path, ".."), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    const r = spawnSync(process.execPath, [check, "--root", root], {
      encoding: "utf8",
      timeout: 60_000,
      env: { ...process.env, ...env },
    });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test("passing examples pass, with workspace imports, type-checked", () => {
  const { status, output } = runCheck({
    "README.md": [
      "```ts",
      'import { ok } from "@sluice/errors";',
      "const r: { ok: boolean } = ok(1, {});",
      'import { writeFileSync } from "node:fs";',
      'writeFileSync("written-by-an-example.txt", String(r.ok)); // into a temporary directory',
      "```",
      "```ts no-run: would never end",
      "setInterval(() => {}, 1000);",
      "```",
    ].join("\n"),
  });
  assert.equal(status, 0, output);
  assert.match(output, /2 blocks in 1 files: 1 run, 2 type-checked, 1 not run/);
});

test("each failing example is named with its file and line: a throw, a type error, a hang, a fault", () => {
  const { status, output } = runCheck(
    {
      "docs/guide.md": [
        "# Guide",
        "",
        "```ts",
        "const n: number = 1;",
        'throw new Error("boom " + n);',
        "```",
      ].join("\n"),
      "packages/p/README.md": ["```ts", "const s: string = 1 as number;", "```"].join("\n"),
      "docs/more/hang.md": ["```js", "setInterval(() => {}, 1000);", "```"].join("\n"),
      "README.md": [
        "```js",
        'import { createEventBus } from "@sluice/events";',
        "const bus = createEventBus();",
        'bus.on("e", () => { throw new Error("handler"); });',
        'bus.emit("e", {});',
        "```",
      ].join("\n"),
    },
    { SLUICE_DOC_EXAMPLE_TIMEOUT_MS: "2000" },
  );
  assert.equal(status, 1, output);
  assert.match(output, /4 problem\(s\)/);
  assert.match(output, /docs\/guide\.md:3: the example fails: exited with 1/);
  assert.match(output, /docs\/guide\.md:5\b/, "the stack names the Markdown line");
  assert.match(
    output,
    /packages\/p\/README\.md:1: the example does not type-check:\npackages\/p\/README\.md:2: error TS2322/,
  );
  assert.match(output, /docs\/more\/hang\.md:1: the example fails: did not finish within 2 s/);
  assert.match(output, /README\.md:1: the example fails: a Sluice package reported a fault on stderr/);
});
