// One contender, one workload, one fresh process (started by run.mjs with --expose-gc). Prints its
// figures as the last stdout line; any failure exits non-zero.
import { CONTENDERS } from "./registry.mjs";
import { RESULT_PREFIX, SETTINGS } from "./settings.mjs";
import { RUNS } from "./workloads.mjs";

const [workloadId, contenderId] = process.argv.slice(2);
const run = RUNS[workloadId];
const contender = CONTENDERS[contenderId];
if (!run || !contender) {
  console.error(`usage: node --expose-gc src/worker.mjs <${Object.keys(RUNS).join("|")}> <contender id>`);
  process.exit(2);
}

try {
  const metrics = await run(await contender.load(), SETTINGS);
  process.stdout.write(`\n${RESULT_PREFIX}${JSON.stringify({ metrics })}\n`);
  // Some engines leave timers or handles behind; the figures are in, so end here.
  process.exit(0);
} catch (error) {
  console.error(`${workloadId} × ${contenderId} failed:`, error);
  process.exit(1);
}
