#!/usr/bin/env node
// Runs the TypeScript/JavaScript examples of README.md, packages/*/README.md and docs/**/*.md,
// each in a fresh Node process in an empty temporary directory (files an example writes land
// there), and type-checks the TypeScript ones against the built workspace packages. Fails naming
// the file and line of every example that throws, exits non-zero, runs past its time limit, makes a
// Sluice package report a fault on stderr, or does not type-check. Conventions: CONTRIBUTING.md.
//   node src/check.mjs [--verbose] [--no-typecheck] [--root <dir>] [file-prefix …]
import { spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { transform } from "esbuild";
import { extractBlocks, programOf, sourceLine } from "./extract.mjs";

const here = join(import.meta.dirname, "..");
// Per example; SLUICE_DOC_EXAMPLE_TIMEOUT_MS overrides it (the check's own tests).
const TIMEOUT_MS = Number(process.env.SLUICE_DOC_EXAMPLE_TIMEOUT_MS) || 20_000;

const args = process.argv.slice(2);
const verbose = args.includes("--verbose");
const typecheck = !args.includes("--no-typecheck");
const rootAt = args.indexOf("--root");
const root = rootAt >= 0 ? args[rootAt + 1] : join(here, "..", "..");
const only = args.filter((a, i) => !a.startsWith("--") && (rootAt < 0 || i !== rootAt + 1));
// Inside this package, so that the examples' imports resolve to its dependencies: the workspace's
// built packages. One directory per process, so that two checks never share files.
const work = join(here, ".tmp", `check-${process.pid}`);

/** README.md, packages/<name>/README.md and docs/**.md, relative to the root, sorted. */
function docFiles() {
  const files = existsSync(join(root, "README.md")) ? ["README.md"] : [];
  const packages = join(root, "packages");
  for (const dir of existsSync(packages) ? readdirSync(packages).sort() : []) {
    if (existsSync(join(packages, dir, "README.md"))) files.push(`packages/${dir}/README.md`);
  }
  const walk = (dir) => {
    const entries = readdirSync(join(root, dir), { withFileTypes: true });
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".md")) files.push(path);
    }
  };
  if (existsSync(join(root, "docs"))) walk("docs");
  return files.filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)));
}

const nameOf = (block) => `${block.file.replace(/[^A-Za-z0-9]+/g, "_")}_L${block.line}`;

/** Replaces `<program>.ts:LINE` in an error's text with the Markdown file and line. */
function toMarkdown(block, text) {
  return text.replace(new RegExp(`[^\\s()]*${nameOf(block)}\\.(?:ts|mjs):(\\d+)(?::\\d+)?`, "g"), (_, line) =>
    sourceLine(block, Number(line)),
  );
}

function spawnNode(argv, cwd, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
          }, timeoutMs);
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, timedOut });
    });
  });
}

