// A concurrency key: transient with `key`, at most one run per customer at once (keyConcurrency 1,
// the default), two in all. A busy customer's jobs wait for that customer, never holding back another's.
import { tour } from "./tour.mjs";

await tour({
  mode: { type: "transient", concurrency: 2, key: (input) => input.customer },
  title: '{ type: "transient", concurrency: 2, key: (input) => input.customer }',
  burst: [60, 10, 10, 10, 10],
  customers: ["a", "a", "b", "a", "c"],
  note: "one job per customer at a time, two in all: customer c's job 5 starts before a's jobs 2 and 4",
});
