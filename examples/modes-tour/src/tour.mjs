// The one helper every script uses: a runtime with one workflow whose single step sleeps for
// `payload.ms`, a burst of "job" events fired in one tick, and a report of what became of each
// event (from onDispatch) and of each run (from onComplete, in the order runs finished).
import { createEventBus } from "@sluice/events";
import { WorkflowRuntime } from "@sluice/runtime-core";
import { StoreRegistry } from "@sluice/store";

/** Resolves after `ms`, or at once when `signal` fires (a step should stop when its run is aborted). */
function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

const jobs = {
  id: "jobs",
  triggers: { job: { event: "job", pipeline: "work" } },
  pipelines: {
    work: {
      stages: [
        {
          id: "work",
          steps: [
            {
              id: "sleep",
              action: async (ctx) => {
                await sleep(ctx.state().ms, ctx.signal);
                return { done: true };
              },
            },
          ],
        },
      ],
    },
  },
};

/**
 * Runs one tour and prints it.
 *
 * @param {object} options
 * @param {import("@sluice/runtime-core").ExecutionMode} options.mode
 * @param {number[]} options.burst - one event per entry, fired in the same tick; the entry is how long its step takes (ms)
 * @param {number} [options.later] - if given, one more event (taking this many ms) fired after the burst's runs finished
 * @param {string[]} [options.customers] - if given, the `customer` of each burst event (for a mode's concurrency `key`)
 * @param {number[]} [options.priorities] - if given, the `priority` of each burst event (for a mode's `priority`)
 * @param {string} [options.title] - the mode as printed (JSON leaves out a `key` function)
 * @param {string} options.note - one line saying what to look for
 */
export async function tour({ mode, burst, later, customers, priorities, title, note }) {
  const bus = createEventBus();
  const runtime = new WorkflowRuntime({ bus, storeRegistry: new StoreRegistry(), env: {} });
  const labels = new Map(); // runId -> "run#<job>"
  const label = (runId) => labels.get(runId);
  // Reasons name runs by id ("run <id> is active"); show our labels instead. A run not labelled yet
  // is the one the current event is creating (exclusive/queue_single reports the superseded run first).
  const readable = (text) => text.replace(/\brun (\S+)/g, (_, runId) => label(runId) ?? `run#${job}`);
  let job = 0;
  const finished = [];
  let settle;
  let pending = 0;
  let allDone = new Promise((resolve) => (settle = resolve));

  await runtime.register(jobs, {
    mode,
    onDispatch(result) {
      // Dispatch is synchronous inside bus.emit, so `job` is the event being dispatched.
      if (result.runId !== undefined && !labels.has(result.runId)) {
        labels.set(result.runId, `run#${job}`);
        if (result.outcome === "started" || result.outcome === "queued" || result.outcome === "replaced")
          pending++;
      }
      let line = `  job ${job} → ${result.outcome.padEnd(9)}`;
      if (result.outcome === "replaced")
        line += ` ${label(result.runId)} (aborts ${label(result.replacedRunId)})`;
      else if (result.outcome === "signalled") line += ` into ${label(result.runId)}`;
      else if (result.runId !== undefined) line += ` ${label(result.runId)}`;
      if (result.reason !== undefined) line += ` (${readable(result.reason)})`;
      // A queued run superseded by a newer one (exclusive/queue_single) never starts: one fewer to wait for.
      if (result.outcome === "dropped" && result.runId !== undefined) pending--;
      console.log(line);
    },
    onComplete(result) {
      const runId = result.metadata.runId;
      const status = result.ok ? result.value.status : `failed (${result.error.code})`;
      const state = result.ok ? result.value.state : undefined;
      finished.push(
        `${label(runId)} ${status}${state !== undefined && state.job !== undefined ? ` [state.job=${state.job}]` : ""}`,
      );
    },
    onCleanup() {
      if (--pending === 0) settle();
    },
  });

  console.log(`\n== ${title ?? JSON.stringify(mode)}`);
  console.log(`   ${note}`);
  for (const [i, ms] of burst.entries()) {
    job++;
    const payload = { job, ms };
    if (customers !== undefined) payload.customer = customers[i];
    if (priorities !== undefined) payload.priority = priorities[i];
    bus.emit("job", payload);
  }
  await allDone;
  if (later !== undefined) {
    allDone = new Promise((resolve) => (settle = resolve));
    console.log("  … once the burst's runs have finished:");
    job++;
    bus.emit("job", { job, ms: later });
    await allDone;
  }
  console.log(`  finished in this order: ${finished.join(", ")}`);
  await runtime.stop();
}
