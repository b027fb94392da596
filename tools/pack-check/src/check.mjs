#!/usr/bin/env node
// Checks the packages as a user gets them from the registry, not as the workspace links them:
//   1. packs every publishable package with pnpm (workspace:^ ranges rewritten, `files` applied);
//   2. inspects each tarball (src/inspect.mjs): what the manifest points to is in it, the
//      JavaScript and declaration files import only declared packages, and so on;
//   3. installs the tarballs with npm in a fresh project in the system's temporary directory, outside
//      the repository (type: module), then in that project
//   4. imports every export path (ESM, and CommonJS where there is a `require` build), checks no
//      global appeared, runs a two-step workflow on the memory, SQLite, IndexedDB timelines and the
//      BroadcastChannel bus (consumer/smoke.mjs) and through require() (consumer/smoke.cjs), runs the
//      vitest conformance entry points (consumer/*.test.*), and type-checks every export path and
//      consumer/usage.ts with tsc under moduleResolution node16 (ESM, CommonJS, and without DOM
//      types) and bundler, and finds any public symbol of the installed declaration files without
//      a doc comment (src/public-docs.mjs).
// better-sqlite3 is installed without its install script (it compiles from source here, ~70 s): the
// check pins it to the workspace's version and copies in the addon the workspace's install built.
// The consumer project's test tools (vitest, fake-indexeddb, @types/node) are this package's own,
// linked in; typescript is this package's too.
//   node src/check.mjs [--keep]     (--keep leaves the temporary project for a look)
import { spawn } from "node:child_process";
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import semver from "semver";
import { inspectPackage, packageDir, workspacePackages } from "./inspect.mjs";

const here = join(import.meta.dirname, "..");
const root = join(here, "..", "..");
const keep = process.argv.includes("--keep");
const require = createRequire(import.meta.url);

// Packages whose declaration files need the DOM's types (they are browser adapters): every other
// one must type-check for a Node project that has only `lib: ["es2022"]` and @types/node.
const BROWSER_TYPES = new Set(["@sluice/timeline-indexeddb", "@sluice/timeline-viewer"]);
// Peers that refuse to load outside their own runner: an entry importing one loads in its run.
const RUNNER_PEERS = new Set(["vitest"]);

const started = performance.now();
const seconds = (since) => `${((performance.now() - since) / 1000).toFixed(1)} s`;
const problems = [];

/** Runs a command; resolves to its exit status and output (never rejects). */
function exec(command, args, { cwd, env = process.env, timeoutMs = 300_000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    const timer = setTimeout(() => {
      output += `\n(killed after ${timeoutMs / 1000} s)`;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ status: -1, output: `${output}${e.message}` });
    });
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      resolve({ status: status ?? signal, output });
    });
  });
}

/** Runs `fn` on each item, at most `size` at once, in order of the items. */
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

/** The target Node picks for `value` (an exports entry) under `conditions`. */
function resolveTarget(value, conditions) {
  if (typeof value === "string") return value;
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  for (const [key, v] of Object.entries(value)) {
    if (conditions.has(key)) {
      const target = resolveTarget(v, conditions);
      if (target !== undefined) return target;
    }
  }
  return undefined;
}
const IMPORT = new Set(["node", "import", "default"]);
const REQUIRE = new Set(["node", "require", "default"]);
const fileOf = (target) => target.replace(/^\.\//, "");

/** npm's environment: without the npm_* variables pnpm sets for its scripts (npm reads its own config). */
function npmEnv() {
  const keepVars = /^npm_config_(?:registry|cache|userconfig|cafile|proxy|https_proxy|noproxy|strict_ssl)$/i;
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) || keepVars.test(k)),
  );
}

/** The pnpm to pack with: the one running this script, else the one on PATH. */
function pnpm(args) {
  const execPath = process.env.npm_execpath;
  return execPath && /pnpm/.test(execPath) && execPath.endsWith(".cjs")
    ? [process.execPath, [execPath, ...args]]
    : ["pnpm", args];
}

const report = (phase, since, found) => {
  if (found.length === 0) console.log(`pack-check: ${phase}: ok (${seconds(since)})`);
  else {
    console.log(`pack-check: ${phase}: ${found.length} problem(s) (${seconds(since)})`);
    problems.push(...found.map((p) => `${phase}: ${p}`));
  }
};

