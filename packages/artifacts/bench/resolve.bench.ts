// Throughput of @sluice/artifacts on the built package against awilix, in the same process.
//   pnpm --filter @sluice/artifacts build && pnpm --filter @sluice/artifacts bench
// Prints figures; it is not a timed test. Goals: resolve of a built singleton within 2x of awilix
// resolving a singleton; peek faster than awilix.
import { performance } from "node:perf_hooks";
import { asFunction, createContainer } from "awilix";
import type * as Artifacts from "../dist/index.js";

const { ArtifactContainer } = (await import(new URL("../dist/index.js", import.meta.url).href).catch(() => {
  console.error("dist/ is missing: run `pnpm --filter @sluice/artifacts build` first");
  process.exit(1);
})) as typeof Artifacts;

interface Row {
  name: string;
  opsPerSec: number;
  baseline?: string;
}

let sink = 0;

/** Best of `rounds` timed loops of `n` calls (after a warm-up), in ops/s. */
async function measure(
  fn: (i: number) => unknown | Promise<unknown>,
  n: number,
  awaitEach: boolean,
): Promise<number> {
  const rounds = 5;
  let best = 0;
  for (let r = -1; r < rounds; r++) {
    const start = performance.now();
    if (awaitEach) for (let i = 0; i < n; i++) sink += (await fn(i)) === undefined ? 0 : 1;
    else for (let i = 0; i < n; i++) sink += fn(i) === undefined ? 0 : 1;
    const ms = performance.now() - start;
    if (r >= 0) best = Math.max(best, n / (ms / 1000));
  }
  return best;
}

const N = 2_000_000;
const rows: Row[] = [];

// awilix: one singleton, one transient.
const awilix = createContainer();
awilix.register({
  svc: asFunction(() => ({ name: "svc" })).singleton(),
  tr: asFunction(() => ({ name: "tr" })).transient(),
});
awilix.resolve("svc");

// artifacts: the same.
const c = new ArtifactContainer({ name: "bench" });
c.register({ key: "svc", factory: () => ({ name: "svc" }) });
c.register({ key: "tr", scope: "transient", factory: () => ({ name: "tr" }) });
await c.require("svc");

const awilixResolve = await measure(() => awilix.resolve("svc"), N, false);
rows.push({ name: "awilix resolve singleton (sync)", opsPerSec: awilixResolve });
rows.push({
  name: "artifacts resolve built singleton",
  opsPerSec: await measure(() => c.resolve("svc"), N, false),
  baseline: "awilix resolve singleton (sync)",
});
rows.push({
  name: "artifacts peek",
  opsPerSec: await measure(() => c.peek("svc"), N, false),
  baseline: "awilix resolve singleton (sync)",
});
const awilixAwait = await measure(() => awilix.resolve("svc"), N / 4, true);
rows.push({ name: "awilix resolve singleton + await", opsPerSec: awilixAwait });
rows.push({
  name: "artifacts await resolve built singleton",
  opsPerSec: await measure(() => c.resolve("svc"), N / 4, true),
  baseline: "awilix resolve singleton + await",
});
rows.push({
  name: "artifacts await require built singleton",
  opsPerSec: await measure(() => c.require("svc"), N / 4, true),
  baseline: "awilix resolve singleton + await",
});
rows.push({
  name: "awilix resolve transient (sync)",
  opsPerSec: await measure(() => awilix.resolve("tr"), N / 4, false),
});
rows.push({
  name: "artifacts await resolve transient",
  opsPerSec: await measure(() => c.resolve("tr"), N / 10, true),
  baseline: "awilix resolve transient (sync)",
});

// A child container per run, as the runtime makes one.
const global = new ArtifactContainer({ name: "global" });
global.register({ key: "svc", factory: () => ({ name: "svc" }) });
await global.require("svc");
rows.push({
  name: "awilix createContainer()",
  opsPerSec: await measure(() => createContainer(), N / 10, false),
});
rows.push({
  name: "artifacts new ArtifactContainer()",
  opsPerSec: await measure(() => new ArtifactContainer({ name: "run" }), N / 2, false),
  baseline: "awilix createContainer()",
});
rows.push({
  name: "awilix createScope()",
  opsPerSec: await measure(() => awilix.createScope(), N / 10, false),
});
rows.push({
  name: "artifacts new container + extend(global)",
  opsPerSec: await measure(() => new ArtifactContainer({ name: "run" }).extend(global), N / 4, false),
  baseline: "awilix createScope()",
});
rows.push({
  name: "run lifecycle: new+extend+register+resolve parent+dispose",
  opsPerSec: await measure(
    async (i) => {
      const run = new ArtifactContainer({ name: "run", runId: String(i) }).extend(global);
      run.register({ key: "local", factory: () => i });
      await run.require("local");
      await run.require("svc");
      await run.dispose();
      return run;
    },
    N / 20,
    true,
  ),
});

const byName = new Map(rows.map((r) => [r.name, r]));
const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : `${(n / 1e3).toFixed(0)}k`);
const width = Math.max(...rows.map((r) => r.name.length));
console.log(`node ${process.version}  (sink ${sink > 0 ? "ok" : "?"})\n`);
console.log(`${"case".padEnd(width)}  ${"ops/s".padStart(8)}  vs baseline`);
for (const row of rows) {
  const base = row.baseline === undefined ? undefined : byName.get(row.baseline);
  const ratio = base === undefined ? "" : `${(row.opsPerSec / base.opsPerSec).toFixed(2)}x ${base.name}`;
  console.log(`${row.name.padEnd(width)}  ${fmt(row.opsPerSec).padStart(8)}  ${ratio}`);
}