/** Runs one block; resolves to undefined, or what went wrong. */
async function runBlock(block) {
  const name = nameOf(block);
  let code;
  try {
    ({ code } = await transform(programOf(block).source, {
      loader: block.lang === "ts" || block.lang === "typescript" ? "ts" : "js",
      format: "esm",
      target: "node20",
      sourcemap: "inline",
      sourcefile: `${name}.ts`,
    }));
  } catch (e) {
    const first = e.errors?.[0];
    return `${first?.location ? `${sourceLine(block, first.location.line)}: ` : ""}${first?.text ?? e.message}`;
  }
  const file = join(work, "run", `${name}.mjs`);
  writeFileSync(file, code);
  const cwd = mkdtempSync(join(tmpdir(), "sluice-doc-example-"));
  const started = performance.now();
  try {
    const { status, signal, stdout, stderr, timedOut } = await spawnNode(
      ["--enable-source-maps", file],
      cwd,
      TIMEOUT_MS,
    );
    const err = toMarkdown(block, stderr.trim());
    if (verbose) {
      const ms = Math.round(performance.now() - started);
      console.log(
        `\n--- ${block.file}:${block.line} (${ms} ms) ---\n${stdout}${err ? `[stderr]\n${err}\n` : ""}`,
      );
    }
    if (timedOut) {
      return `did not finish within ${TIMEOUT_MS / 1000} s (a timer or handle left open?)\n${stdout}${err}`;
    }
    if (status !== 0) return `exited with ${status ?? signal}\n${err}`;
    // The packages' default reports of faults nobody handled: an example should show none it
    // does not handle itself (pass onError to show one).
    const fault = err.split("\n").find((line) => line.startsWith("[sluice"));
    if (fault !== undefined) return `a Sluice package reported a fault on stderr:\n${err}`;
    return undefined;
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

/** Type-checks the blocks in one tsc program; resolves to the failures, by block ("tsc" for others). */
async function typecheckBlocks(blocks) {
  const byName = new Map();
  for (const block of blocks) {
    byName.set(nameOf(block), block);
    // `export {}` makes each a module: its own scope, and top-level await allowed.
    writeFileSync(join(work, "check", `${nameOf(block)}.ts`), `${programOf(block).source}\nexport {};\n`);
  }
  const config = join(work, "tsconfig.json");
  writeFileSync(
    config,
    JSON.stringify({ extends: join(here, "tsconfig.docs.json"), include: ["check/*.ts"] }),
  );
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  const { status, stdout, stderr } = await spawnNode([tsc, "-p", config, "--pretty", "false"], here);
  const failures = new Map();
  let current;
  for (const line of `${stdout}${stderr}`.split("\n")) {
    const m = /([A-Za-z0-9_]+)\.ts\((\d+),(\d+)\): (error .*)$/.exec(line);
    if (m && byName.has(m[1])) {
      current = byName.get(m[1]);
      failures.set(current, `${failures.get(current) ?? ""}${sourceLine(current, Number(m[2]))}: ${m[4]}\n`);
    } else if (current && line.startsWith(" ")) {
      failures.set(current, `${failures.get(current)}${line}\n`);
    } else if (line.trim() !== "") {
      current = undefined;
      failures.set("tsc", `${failures.get("tsc") ?? ""}${line}\n`);
    }
  }
  if (status !== 0 && failures.size === 0) failures.set("tsc", `tsc exited with ${status}`);
  return failures;
}

async function pool(items, size, fn) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
  return results;
}

const started = performance.now();
mkdirSync(join(work, "run"), { recursive: true });
mkdirSync(join(work, "check"), { recursive: true });
try {
  const blocks = [];
  const problems = [];
  for (const file of docFiles()) {
    try {
      blocks.push(...extractBlocks(readFileSync(join(root, file), "utf8"), file));
    } catch (e) {
      problems.push(e.message);
    }
  }
  const toRun = blocks.filter((b) => b.run);
  const toCheck = typecheck ? blocks.filter((b) => b.check) : [];
  // tsc and the runs share the machine: one tsc beside one or two example processes.
  const checking = toCheck.length > 0 ? typecheckBlocks(toCheck) : Promise.resolve(new Map());
  const runs = await pool(toRun, Math.max(1, Math.min(2, availableParallelism())), runBlock);
  const typeFailures = await checking;

  toRun.forEach((block, i) => {
    if (runs[i] !== undefined) problems.push(`${block.file}:${block.line}: the example fails: ${runs[i]}`);
  });
  for (const [block, text] of typeFailures) {
    if (block === "tsc") problems.push(`tsc: ${text}`);
    else problems.push(`${block.file}:${block.line}: the example does not type-check:\n${text.trimEnd()}`);
  }

  const optedOut = blocks.filter((b) => !b.run);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `doc examples: ${blocks.length} blocks in ${new Set(blocks.map((b) => b.file)).size} files: ` +
      `${toRun.length} run, ${toCheck.length} type-checked, ${optedOut.length} not run (${seconds} s)`,
  );
  if (verbose) for (const b of optedOut) console.log(`  ${b.file}:${b.line}  ${b.reason}`);
  if (problems.length > 0) {
    console.error(`\n${problems.length} problem(s):\n\n${problems.join("\n\n")}`);
    console.error('\nThe conventions for examples: CONTRIBUTING.md, "Examples in docs".');
    process.exitCode = 1;
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
