#!/usr/bin/env node
// Runs every (workload × contender) in a fresh `node --expose-gc` process, repeats with the
// contender order reversed on every other repeat, then prints the table and the goal verdicts.
//   node src/run.mjs [--only W1,W3] [--contenders plain,sluice] [--write]
//   BENCH_QUICK=1 → small sizes, one repeat (a smoke run)
//   --write (or BENCH_WRITE=1) → also replaces the results block in ../BENCHMARKS.md
// Exits 1 when any contender crashed (the table still prints, marking it).
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { installedVersion, machine, VERSIONED } from "./machine.mjs";
import { CONTENDERS, WORKLOADS } from "./registry.mjs";
import { goals, goalsTable, summarize, table } from "./report.mjs";
import { QUICK, RESULT_PREFIX, SETTINGS } from "./settings.mjs";

const workerPath = fileURLToPath(new URL("./worker.mjs", import.meta.url));
const resultsDir = fileURLToPath(new URL("../results/", import.meta.url));
const benchmarksMd = fileURLToPath(new URL("../../BENCHMARKS.md", import.meta.url));

function option(name, envName) {
  const i = process.argv.indexOf(`--${name}`);
  const raw = i >= 0 ? process.argv[i + 1] : process.env[envName];
  return raw ? raw.split(",").map((s) => s.trim()) : undefined;
}
const onlyWorkloads = option("only", "BENCH_ONLY");
const onlyContenders = option("contenders", "BENCH_CONTENDERS");
const write = process.argv.includes("--write") || process.env.BENCH_WRITE === "1";

for (const id of onlyWorkloads ?? []) if (!WORKLOADS[id]) throw new Error(`unknown workload ${id}`);
for (const id of onlyContenders ?? []) if (!CONTENDERS[id]) throw new Error(`unknown contender ${id}`);

function runWorker(workload, contender) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ["--expose-gc", workerPath, workload, contender], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NODE_ENV: "production" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += `\nkilled after ${SETTINGS.childTimeoutMs} ms`;
      child.kill("SIGKILL");
    }, SETTINGS.childTimeoutMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const ms = performance.now() - t0;
      const line = stdout.split("\n").find((l) => l.startsWith(RESULT_PREFIX));
      if (code === 0 && line) {
        resolve({ ms, metrics: JSON.parse(line.slice(RESULT_PREFIX.length)).metrics });
      } else {
        const tail = stderr.trim().split("\n").slice(-15).join("\n");
        resolve({ ms, error: `exit ${code ?? signal}${tail ? `\n${tail}` : ""}` });
      }
    });
  });
}

const started = new Date();
const loadAtStart = os.loadavg()[0];
const samples = [];
const spent = new Map();
const workloads = Object.keys(WORKLOADS).filter((w) => !onlyWorkloads || onlyWorkloads.includes(w));
console.log(
  `Sluice bench — ${QUICK ? "QUICK smoke run" : "full run"}, ${SETTINGS.repeats} repeat(s), ${workloads.join(" ")}`,
);

for (const workload of workloads) {
  const contenders = WORKLOADS[workload].contenders.filter(
    (c) => !onlyContenders || onlyContenders.includes(c),
  );
  for (let repeat = 0; repeat < SETTINGS.repeats; repeat++) {
    const order = repeat % 2 === 0 ? contenders : [...contenders].reverse();
    for (const contender of order) {
      const pair = `${workload}/${contender}`;
      if (repeat > 0 && (spent.get(pair) ?? 0) > SETTINGS.pairBudgetMs) continue;
      const r = await runWorker(workload, contender);
      spent.set(pair, (spent.get(pair) ?? 0) + r.ms);
      samples.push({ workload, contender, repeat, metrics: r.metrics, error: r.error });
      const figures = r.metrics?.map((m) => `${m.label} = ${m.value.toFixed(3)}`).join(", ");
      console.log(
        `  [${workload} ${repeat + 1}/${SETTINGS.repeats}] ${contender.padEnd(18)} ${(r.ms / 1000).toFixed(1).padStart(6)} s  ${r.error ? `CRASHED: ${r.error}` : figures}`,
      );
    }
  }
}

const rows = summarize(samples);
const verdicts = goals(rows, samples);
const m = machine();
const versions = VERSIONED.map((name) => `${name} ${installedVersion(name)}`).join(", ");
const elapsed = ((Date.now() - started.getTime()) / 1000).toFixed(0);
const report = [
  `Run ${started.toISOString()} (${QUICK ? "BENCH_QUICK=1 smoke sizes" : "full sizes"}, ${SETTINGS.repeats} repeat(s), ${elapsed} s)`,
  `Machine: ${m.cores} cores (${m.cpu}), ${m.memory} RAM, ${m.os}, Node ${m.node}; ` +
    `1-min load average ${loadAtStart.toFixed(2)} at start, ${os.loadavg()[0].toFixed(2)} at end (other work on the machine shows here)`,
  `Versions: ${versions}`,
  "",
  table(rows),
  "",
  goalsTable(verdicts),
].join("\n");

console.log(`\n${report}\n`);

mkdirSync(resultsDir, { recursive: true });
writeFileSync(`${resultsDir}latest.md`, `${report}\n`);
writeFileSync(
  `${resultsDir}latest.json`,
  `${JSON.stringify({ started, quick: QUICK, machine: m, samples, rows, verdicts }, null, 2)}\n`,
);

if (write) {
  const START = "<!-- bench:results:start -->";
  const END = "<!-- bench:results:end -->";
  const doc = readFileSync(benchmarksMd, "utf8");
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`BENCHMARKS.md has no ${START} … ${END} block to replace`);
  writeFileSync(benchmarksMd, `${doc.slice(0, a + START.length)}\n${report}\n${doc.slice(b)}`);
  console.log("BENCHMARKS.md updated.");
}

const crashed = samples.filter((s) => s.error);
if (crashed.length > 0) {
  console.error(
    `✖ ${crashed.length} contender run(s) crashed: ${crashed.map((s) => `${s.workload}/${s.contender}`).join(", ")}`,
  );
  process.exit(1);
}
