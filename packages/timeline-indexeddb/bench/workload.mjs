// The IndexedDB benchmark workload, shared by the Node run (fake-indexeddb) and the Chromium page:
// append throughput in batches of 1, 100 and 1000 events, and reading one run's 10k events.

/** `count` events spread round-robin over `runs` runs, in time order. */
export function makeEvents(count, runs, prefix) {
  const events = new Array(count);
  for (let i = 0; i < count; i++) {
    const run = i % runs;
    const seq = Math.floor(i / runs);
    events[i] = {
      id: `${prefix}-${run}-${seq}`,
      runId: `${prefix}-run-${run}`,
      workflowId: "orders",
      seq,
      at: 1_700_000_000_000 + i,
      source: "pipeline",
      type: "step.completed",
      stage: "fulfil",
      step: "ship",
      data: { orderId: `o-${i}`, amount: i % 997, ok: true },
    };
  }
  return events;
}

function batches(events, size) {
  const out = [];
  for (let i = 0; i < events.length; i += size) out.push(events.slice(i, i + size));
  return out;
}

/**
 * Runs the workload; `createStore()` gives a fresh, empty store each time. `totals` maps a batch
 * size to how many events to append in batches of that size. Resolves to table rows.
 */
export async function runWorkload(createStore, totals) {
  const appends = [];
  for (const [batchSize, total] of totals) {
    const store = await createStore();
    const work = batches(makeEvents(total, 100, `b${batchSize}`), batchSize);
    await store.append(makeEvents(100, 10, "warm"));
    const started = performance.now();
    for (const batch of work) await store.append(batch);
    const ms = performance.now() - started;
    await store.close();
    appends.push({ batch: batchSize, events: total, ms, perSecond: (total / ms) * 1000 });
  }

  const store = await createStore();
  for (const batch of batches(makeEvents(10_000, 10, "other"), 1000)) await store.append(batch);
  for (const batch of batches(makeEvents(10_000, 1, "target"), 1000)) await store.append(batch);
  const queries = [];
  for (const limit of [10_000, 1000]) {
    const times = [];
    for (let round = 0; round < 3; round++) {
      const started = performance.now();
      let count = 0;
      let next;
      do {
        const filter =
          next === undefined ? { runId: "target-run-0", limit } : { runId: "target-run-0", limit, next };
        const page = await store.query(filter);
        count += page.events.length;
        next = page.next;
      } while (next !== undefined);
      times.push(performance.now() - started);
      if (count !== 10_000) throw new Error(`expected 10000 events, read ${count}`);
    }
    times.sort((a, b) => a - b);
    queries.push({
      query: `one run, 10k events, pages of ${limit}`,
      ms: times[1],
      perSecond: (10_000 / times[1]) * 1000,
    });
  }
  await store.close();
  return { appends, queries };
}

/** Prints the workload's result as two markdown tables. */
export function printTables(title, { appends, queries }) {
  const fmt = (n) => Math.round(n).toLocaleString("en-US");
  console.log(`${title}\n`);
  console.log("append throughput");
  console.log("| batch size | events | ms | events/s |");
  console.log("|---:|---:|---:|---:|");
  for (const r of appends)
    console.log(`| ${r.batch} | ${fmt(r.events)} | ${fmt(r.ms)} | ${fmt(r.perSecond)} |`);
  console.log("\nquery (median of 3)");
  console.log("| query | ms | events/s |");
  console.log("|---|---:|---:|");
  for (const r of queries) console.log(`| ${r.query} | ${r.ms.toFixed(1)} | ${fmt(r.perSecond)} |`);
  console.log("");
}
