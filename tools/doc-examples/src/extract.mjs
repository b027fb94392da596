// Finds the code blocks of a Markdown file and decides, from each fence's info string, what the
// check does with it. The convention (CONTRIBUTING.md, "Docs"):
//   ```ts / ```js                         runs (ts blocks are type-checked too)
//   ```ts no-run: <reason>                 type-checked, not run (e.g. it needs a browser)
//   ```ts fragment: <reason>               neither: a piece of a larger program
// An HTML comment right before the fence, `<!-- example-setup … -->`, holds code the reader does
// not need to see (imports, a runtime to register with); the block runs after it, or in place of
// a line `/* example */` in it when the block is the body of something (a step's action).

/** Languages whose blocks are examples; `check` says whether they are type-checked. */
export const LANGUAGES = {
  ts: { check: true },
  typescript: { check: true },
  js: { check: false },
  javascript: { check: false },
  mjs: { check: false },
};

const SETUP_OPEN = "<!-- example-setup";
const PLACEHOLDER = "/* example */";

/**
 * @typedef {{
 *   file: string, line: number, lang: string, code: string,
 *   run: boolean, check: boolean, reason?: string,
 *   setup?: { before: string, after: string, line: number },
 * }} Block
 * `line` is the fence's line (1-based); the code starts on the next line.
 */

/**
 * The example blocks of one Markdown text (blocks in other languages are left out).
 * Throws on a malformed convention: an opt-out without a reason, an unclosed fence or setup.
 * @param {string} text
 * @param {string} file the name used in messages
 * @returns {Block[]}
 */
export function extractBlocks(text, file) {
  const lines = text.split(/\r?\n/);
  /** @type {Block[]} */
  const blocks = [];
  /** @type {{ before: string, after: string, line: number, end: number } | undefined} */
  let setup;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim().startsWith(SETUP_OPEN)) {
      const start = i;
      const body = [line.trim().slice(SETUP_OPEN.length)];
      while (!lines[i].includes("-->")) {
        i++;
        if (i >= lines.length) throw new Error(`${file}:${start + 1}: example-setup comment is never closed`);
        body.push(lines[i]);
      }
      body[body.length - 1] = body[body.length - 1].slice(0, body[body.length - 1].indexOf("-->"));
      const code = body.join("\n");
      const at = code.split("\n").findIndex((l) => l.trim() === PLACEHOLDER);
      const codeLines = code.split("\n");
      setup =
        at < 0
          ? { before: code, after: "", line: start + 1, end: i }
          : {
              before: codeLines.slice(0, at).join("\n"),
              after: codeLines.slice(at + 1).join("\n"),
              line: start + 1,
              end: i,
            };
      continue;
    }
    const fence = /^(\s*)(`{3,}|~{3,})\s*([^`\s]*)\s*(.*)$/.exec(line);
    if (!fence) {
      if (setup && line.trim() !== "") setup = undefined; // a setup belongs to the very next block
      continue;
    }
    const [, indent, marker, lang, rest] = fence;
    const start = i;
    const body = [];
    for (i++; ; i++) {
      if (i >= lines.length) throw new Error(`${file}:${start + 1}: code block is never closed`);
      const close = lines[i].trim();
      if (close.startsWith(marker) && close.replace(marker[0] === "`" ? /`/g : /~/g, "") === "") break;
      body.push(lines[i].startsWith(indent) ? lines[i].slice(indent.length) : lines[i].trimStart());
    }
    const language = LANGUAGES[lang.toLowerCase()];
    const blockSetup = setup;
    setup = undefined;
    if (!language) {
      if (blockSetup)
        throw new Error(`${file}:${blockSetup.line}: example-setup before a ${lang || "plain"} block`);
      continue;
    }
    const optOut = /^(no-run|fragment)\b[\s:—–-]*(.*)$/.exec(rest.trim());
    if (rest.trim() !== "" && !optOut) {
      throw new Error(
        `${file}:${start + 1}: unknown fence option "${rest.trim()}" (use no-run: or fragment:)`,
      );
    }
    if (optOut && optOut[2].trim() === "") {
      throw new Error(
        `${file}:${start + 1}: "${optOut[1]}" needs a reason, e.g. \`\`\`${lang} ${optOut[1]}: why`,
      );
    }
    const kind = optOut?.[1];
    blocks.push({
      file,
      line: start + 1,
      lang: lang.toLowerCase(),
      code: body.join("\n"),
      run: kind === undefined,
      check: language.check && kind !== "fragment",
      ...(optOut ? { reason: `${kind}: ${optOut[2].trim()}` } : {}),
      ...(blockSetup
        ? { setup: { before: blockSetup.before, after: blockSetup.after, line: blockSetup.line } }
        : {}),
    });
  }
  return blocks;
}

/**
 * The program a block stands for: its setup around it, and for each of its lines (0-based) the
 * Markdown line it comes from (1-based).
 * @param {Block} block
 * @returns {{ source: string, lines: number[] }}
 */
export function programOf(block) {
  const code = block.code.split("\n").map((text, i) => ({ text, line: block.line + 1 + i }));
  if (!block.setup) return { source: block.code, lines: code.map((l) => l.line) };
  const { before, after, line } = block.setup;
  const beforeLines = before.split("\n").map((text, i) => ({ text, line: line + i }));
  const afterStart = line + beforeLines.length + 1; // the placeholder's line is left out
  const afterLines = after === "" ? [] : after.split("\n").map((text, i) => ({ text, line: afterStart + i }));
  const all = [...beforeLines, ...code, ...afterLines];
  return { source: all.map((l) => l.text).join("\n"), lines: all.map((l) => l.line) };
}

/**
 * Where a line of a block's program (1-based) comes from: `file:line`, marked when it is a line of
 * the example-setup comment rather than of the block itself.
 * @param {Block} block
 * @param {number} programLine
 */
export function sourceLine(block, programLine) {
  const { lines } = programOf(block);
  const md = lines[programLine - 1];
  if (md === undefined) return `${block.file}:${block.line}`;
  const inSetup = md <= block.line || md > block.line + block.code.split("\n").length;
  return `${block.file}:${md}${inSetup ? " (example-setup)" : ""}`;
}
