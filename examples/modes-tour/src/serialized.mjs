// serialized: one run at a time, the rest wait in arrival order up to `capacity`, then dropped.
import { tour } from "./tour.mjs";

await tour({
  mode: { type: "serialized", capacity: 3 },
  burst: [40, 10, 30, 10, 10],
  note: "one at a time, in arrival order, whatever each takes; the queue holds 3, job 5 is dropped",
});
