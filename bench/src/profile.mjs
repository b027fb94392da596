#!/usr/bin/env node
// Profiles one (workload, contender) pair: runs the worker under --cpu-prof and prints where the
// self time goes, by function and by package.
//   node src/profile.mjs W1 sluice [top=25]
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { SourceMap } from "node:module";
import { fileURLToPath } from "node:url";

const [workload = "W1", contender = "sluice", top = "25"] = process.argv.slice(2);
const dir = fileURLToPath(new URL(`../results/prof-${workload}-${contender}/`, import.meta.url));
mkdirSync(dir, { recursive: true });
const worker = fileURLToPath(new URL("./worker.mjs", import.meta.url));
const run = spawnSync(
  process.execPath,
  ["--expose-gc", "--cpu-prof", `--cpu-prof-dir=${dir}`, worker, workload, contender],
  { stdio: ["ignore", "inherit", "inherit"] },
);
if (run.status !== 0) process.exit(run.status ?? 1);

const newest = readdirSync(dir)
  .filter((f) => f.endsWith(".cpuprofile"))
  .map((f) => ({ f, t: statSync(dir + f).mtimeMs }))
  .sort((a, b) => b.t - a.t)[0].f;
const profile = JSON.parse(readFileSync(dir + newest, "utf8"));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));

function where(url) {
  const m = url.match(
    /(packages\/[^/]+\/[^?]*|node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)\/.*|bench\/src\/.*)$/,
  );
  if (!m) return url.startsWith("node:") ? url : url || "(native)";
  return m[2] ? m[2] : m[1];
}

// Built packages ship source maps: report the TypeScript file and line, not the bundle's.
const maps = new Map();
function original(frame) {
  if (!frame.url.includes("/packages/") || !frame.url.includes("/dist/")) return undefined;
  const file = fileURLToPath(frame.url);
  if (!maps.has(file)) {
    maps.set(
      file,
      existsSync(`${file}.map`) ? new SourceMap(JSON.parse(readFileSync(`${file}.map`, "utf8"))) : null,
    );
  }
  const entry = maps.get(file)?.findEntry(frame.lineNumber, frame.columnNumber);
  if (!entry?.originalSource) return undefined;
  const pkg = file.match(/packages\/([^/]+)\//)[1];
  return `packages/${pkg}/src/${entry.originalSource.split("/src/").pop()}:${entry.originalLine + 1}`;
}

const byFunction = new Map();
const byPlace = new Map();
let total = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const dt = profile.timeDeltas[i] ?? 0;
  const frame = nodes.get(profile.samples[i]).callFrame;
  const place = where(frame.url);
  const key = `${frame.functionName || "(anonymous)"}  ${original(frame) ?? `${place}${frame.url ? `:${frame.lineNumber + 1}` : ""}`}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + dt);
  const pkg = place.startsWith("packages/") ? place.split("/").slice(0, 2).join("/") : place.split(":")[0];
  byPlace.set(pkg, (byPlace.get(pkg) ?? 0) + dt);
  total += dt;
}
const show = (map, n) =>
  [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(
      ([k, v]) =>
        `${((v / total) * 100).toFixed(1).padStart(5)}%  ${(v / 1000).toFixed(0).padStart(6)} ms  ${k}`,
    )
    .join("\n");
console.log(`\n${dir}${newest}\nself time by function (top ${top}):\n${show(byFunction, Number(top))}`);
console.log(`\nself time by file / package:\n${show(byPlace, 15)}`);
