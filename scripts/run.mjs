#!/usr/bin/env node
// One entry point for the README's commands, so a machine with only Node 20 and npm can run them:
// it installs pnpm when missing, installs the workspace, then runs the task.
//   node scripts/run.mjs demo   -> build what the demo needs and run it
//   node scripts/run.mjs test   -> install, build, lint, typecheck and run every test
//   node scripts/run.mjs bench  -> build and run the benchmarks
import { execSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const task = process.argv[2] ?? "test";
const isCI = process.env.CI === "true" || process.env.CI === "1";

/** The arguments after the task, quoted for the shell (a bare `--` from `pnpm bench -- …` dropped). */
function benchArgs() {
  return process.argv
    .slice(3)
    .filter((arg) => arg !== "--")
    .map((arg) => `'${arg.replaceAll("'", "'\\''")}'`)
    .join(" ");
}

function run(cmd, opts = {}) {
  console.log(`\n$ ${cmd}`);
  const r = spawnSync(cmd, { stdio: "inherit", shell: true, ...opts });
  if (r.status !== 0) {
    console.error(`\n✖ failed (${r.status ?? r.signal}): ${cmd}`);
    process.exit(r.status ?? 1);
  }
}

function has(cmd) {
  try {
    execSync(`${cmd} --version`, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

if (!has("pnpm")) {
  console.log("pnpm not found: installing pnpm@10 with npm (corepack cannot download here).");
  run("npm i -g pnpm@10");
}

run(`pnpm install ${isCI ? "--frozen-lockfile" : ""} --reporter=append-only`);

// The IndexedDB adapter's browser tests need a real Chromium (Debian's package).
function ensureChromium() {
  if (process.env.CHROMIUM_PATH || existsSync("/usr/bin/chromium")) return;
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (isRoot && has("apt-get")) {
    console.log("Chromium not found: installing Debian's chromium for the browser tests.");
    run("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium");
  } else {
    console.error(
      "Chromium is required for the browser tests: install it (apt-get install chromium) or set CHROMIUM_PATH.",
    );
    process.exit(1);
  }
}

switch (task) {
  case "test":
    ensureChromium();
    run("pnpm exec turbo run build");
    run("pnpm run lint");
    run("pnpm exec turbo run typecheck test --concurrency=1 --continue");
    run("node scripts/changeset-dry-run.mjs");
    break;
  case "demo":
    run("pnpm exec turbo run build --filter=@sluice/example-node-order-approval...");
    run("pnpm --filter @sluice/example-node-order-approval run start");
    break;
  case "bench":
    run("pnpm exec turbo run build");
    // the harness's own options pass through: `pnpm bench -- --write`, `--only W1,W3`, …
    run(`pnpm --filter @sluice/bench run bench ${benchArgs()}`);
    break;
  default:
    console.error(`unknown task "${task}": use demo, test or bench`);
    process.exit(2);
}