const work = mkdtempSync(join(tmpdir(), "sluice-pack-check-"));
try {
  // 1. Pack.
  let since = performance.now();
  const workspace = workspacePackages(root);
  const versions = new Map(workspace.map((p) => [p.manifest.name, p.manifest.version]));
  const published = workspace.filter((p) => p.manifest.private !== true);
  const found = [];
  const ownDeps = JSON.parse(readFileSync(join(here, "package.json"), "utf8")).dependencies;
  for (const { manifest, rel } of published) {
    if (ownDeps[manifest.name] === undefined) {
      found.push(
        `${manifest.name} (${rel}) is published but not a dependency of tools/pack-check, so turbo does not build it before the check: add "${manifest.name}": "workspace:^" there`,
      );
    }
  }
  const tarballs = join(work, "tarballs");
  mkdirSync(tarballs);
  const [cmd, args] = pnpm([
    "--recursive",
    ...published.flatMap((p) => ["--filter", p.manifest.name]),
    "pack",
    "--pack-destination",
    tarballs,
  ]);
  const packed = await exec(cmd, args, { cwd: root });
  if (packed.status !== 0) found.push(`pnpm pack failed (${packed.status}):\n${packed.output}`);
  const tarballOf = (m) => join(tarballs, `${m.name.replace(/^@/, "").replace("/", "-")}-${m.version}.tgz`);
  const missing = published.filter(({ manifest }) => !existsSync(tarballOf(manifest)));
  if (packed.status === 0)
    for (const { manifest } of missing) found.push(`pnpm pack made no ${tarballOf(manifest)}`);
  report(`pack ${published.length} packages`, since, found);
  // A package left out of this one's dependencies is reported, and the check goes on.
  if (packed.status !== 0 || missing.length > 0) throw new Error("stop");

  // 2. Inspect the tarballs.
  since = performance.now();
  const inspected = [];
  const inspectProblems = [];
  for (const { manifest } of published) {
    const dir = join(work, "unpacked", manifest.name);
    mkdirSync(dir, { recursive: true });
    const untar = await exec("tar", ["-xzf", tarballOf(manifest), "-C", dir]);
    if (untar.status !== 0) {
      inspectProblems.push(`${manifest.name}: tar failed: ${untar.output}`);
      continue;
    }
    const result = await inspectPackage(join(dir, "package"), versions);
    inspectProblems.push(...result.problems.map((p) => `${manifest.name}: ${p}`));
    inspected.push(result);
  }
  report("inspect the tarballs", since, inspectProblems);

  // 3. Install them with npm in a fresh project.
  since = performance.now();
  const installProblems = [];
  const consumer = join(work, "consumer");
  mkdirSync(consumer);
  // Every @sluice/* range resolves to its tarball (overrides), so npm never asks the registry for one.
  const local = Object.fromEntries(
    published.map(({ manifest }) => [manifest.name, `file:${tarballOf(manifest)}`]),
  );
  const sqliteDir = packageDir("better-sqlite3", join(root, "packages", "timeline-sqlite"));
  const sqliteVersion =
    sqliteDir && JSON.parse(readFileSync(join(sqliteDir, "package.json"), "utf8")).version;
  const overrides = { ...local };
  if (sqliteVersion === undefined)
    installProblems.push("the workspace has no better-sqlite3 installed (pnpm install)");
  else {
    overrides["better-sqlite3"] = sqliteVersion;
    for (const { manifest } of inspected) {
      const range = manifest.dependencies?.["better-sqlite3"];
      if (range !== undefined && !semver.satisfies(sqliteVersion, range)) {
        installProblems.push(
          `${manifest.name} wants better-sqlite3 ${range}; the workspace's ${sqliteVersion}, which the check installs, is outside it`,
        );
      }
    }
  }
  writeFileSync(
    join(consumer, "package.json"),
    `${JSON.stringify({ name: "sluice-pack-check-consumer", private: true, type: "module", dependencies: local, overrides }, null, 2)}\n`,
  );
  const npm = await exec(
    "npm",
    ["install", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"],
    { cwd: consumer, env: npmEnv() },
  );
  if (npm.status !== 0) installProblems.push(`npm install failed (${npm.status}):\n${npm.output}`);
  else {
    const modules = join(consumer, "node_modules");
    for (const { manifest } of published) {
      const got = join(modules, manifest.name, "package.json");
      const version = existsSync(got) ? JSON.parse(readFileSync(got, "utf8")).version : undefined;
      if (version !== manifest.version)
        installProblems.push(`npm installed ${manifest.name}@${version ?? "nothing"}`);
    }
    for (const name of ["vitest", "fake-indexeddb", "@types/node"]) {
      mkdirSync(dirname(join(modules, name)), { recursive: true });
      rmSync(join(modules, name), { recursive: true, force: true });
      symlinkSync(realpathSync(packageDir(name, here)), join(modules, name), "dir");
    }
    const addon = join("build", "Release", "better_sqlite3.node");
    const installedSqlite = join(modules, "better-sqlite3");
    if (sqliteDir !== undefined && existsSync(installedSqlite)) {
      if (!existsSync(join(sqliteDir, addon))) {
        installProblems.push(`the workspace's better-sqlite3 has no ${addon} (did its install script run?)`);
      } else {
        mkdirSync(join(installedSqlite, "build", "Release"), { recursive: true });
        copyFileSync(join(sqliteDir, addon), join(installedSqlite, addon));
      }
    }
  }
  report("npm install the tarballs", since, installProblems);
  if (installProblems.length > 0) throw new Error("stop");

  // 4. Use them: run, test, type-check.
  since = performance.now();
  const entries = [];
  for (const { manifest, entries: reach } of inspected) {
    const exportsMap = typeof manifest.exports === "object" ? manifest.exports : { ".": manifest.exports };
    for (const [subpath, value] of Object.entries(exportsMap)) {
      if (!subpath.startsWith(".") || subpath.includes("*") || subpath.endsWith(".json")) continue;
      const importTarget = resolveTarget(value, IMPORT);
      const requireTarget = resolveTarget(value, REQUIRE);
      const needs = reach.get(fileOf(importTarget ?? "")) ?? [];
      entries.push({
        specifier: `${manifest.name}${subpath.slice(1)}`,
        package: manifest.name,
        require: requireTarget?.endsWith(".cjs") === true,
        runner: needs.find((n) => RUNNER_PEERS.has(n)),
      });
    }
  }
  writeFileSync(join(consumer, "plan.json"), `${JSON.stringify({ entries }, null, 2)}\n`);
  for (const file of readdirSync(join(here, "consumer")))
    cpSync(join(here, "consumer", file), join(consumer, file));
  const importAll = (list) =>
    `${list.map((e, i) => `import * as entry${i} from "${e.specifier}";`).join("\n")}\n` +
    `export const entries = [${list.map((_, i) => `entry${i}`).join(", ")}];\n`;
  writeFileSync(join(consumer, "entries.ts"), importAll(entries));
  writeFileSync(
    join(consumer, "entries-node.ts"),
    importAll(entries.filter((e) => !BROWSER_TYPES.has(e.package))),
  );
  writeFileSync(join(consumer, "entries.cts"), importAll(entries.filter((e) => e.require)));
  const tsconfig = (name, compilerOptions, files) =>
    writeFileSync(
      join(consumer, `tsconfig.${name}.json`),
      JSON.stringify({
        compilerOptions: {
          target: "es2022",
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: [],
          ...compilerOptions,
        },
        files,
      }),
    );
  tsconfig("node16", { module: "node16", moduleResolution: "node16" }, ["entries.ts", "usage.ts"]);
  // the strictest flags a consumer may set, which `strict` leaves off: the declarations (and a
  // user's code written against them) must compile under them too
  tsconfig(
    "bundler",
    {
      module: "esnext",
      moduleResolution: "bundler",
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true,
      noPropertyAccessFromIndexSignature: true,
    },
    ["entries.ts", "usage.ts"],
  );
  tsconfig("node16-cjs", { module: "node16", moduleResolution: "node16" }, ["entries.cts"]);
  tsconfig(
    "node16-no-dom",
    { module: "node16", moduleResolution: "node16", lib: ["es2022"], types: ["node"] },
    ["entries-node.ts"],
  );

  const tsc = require.resolve("typescript/bin/tsc");
  const vitest = join(packageDir("vitest", here), "vitest.mjs");
  const tasks = [
    ["node consumer/smoke.mjs", [join(consumer, "smoke.mjs")]],
    ["node consumer/smoke.cjs", [join(consumer, "smoke.cjs")]],
    [
      "vitest run (conformance entry points)",
      [vitest, "run", "--root", consumer, "--silent", "--reporter=dot"],
    ],
    [
      "public docs (a doc comment on every export and member)",
      [join(here, "src", "public-docs.mjs"), consumer],
    ],
    ...["node16", "bundler", "node16-cjs", "node16-no-dom"].map((name) => [
      `tsc (${name})`,
      [tsc, "-p", join(consumer, `tsconfig.${name}.json`), "--pretty", "false"],
    ]),
  ];
  const env = { ...process.env, NODE_OPTIONS: "", NO_COLOR: "1" };
  delete env.FORCE_COLOR;
  const results = await pool(
    tasks,
    Math.max(1, Math.min(2, availableParallelism())),
    async ([name, argv]) => {
      const t = performance.now();
      const r = await exec(process.execPath, argv, { cwd: consumer, env, timeoutMs: 120_000 });
      return { name, ...r, time: seconds(t) };
    },
  );
  const useProblems = [];
  for (const { name, status, output, time } of results) {
    if (status === 0) console.log(`  ${name}: ok (${time})`);
    else {
      console.log(`  ${name}: FAILED (${time})`);
      useProblems.push(`${name} exited with ${status}:\n${output.trim().replaceAll(consumer, "<consumer>")}`);
    }
  }
  report(`use them in the consumer project (${entries.length} export paths)`, since, useProblems);
} catch (e) {
  if (e.message !== "stop") problems.push(`the check itself failed: ${e.stack ?? e}`);
} finally {
  if (keep) console.log(`pack-check: the temporary project is kept at ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

console.log(`pack-check: ${problems.length === 0 ? "ok" : "FAILED"} in ${seconds(started)}`);
if (problems.length > 0) {
  console.error(`\n${problems.length} problem(s) with the published form of the packages:\n`);
  console.error(problems.map((p) => `- ${p}`).join("\n\n"));
  process.exitCode = 1;
}
