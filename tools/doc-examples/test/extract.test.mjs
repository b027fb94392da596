import assert from "node:assert/strict";
import { test } from "node:test";
import { extractBlocks, programOf, sourceLine } from "../src/extract.mjs";

const md = (...lines) => lines.join("\n");

test("ts and js blocks are examples, with the fence's line; other languages are not", () => {
  const blocks = extractBlocks(
    md(
      "# T",
      "```sh",
      "npm test",
      "```",
      "```ts",
      "const a = 1;",
      "```",
      "```json",
      "{}",
      "```",
      "```js",
      "1;",
      "```",
    ),
    "x.md",
  );
  assert.deepEqual(
    blocks.map((b) => [b.line, b.lang, b.code, b.run, b.check]),
    [
      [5, "ts", "const a = 1;", true, true],
      [11, "js", "1;", true, false],
    ],
  );
});

test("no-run keeps the type check; fragment skips both; each needs a reason", () => {
  const [noRun, fragment] = extractBlocks(
    md("```ts no-run: needs a DOM", "document;", "```", "```ts fragment: a stage", "{ id }", "```"),
    "x.md",
  );
  assert.deepEqual([noRun.run, noRun.check, noRun.reason], [false, true, "no-run: needs a DOM"]);
  assert.deepEqual([fragment.run, fragment.check, fragment.reason], [false, false, "fragment: a stage"]);
  assert.throws(
    () => extractBlocks(md("text", "```ts no-run", "x;", "```"), "x.md"),
    /x\.md:2: "no-run" needs a reason/,
  );
  assert.throws(
    () => extractBlocks(md("```ts skip", "x;", "```"), "x.md"),
    /x\.md:1: unknown fence option "skip"/,
  );
  assert.throws(() => extractBlocks(md("```ts", "x;"), "x.md"), /x\.md:1: code block is never closed/);
});

test("a fence of four backticks holds a fence of three; indented fences lose their indent", () => {
  const blocks = extractBlocks(
    md("````md", "```ts", "inner;", "```", "````", "- item", "  ```ts", "  a;", "  ```"),
    "x.md",
  );
  assert.deepEqual(
    blocks.map((b) => [b.line, b.code]),
    [[7, "a;"]],
  );
});

test("an example-setup comment goes around the next block, and lines map back to the file", () => {
  const text = md(
    "<!-- example-setup", // 1
    "const x = 1;", // 2
    "function f() {", // 3
    "/* example */", // 4
    "}", // 5
    "f();", // 6
    "-->", // 7
    "", // 8
    "```ts", // 9
    "console.log(x);", // 10
    "```", // 11
    "```ts", // 12
    "plain;", // 13
    "```", // 14
  );
  const [wrapped, plain] = extractBlocks(text, "x.md");
  const { source } = programOf(wrapped);
  assert.equal(source, md("", "const x = 1;", "function f() {", "console.log(x);", "}", "f();", ""));
  assert.equal(sourceLine(wrapped, 2), "x.md:2 (example-setup)");
  assert.equal(sourceLine(wrapped, 4), "x.md:10");
  assert.equal(sourceLine(wrapped, 6), "x.md:6 (example-setup)");
  assert.equal(plain.setup, undefined, "a setup belongs to one block");
  assert.equal(programOf(plain).source, "plain;");
});

test("a setup without a placeholder comes before the block; text between them drops it", () => {
  const [block] = extractBlocks(
    md("<!-- example-setup", "const x = 1;", "-->", "```ts", "x;", "```"),
    "x.md",
  );
  assert.equal(programOf(block).source, md("", "const x = 1;", "", "x;"));
  const [alone] = extractBlocks(
    md("<!-- example-setup", "const x = 1;", "-->", "Text.", "```ts", "x;", "```"),
    "x.md",
  );
  assert.equal(alone.setup, undefined);
  assert.throws(
    () => extractBlocks(md("<!-- example-setup", "x;", "-->", "```sh", "ls", "```"), "x.md"),
    /x\.md:1: example-setup before a sh block/,
  );
});
